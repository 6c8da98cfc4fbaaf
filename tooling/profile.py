"""`./onewindow profile`: where each case's cost goes, at a fixed rate of TZ-002 cases.

Everything runs on a PostgreSQL and a RabbitMQ of the run's own (tooling.sandbox), so that the
CPU of the database server and of the broker is this run's alone; the PostgreSQL loads
pg_stat_statements. After a warm-up batch, one measured batch is offered at the rate; once every
case concluded and the system is quiet again (every outbox published, every queue empty, no
notice due), the differences are divided by the cases:

- per process: CPU seconds from /proc/<pid>/stat (user + system, children reaped included): every
  service process, the web front, PostgreSQL's backends by client (their application_name, the
  service's schema) and its own processes, RabbitMQ's node (beam.smp and its helpers), and the
  load generator (this process's threads) apart;
- per service: messages consumed (handled), how many the bus process handled together on
  average (per batch), and published (outbox rows confirmed) from the processes' /metrics, gRPC
  calls answered, and the rows it wrote and the table scans it caused (pg_stat_user_tables of its
  schema);
- in total: transactions (pg_stat_database) and statements (pg_stat_statements, BEGIN and COMMIT
  included: each one a round trip of a client to the server), with the most frequent statements
  and the costliest (server time, lock waits included).

What the system does on its own meanwhile (timers, the supervision scan, the web front's polls)
is counted too: it is small at these rates, and it is part of the cost of running.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from services.relay import DEAD_LETTER_QUEUE

from .loadgen import run_load
from .processes import SERVICES, commands
from .sandbox import Gateway, free_port, free_port_block, sandbox
from .settings import SystemSettings
from .system import System

TICKS = os.sysconf("SC_CLK_TCK")
QUIET_SECONDS = 180.0
# PostgreSQL (15) flushes a backend's table and database counters when it has been idle this
# long after its last transaction: the counters are read after it.
STATS_FLUSH_SECONDS = 11.0
DATABASE = "onewindow"
# Seconds of an idle system measured first: what every process burns with no case (polls, heartbeats,
# timers), shown apart from the cost of the cases.
IDLE_SECONDS = 10.0


def cpu_seconds(pid: int, reaped: bool = True) -> float:
    """User + system CPU of a process; with `reaped`, also that of its children that exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + ((cutime + cstime) if reaped else 0)) / TICKS


def children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found[int(stat.read_text().rsplit(")", 1)[1].split()[1])].append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    todo, out = [pid], []
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


class Probe:
    """Reads the counters of a running system; `snapshot()` then the differences of two."""

    def __init__(self, system: System, postgres, rabbit):
        self.system, self.postgres, self.rabbit = system, postgres, rabbit
        self.conn = psycopg.connect(postgres.url(DATABASE), autocommit=True, application_name="profile")
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def close(self) -> None:
        self.conn.close()

    def postmaster(self) -> int:
        return int((self.postgres.dir / "data" / "postmaster.pid").read_text().split()[0])

    def cpu(self) -> Counter:
        """CPU seconds so far of every process of the system, PostgreSQL's backends by client."""
        kids = children()
        found: Counter = Counter()
        for name, proc in self.system.procs.items():
            found[name] = sum(cpu_seconds(p) for p in tree(proc.pid, kids))
        clients = dict(self.conn.execute("SELECT pid, application_name FROM pg_stat_activity "
                                         "WHERE backend_type = 'client backend'").fetchall())
        master = self.postmaster()
        found["postgres: postmaster and its own processes"] = cpu_seconds(master)  # exited backends included
        for pid in kids.get(master, []):
            client = clients.get(pid)
            key = f"postgres backends of {client or 'other'}" if pid in clients else \
                "postgres: postmaster and its own processes"
            found[key] += cpu_seconds(pid, reaped=False)
        found["rabbitmq (beam.smp and helpers)"] = sum(cpu_seconds(p) for p in tree(self.rabbit.proc.pid, kids))
        return found

    def metrics(self) -> dict[str, Counter]:
        """Messages handled and published by service, gRPC calls by API, from every /metrics."""
        found = {"consumed": Counter(), "published": Counter(), "grpc": Counter(), "retried": Counter(),
                 "early": Counter(), "dead": Counter(), "batches": Counter()}
        # done, duplicate: consumed; early: put back, to come again after the event it follows
        outcomes = {"done": "consumed", "duplicate": "consumed", "retried": "retried", "early": "early",
                    "dead_lettered": "dead"}
        for name, port in self.system.metrics_ports.items():
            if not port:
                continue
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            except OSError:
                continue
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if family.name == "onewindow_batch_messages" and s.name.endswith("_count"):
                        found["batches"][s.labels["service"]] += s.value
                    if not s.name.endswith("_total"):
                        continue
                    if family.name == "onewindow_messages_handled":
                        found[outcomes[s.labels["outcome"]]][s.labels["service"]] += s.value
                    elif family.name == "onewindow_outbox_published":
                        found["published"][s.labels["service"]] += s.value
                    elif family.name == "onewindow_grpc_requests":
                        found["grpc"][s.labels["api"]] += s.value
        return found

    def tables(self) -> dict[str, Counter]:
        rows = self.conn.execute(
            "SELECT schemaname, sum(n_tup_ins + n_tup_upd + n_tup_del), sum(coalesce(seq_scan, 0) "
            "+ coalesce(idx_scan, 0)) FROM pg_stat_user_tables GROUP BY 1").fetchall()
        return {"rows_written": Counter({s: int(w) for s, w, _ in rows}),
                "table_scans": Counter({s: int(n) for s, _, n in rows})}

    def database(self) -> Counter:
        (commits, rollbacks), = self.conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = %s", [DATABASE]).fetchall()
        return Counter({"commits": commits, "rollbacks": rollbacks})

    def statements(self) -> list[tuple[str, int, float]]:
        """(statement, calls, total ms) of this database since the reset, most called first."""
        return [(q, int(c), float(t)) for q, c, t in self.conn.execute(
            "SELECT s.query, s.calls, s.total_exec_time FROM pg_stat_statements s JOIN pg_database d "
            "ON d.oid = s.dbid WHERE d.datname = %s AND s.query NOT LIKE '%%pg_stat%%' ORDER BY s.calls DESC",
            [DATABASE]).fetchall()]

    def reset_statements(self) -> None:
        self.conn.execute("SELECT pg_stat_statements_reset()")

    def quiet(self) -> bool:
        """Every outbox published, no notice due, every queue but the dead letters empty."""
        (outstanding,), = self.conn.execute(
            "SELECT " + " + ".join(f"(SELECT count(*) FROM {s.name}.outbox WHERE published_at IS NULL)"
                                   for s in SERVICES)
            + " + (SELECT count(*) FROM notify.deliveries WHERE status IN ('pending', 'sending') "
              "AND next_at <= now())").fetchall()
        return not outstanding and not any(n for q, n in self.rabbit.queue_depths().items() if q != DEAD_LETTER_QUEUE)


def until(ready, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def enable_statements(postgres) -> None:
    """pg_stat_statements needs its library loaded at the server's start: set, then restart
    (it counts BEGIN and COMMIT too: pg_stat_statements.track_utility is on by default)."""
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    postgres.stop("fast")
    postgres.start()


@contextlib.contextmanager
def system_of_its_own(settings: SystemSettings, work: Path, what: str, echo=print):
    """Every process on a PostgreSQL (with pg_stat_statements) and a RabbitMQ of the run's own,
    notices to a stand-in SMS gateway: (system, its settings, postgres, rabbit). Nothing else on
    the machine uses these servers or takes their connections."""
    with sandbox(work / "servers") as (postgres, rabbit), Gateway() as gateway:
        enable_statements(postgres)
        run_settings = settings.model_copy(update={
            "database_url": postgres.url(DATABASE), "amqp_url": rabbit.url(), "intake_port": free_port(),
            "desk_port": free_port(), "supervision_port": free_port(), "identity_port": free_port(),
            "desk_tokens": work / "tokens.yaml", "signing_keys": work / "signing-keys.yaml",
            "web_port": free_port(), "web_secret": work / "web-secret.yaml", "sms_gateway_url": gateway.url,
            "sms_gateway_token": None, "smtp_host": None, "notify_webhooks": None, "metrics_port": 0})
        echo(f"{what}: private PostgreSQL on port {postgres.port}, RabbitMQ node {rabbit.node}; "
             f"logs in {work / 'logs'}")
        system = System(run_settings, work / "logs", metrics_base=free_port_block(len(commands("python"))),
                        scratch=True)
        with system:
            yield system, run_settings, postgres, rabbit


def run_profile(settings: SystemSettings, *, rate: float, duration: float, warmup: int = 20, drain: float = 120.0,
                echo=print, log_dir: Path | None = None) -> dict:
    work = log_dir or Path(tempfile.mkdtemp(prefix="onewindow-profile-"))
    with system_of_its_own(settings, work, "profile", echo) as (system, run_settings, postgres, rabbit):
        probe = Probe(system, postgres, rabbit)
        try:
            cursors: dict[str, int] = {}
            echo(f"profile: warm-up, {warmup} cases")
            run_load(run_settings, cases=warmup, rate=rate, progress=False, echo=lambda _: None, drain=drain,
                     cursors=cursors)
            until(probe.quiet, QUIET_SECONDS)
            time.sleep(STATS_FLUSH_SECONDS)
            echo(f"profile: {IDLE_SECONDS:g} s idle")
            idle_start, idle_from = probe.cpu(), time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle = (idle_start, probe.cpu(), time.monotonic() - idle_from)
            probe.reset_statements()
            before = (probe.cpu(), probe.metrics(), probe.tables(), probe.database())
            window_from = time.monotonic()
            echo(f"profile: {rate:g} cases/s for {duration:g} s")
            load = run_load(run_settings, duration=duration, rate=rate, progress=False, echo=lambda _: None,
                            drain=drain, cursors=cursors)
            quiet = until(probe.quiet, QUIET_SECONDS)
            cpu_after, window = probe.cpu(), time.monotonic() - window_from
            time.sleep(STATS_FLUSH_SECONDS)
            after = (cpu_after, probe.metrics(), probe.tables(), probe.database())
            statements = probe.statements()
        finally:
            probe.close()
    return figures(load, before, after, statements, quiet, idle, window)


def figures(load: dict, before, after, statements, quiet: bool, idle, window: float) -> dict:
    """Per-case costs from two snapshots (cpu, metrics, tables, database) and the statements;
    `idle`: two CPU snapshots of the idle system and the seconds between them, whose rate over
    the measured `window` (seconds) is the idle share shown apart."""
    n = load["cases"] or 1
    cpu = {name: round((after[0][name] - before[0][name]) * 1000 / n, 2) for name in after[0]}
    idle_share = {name: round((idle[1][name] - idle[0][name]) / idle[2] * window * 1000 / n, 2) for name in cpu}
    cpu["load generator (apart)"] = load["generator_cpu_ms_per_case"]
    per_service = {}
    for service in [s.name for s in SERVICES] + ["web_front"]:
        row = {k: round((after[1][k][service] - before[1][k][service]) / n, 2)
               for k in ("consumed", "published", "early", "retried", "dead")}
        batches = after[1]["batches"][service] - before[1]["batches"][service]
        delivered = sum(after[1][k][service] - before[1][k][service] for k in ("consumed", "early", "retried", "dead"))
        row["per_batch"] = round(delivered / batches, 1) if batches else 0
        row |= {k: round((after[2][k][service] - before[2][k][service]) / n, 1) for k in ("rows_written",
                                                                                          "table_scans")}
        per_service[service] = row
    calls = sum(c for _, c, _ in statements)
    servers = round(sum(v for k, v in cpu.items() if k.startswith(SERVERS)), 1)
    return {
        "load": {k: load[k] for k in ("cases", "concluded", "unfinished", "lost", "duplicated", "rate", "arrivals_s",
                                      "cases_per_s", "p50_ms", "p99_ms")},
        "quiet_after": quiet, "cores": os.cpu_count(),
        "cpu_ms_per_case": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        "cpu_ms_per_case_total": round(sum(v for k, v in cpu.items() if k != "load generator (apart)"), 1),
        "servers_ms_per_case": servers,
        "servers_bound_cases_per_s": round(os.cpu_count() * 1000 / servers, 1) if servers else None,
        "idle_ms_per_case": idle_share, "idle_ms_per_case_total": round(sum(idle_share.values()), 1),
        "window_s": round(window, 1),
        "per_service": per_service,
        "grpc_calls_per_case": {api: round((after[1]["grpc"][api] - before[1]["grpc"][api]) / n, 2)
                                for api in after[1]["grpc"]},
        "transactions_per_case": round((after[3]["commits"] - before[3]["commits"]) / n, 1),
        "rollbacks_per_case": round((after[3]["rollbacks"] - before[3]["rollbacks"]) / n, 2),
        "statements_per_case": round(calls / n, 1),
        "top_statements": [_statement(q, c, t, n) for q, c, t in statements[:15]],
        "costliest_statements": [_statement(q, c, t, n) for q, c, t in
                                 sorted(statements, key=lambda s: s[2], reverse=True)[:10]],
    }


SERVERS = ("postgres", "rabbitmq")  # the processes that are not the project's Python


def _statement(query: str, calls: int, total_ms: float, cases: int) -> dict:
    return {"per_case": round(calls / cases, 2), "ms_per_case": round(total_ms / cases, 3),
            "statement": " ".join(query.split())[:110]}


def report_lines(result: dict) -> list[str]:
    from tabulate import tabulate

    load = result["load"]
    lines = [f"{load['cases']} TZ-002 cases at {load['rate']:g}/s for {load['arrivals_s']} s: {load['concluded']} "
             f"concluded, {load['unfinished']} unfinished, {load['lost']} lost; p50 {load['p50_ms']} ms, "
             f"p99 {load['p99_ms']} ms; {result['cores']} cores" + ("" if result["quiet_after"] else
                                                                      " (NOT quiet at the end: figures low)"), ""]
    idle = result["idle_ms_per_case"]
    lines += tabulate([[k, v, idle.get(k, ""), round(v - idle[k], 2) if k in idle else v]
                       for k, v in result["cpu_ms_per_case"].items()],
                      headers=["process", "CPU ms/case", "of which idle", "less idle"], tablefmt="github").splitlines()
    lines.append(f"total (load generator apart): {result['cpu_ms_per_case_total']} ms of CPU per case, of which "
                 f"{result['idle_ms_per_case_total']} ms the idle system's over the {result['window_s']} s measured")
    lines.append(f"PostgreSQL and RabbitMQ alone: {result['servers_ms_per_case']} ms per case; were every Python "
                 f"process free, these {result['cores']} cores would conclude at most "
                 f"{result['servers_bound_cases_per_s']} cases/s")
    lines.append("")
    rows = [[s, r["consumed"], r["per_batch"], r["published"], r["early"], r["retried"], r["dead"],
             r["rows_written"], r["table_scans"]] for s, r in result["per_service"].items()]
    lines += tabulate(rows, headers=["service (schema)", "messages consumed", "per batch", "published",
                                     "put back (early)", "retried", "dead-lettered", "rows written", "table scans"],
                      tablefmt="github").splitlines()
    lines.append("gRPC calls per case: " + ", ".join(f"{api} {n}" for api, n in result["grpc_calls_per_case"].items()))
    lines += ["", f"PostgreSQL per case: {result['transactions_per_case']} transactions "
                  f"({result['rollbacks_per_case']} rolled back), {result['statements_per_case']} statements "
                  "(BEGIN/COMMIT included: each a round trip)", ""]
    for title, key in (("The most frequent statements", "top_statements"),
                       ("The costliest statements (server time, lock waits included)", "costliest_statements")):
        lines += ["", f"{title}:", ""]
        lines += tabulate([[s["per_case"], s["ms_per_case"], s["statement"]] for s in result[key]],
                          headers=["calls/case", "ms/case", "statement"], tablefmt="github").splitlines()
    return lines
