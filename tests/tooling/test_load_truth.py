"""The load command tells the truth: a case is lost only when the store confirms it, the step
test stops at the first rate not held, and the benchmark record feeds the README's table."""
from __future__ import annotations

import json
import os

from tests.support import free_port
from tests.tooling.test_cli import run
from tooling.bench import BEGIN, END, append, read, record_run, table, with_table
from tooling.loadverdict import LOST, UNFINISHED, StoreLook, find_max, held

QUIET = StoreLook(frozenset(), frozenset(), frozenset(), {"A": "routed", "B": "routed"})


def look(**kw) -> StoreLook:
    fields = {"concluded": frozenset(), "unpublished": frozenset(), "open_tasks": frozenset(),
              "statuses": {"A": "routed", "B": "routed"}, "queued": 0}
    fields.update({k: frozenset(v) if isinstance(v, set) else v for k, v in kw.items()})
    return StoreLook(**fields)


def test_a_case_is_lost_only_when_both_looks_find_it_neither_concluded_nor_in_flight():
    from tooling.loadverdict import fates

    assert fates(["A", "B"], QUIET, QUIET) == {"A": LOST, "B": LOST}
    # concluded in the store after the clients stopped watching: not lost
    assert fates(["A", "B"], look(concluded={"A"}), QUIET) == {"A": UNFINISHED, "B": LOST}
    # an event of it not yet published, or a task of it waiting for its department
    assert fates(["A", "B"], QUIET, look(unpublished={"B"})) == {"A": LOST, "B": UNFINISHED}
    assert fates(["A", "B"], look(open_tasks={"A"}), look(open_tasks={"A"}))["A"] == UNFINISHED
    # a message waiting in any queue may be any case's: nothing is confirmed lost
    assert set(fates(["A", "B"], look(queued=3), QUIET).values()) == {UNFINISHED}
    # it moved between the looks (a handler committed meanwhile)
    assert fates(["A"], QUIET, look(statuses={"A": "handling"})) == {"A": UNFINISHED}


def figures(rate, cases_per_s, p99, unfinished=0, lost=0, duplicated=0) -> dict:
    return {"rate": rate, "cases_per_s": cases_per_s, "p99_ms": p99, "unfinished": unfinished, "lost": lost,
            "duplicated": duplicated}


def test_a_step_holds_only_with_every_case_concluded_in_pace_under_the_bound():
    assert held(figures(20, 19.5, 900), 1000) == (True, "held")
    assert not held(figures(20, 19.5, 1100), 1000)[0]
    assert "fell behind" in held(figures(20, 17.0, 300), 1000)[1]  # concluded less than 90% of the offer
    assert "unfinished" in held(figures(20, 19.9, 300, unfinished=4), 1000)[1]
    assert "lost" in held(figures(20, 19.9, 300, lost=1), 1000)[1]


def test_the_step_search_raises_the_rate_until_a_step_fails_and_names_the_last_held():
    capacity, offered = 23.0, []

    def run_step(rate):  # a fake system that keeps pace up to its capacity
        offered.append(rate)
        return figures(rate, min(rate, capacity), 200 if rate <= capacity else 5000)

    best, steps = find_max(run_step, start=10, step=5, p99_ms=1000)
    assert best == 20 and offered == [10, 15, 20, 25]
    assert [s.held for s in steps] == [True, True, True, False] and "p99" in steps[-1].why
    assert find_max(lambda rate: figures(rate, 1, 9000), start=10, step=5, p99_ms=1000)[0] is None
    assert len(find_max(lambda rate: figures(rate, rate, 10), start=1, step=1, p99_ms=1000, most=4)[1]) == 4


def test_each_bench_run_is_appended_and_the_readme_shows_the_latest_first(tmp_path):
    record, readme = tmp_path / "benchmarks.jsonl", tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    base = {"commit": "abc", "dirty": False, "cpu": "AMD EPYC", "cores": 2, "item": "TZ-002", "rate": 20.0,
            "arrivals_s": 60.0, "cases": 1200, "concluded": 1200, "unfinished": 0, "lost": 0, "duplicated": 0,
            "cases_per_s": 19.9, "p50_ms": 40.0, "p99_ms": 90.0, "max_ms": 120.0, "generator_cpu_ms_per_case": 3.1}
    record_run({**base, "date": "2026-12-01T10:00:00+00:00"}, record, readme)
    record_run({**base, "date": "2026-12-02T10:00:00+00:00", "commit": "def", "dirty": True, "load_15m": 3.5,
                "max_rate_held": 35.0, "p99_bound_ms": 1000.0}, record, readme)
    assert [e["commit"] for e in read(record)] == ["abc", "def"]
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and text.endswith(f"{END}\n\nafter\n")
    rows = [line for line in text.splitlines() if line.startswith("| 2026")]
    assert rows[0].startswith("| 2026-12-02 10:00 | def (+changes) | 2 × AMD EPYC, load 3.5 | 20/s × 60 s | 19.9 | "
                              "40 / 90 |")
    assert rows[1].startswith("| 2026-12-01 10:00 | abc | 2 × AMD EPYC | ")
    assert "35/s (≤ 1000 ms)" in rows[0] and "not searched" in rows[1]
    assert with_table(text, table(read(record))) == text  # rewriting is stable
    append(record, {**base, "date": "2026-12-03T10:00:00+00:00"})
    assert len(table(read(record), rows=2).splitlines()) == 4


def test_a_drain_too_short_leaves_cases_unfinished_not_lost_and_exits_0(process_env, tmp_path):
    from services.db import drop_database
    from tooling.settings import SystemSettings
    from tooling.system import scratch_settings

    env = {**process_env, "ONEWINDOW_INTAKE_PORT": str(free_port()), "ONEWINDOW_DESK_PORT": str(free_port()),
           "ONEWINDOW_SUPERVISION_PORT": str(free_port()), "ONEWINDOW_IDENTITY_PORT": str(free_port()),
           "ONEWINDOW_WEB_PORT": str(free_port())}
    try:
        result = run("load", "--cases", "6", "--rate", "10", "--drain", "0", env=env, timeout=180)
    finally:
        drop_database(scratch_settings(SystemSettings(database_url=env["ONEWINDOW_DATABASE_URL"]), "load")
                      .database_url)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["cases"] == 6 and figures["lost"] == figures["duplicated"] == 0
    assert figures["unfinished"] >= 1 and figures["concluded"] + figures["unfinished"] == 6
    assert figures["drain_s"] == 0 and figures["generator_cpu_ms_per_case"] > 0
    assert "still in flight when the 0 s drain ended" in result.stdout
    assert "load generator CPU" in result.stdout


def test_the_profile_divides_each_difference_by_the_cases_and_shows_the_idle_share_apart():
    from collections import Counter

    from tooling.profile import figures as profile_figures
    from tooling.profile import report_lines

    load = {"cases": 10, "concluded": 10, "unfinished": 0, "lost": 0, "duplicated": 0, "rate": 5.0,
            "arrivals_s": 2.0, "cases_per_s": 5.0, "p50_ms": 50.0, "p99_ms": 90.0, "generator_cpu_ms_per_case": 3.0}

    def metrics(consumed):
        return {"consumed": Counter({"intake": consumed}), "published": Counter({"intake": consumed // 2}),
                "early": Counter(), "retried": Counter(), "dead": Counter(), "grpc": Counter({"desk": consumed * 5}),
                "batches": Counter({"intake": consumed // 5})}

    before = (Counter({"intake-bus": 1.0, "rabbitmq": 2.0}), metrics(0),
              {"rows_written": Counter({"intake": 5}), "table_scans": Counter()}, Counter({"commits": 100}))
    after = (Counter({"intake-bus": 1.5, "rabbitmq": 2.2}), metrics(70),
             {"rows_written": Counter({"intake": 355}), "table_scans": Counter({"intake": 40})},
             Counter({"commits": 620}))
    idle = (Counter({"intake-bus": 0.0, "rabbitmq": 0.0}), Counter({"intake-bus": 0.01, "rabbitmq": 0.02}), 10.0)
    result = profile_figures(load, before, after, [("BEGIN", 520, 5.0), ("COMMIT", 520, 4.0)], True, idle, 20.0)
    assert result["cpu_ms_per_case"] == {"intake-bus": 50.0, "rabbitmq": 20.0, "load generator (apart)": 3.0}
    assert result["idle_ms_per_case"] == {"intake-bus": 2.0, "rabbitmq": 4.0}  # 1 and 2 ms/s over 20 s, 10 cases
    assert result["servers_ms_per_case"] == 20.0  # RabbitMQ's; intake-bus is the project's Python
    assert result["servers_bound_cases_per_s"] == round(os.cpu_count() * 1000 / 20.0, 1)
    assert result["per_service"]["intake"] == {"consumed": 7.0, "published": 3.5, "early": 0.0, "retried": 0.0,
                                               "dead": 0.0, "per_batch": 5.0, "rows_written": 35.0,
                                               "table_scans": 4.0}
    assert result["grpc_calls_per_case"] == {"desk": 35.0}
    assert (result["transactions_per_case"], result["statements_per_case"]) == (52.0, 104.0)
    lines = report_lines(result)
    assert any(line.startswith("| intake-bus") and "48" in line for line in lines)
    assert any(line.startswith("PostgreSQL and RabbitMQ alone: 20.0 ms per case") for line in lines)
