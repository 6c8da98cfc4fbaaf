"""`./onewindow bench` and `./onewindow load --find-max`: the step search for the highest rate
held, and the benchmark record (docs/benchmarks.jsonl, one JSON line per run, with the commit,
the date and the machine) whose latest rows the README shows between its bench markers."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

from services.config import ROOT

from .loadgen import run_load
from .loadverdict import find_max
from .settings import SystemSettings

RECORD = ROOT / "docs" / "benchmarks.jsonl"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin (written by ./onewindow bench) -->", "<!-- bench:end -->"
README_ROWS = 8
WARM_UP = 20  # cases before the paced run: the processes' first calls (connections, caches) apart


def find_max_rate(settings: SystemSettings, *, start: float, step: float, step_seconds: float, p99_ms: float,
                  drain: float, concurrency: int = 32, mix: dict | None = None, echo=print,
                  cursors: dict[str, int] | None = None) -> dict:
    """Steps of `step_seconds` at `start`, `start + step`, … on one running system until one does
    not hold (tooling.loadverdict.held); the highest rate held and every step. `cursors`: where
    the departments' watches resume, kept from step to step (and from earlier runs on the same
    system: from 0 they would be fed every earlier task again)."""
    cursors = {} if cursors is None else cursors

    def run_step(rate: float) -> dict:
        result = run_load(settings, duration=step_seconds, rate=rate, concurrency=concurrency, mix=mix,
                          progress=False, echo=lambda _: None, drain=drain, cursors=cursors)
        echo(f"step {rate:g}/s: {result['cases_per_s']} cases/s, p99 {result['p99_ms']} ms, "
             f"{result['unfinished']} unfinished, {result['lost']} lost")
        return result

    best, steps = find_max(run_step, start, step, p99_ms)
    return {"max_rate_held": best, "p99_bound_ms": p99_ms, "step_seconds": step_seconds,
            "steps": [{"rate": s.rate, "held": s.held, "why": s.why,
                       **{k: s.result[k] for k in ("cases", "concluded", "unfinished", "lost", "duplicated",
                                                   "cases_per_s", "p50_ms", "p99_ms", "generator_cpu_ms_per_case")}}
                      for s in steps],
            "lost": sum(s.result["lost"] for s in steps), "duplicated": sum(s.result["duplicated"] for s in steps),
            "cores": os.cpu_count()}


def run_bench(settings: SystemSettings, *, rate: float, duration: float, drain: float, search: bool, p99_ms: float,
              start: float, echo=print, log_dir: Path | None = None) -> tuple[dict, dict | None]:
    """The benchmark of record on servers of its own (a PostgreSQL and a RabbitMQ nothing else on
    the machine uses): a warm-up, the paced run, then the step test if `search`."""
    import tempfile

    from .profile import system_of_its_own

    work = log_dir or Path(tempfile.mkdtemp(prefix="onewindow-bench-"))
    with system_of_its_own(settings, work, "bench", echo) as (_, run_settings, _, _):
        cursors: dict[str, int] = {}
        run_load(run_settings, cases=WARM_UP, rate=rate, progress=False, echo=lambda _: None, drain=drain,
                 cursors=cursors)
        paced = run_load(run_settings, duration=duration, rate=rate, drain=drain, echo=echo, progress=False,
                         cursors=cursors)
        capacity = find_max_rate(run_settings, start=start, step=5.0, step_seconds=20.0, p99_ms=p99_ms, drain=drain,
                                 echo=echo, cursors=cursors) if search else None
    return paced, capacity


def find_max_lines(result: dict) -> list[str]:
    from tabulate import tabulate

    rows = [[s["rate"], "held" if s["held"] else s["why"], s["cases_per_s"], s["p50_ms"], s["p99_ms"],
             s["unfinished"], s["lost"], s["generator_cpu_ms_per_case"]] for s in result["steps"]]
    lines = tabulate(rows, headers=["offered /s", "verdict", "cases/s", "p50 ms", "p99 ms", "unfinished", "lost",
                                    "generator CPU ms/case"], tablefmt="simple").splitlines()
    best = result["max_rate_held"]
    lines.append(f"highest rate held (p99 ≤ {result['p99_bound_ms']:g} ms, none behind): "
                 + (f"{best:g} cases/s" if best is not None else "none: the first step did not hold"))
    return lines


def machine() -> dict:
    """The CPU model and count, as the benchmark record names the machine, and its load average
    over the last 15 minutes (other work on a shared machine moves the figures)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "load_15m": round(os.getloadavg()[2], 1)}


def commit() -> dict:
    """The commit measured, and whether tracked files differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short=12", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def entry(paced: dict, capacity: dict | None, now: dt.datetime) -> dict:
    """One line of the record: when, what, where, and the figures."""
    figures = {k: paced[k] for k in ("rate", "arrivals_s", "cases", "concluded", "unfinished", "lost", "duplicated",
                                     "cases_per_s", "p50_ms", "p99_ms", "max_ms", "generator_cpu_ms_per_case")}
    if capacity is not None:
        figures |= {"max_rate_held": capacity["max_rate_held"], "p99_bound_ms": capacity["p99_bound_ms"]}
    return {"date": now.isoformat(timespec="seconds"), **commit(), **machine(), "item": "TZ-002", **figures}


def append(record: Path, line: dict) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    with record.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def read(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(entries: list[dict], rows: int = README_ROWS) -> str:
    """The latest `rows` runs, newest first, as a Markdown table."""
    head = ["date", "commit", "machine", "offered", "cases/s", "p50 / p99 ms", "unfinished", "lost",
            "most held (p99 bound)", "generator CPU ms/case"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for e in reversed(entries[-rows:]):
        held = (f"{e['max_rate_held']:g}/s (≤ {e['p99_bound_ms']:g} ms)" if e.get("max_rate_held") is not None
                else ("none held" if "max_rate_held" in e else "not searched"))
        lines.append(f"| {e['date'][:16].replace('T', ' ')} | {e['commit']}{' (+changes)' if e['dirty'] else ''} | "
                     f"{e['cores']} × {e['cpu']}{_load(e)} | {e['rate']:g}/s × {e['arrivals_s']:g} s | {e['cases_per_s']} | "
                     f"{e['p50_ms']:.0f} / {e['p99_ms']:.0f} | {e['unfinished']} | {e['lost']} | {held} | "
                     f"{e['generator_cpu_ms_per_case']} |")
    return "\n".join(lines)


def _load(e: dict) -> str:
    return f", load {e['load_15m']:g}" if "load_15m" in e else ""


def with_table(readme: str, markdown: str) -> str:
    """The README text with the table between the bench markers replaced."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + markdown + "\n" + readme[end:]


def record_run(line: dict, record: Path = RECORD, readme: Path = README) -> None:
    """Append the run to the record and rewrite the README's table from it."""
    append(record, line)
    readme.write_text(with_table(readme.read_text(encoding="utf-8"), table(read(record))), encoding="utf-8")
