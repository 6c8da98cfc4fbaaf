"""The `onewindow` command line (run through the `./onewindow` script at the repository root)."""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import click

# Known and accepted (docs/architecture.md): nameko 2 needs eventlet, which warns it is in bugfix mode.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from services.config import ROOT, ConfigError, load_settings

from .processes import commands
from .settings import SystemSettings

NEEDS_SERVICES = {"test", "up", "migrate", "bench-relay", "bench-worklist", "demo", "load", "verify-case", "submit",
                  "passwords", "audit-log"}


def _answers(url: str, default_port: int) -> tuple[str, int, bool]:
    """Whether the (first) server of `url` answers: a broker cluster's URLs are joined by `;`, a
    database's servers by `,`."""
    first = urlsplit(url.split(";")[0]).netloc.rpartition("@")[2].split(",")[0]
    parts = urlsplit(f"//{first}")
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=2).close()
        return host, port, True
    except OSError:
        return host, port, False


def _start_local(what: str) -> str | None:
    """Start a locally installed server that is down; the install hint if it is not installed."""
    if what == "RabbitMQ":
        if not shutil.which("rabbitmq-server"):
            return "install it with: apt-get install rabbitmq-server"
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
        return None
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
    if not versions or not shutil.which("pg_ctlcluster"):
        return "install it with: apt-get install postgresql"
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"], check=False)
    return None


def ensure_services(settings: SystemSettings, wait_seconds: float = 60) -> None:
    """RabbitMQ and PostgreSQL must answer; local ones that are down are started."""
    for what, url, port in (("RabbitMQ", settings.amqp_url, 5672), ("PostgreSQL", settings.database_url, 5432)):
        host, port, up = _answers(url, port)
        if up:
            continue
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise click.ClickException(f"{what} at {host}:{port} does not answer (set by ONEWINDOW_* variables)")
        click.echo(f"{what} is not answering on {host}:{port}; starting it", err=True)
        hint = _start_local(what)
        if hint:
            raise click.ClickException(f"{what} is not installed on this machine: {hint}")
        deadline = time.monotonic() + wait_seconds
        while not _answers(url, port)[2]:
            if time.monotonic() > deadline:
                raise click.ClickException(f"{what} was started but does not answer on {host}:{port}")
            time.sleep(0.5)


def current_settings() -> SystemSettings:
    """The settings from the environment; a bad one ends the command with every problem named."""
    try:
        return load_settings(SystemSettings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class Terminated(SystemExit):
    """SIGTERM or Ctrl-C to a command that started servers and processes of its own (`_exit_on_signals`)."""


class _Commands(click.Group):
    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except Terminated as exc:
            # The command's own with-blocks have stopped what it started. Its clients' threads may
            # still be retrying calls to those stopped servers (a load's submissions, for minutes):
            # the interpreter's exit would wait for them, so exit now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.code)


@click.group(cls=_Commands)
@click.pass_context
def main(ctx: click.Context) -> None:
    """onewindow: county one-stop service halls (便民服务中心)."""
    if ctx.invoked_subcommand in NEEDS_SERVICES and not os.environ.get("ONEWINDOW_SKIP_SERVICE_CHECK"):
        ensure_services(current_settings())


# Two pytest-xdist workers, each taking a whole module at a time (its module fixtures are set up
# once), the longest modules first (tests/conftest.py; xdist's own reordering by test count is off).
# Much of the suite waits on processes, the broker and the database: on two cores, two workers took
# it from about 16 to under 10 minutes. `-n 0` after it runs everything in this one process.
PARALLEL = ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder"]


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args: tuple[str, ...]) -> None:
    """Run the whole test suite on two workers (extra arguments go to pytest; `-n 0`: one process)."""
    import pytest

    os.chdir(ROOT)
    code = pytest.main(["-p", "no:cacheprovider", *PARALLEL, *pytest_args], plugins=[])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        click.echo("no tests were collected: that is a failure", err=True)
        code = 1
    sys.exit(int(code))


@main.command()
@click.option("--no-tokens", is_flag=True,
              help="Do not write missing department tokens (the tokens file is a read-only secret).")
def migrate(no_tokens: bool) -> None:
    """Create the database if needed, apply every service's migrations, declare every queue."""
    from .system import prepare

    prepare(current_settings(), echo=click.echo, tokens=not no_tokens)


@main.command()
@click.option("--no-migrate", is_flag=True, help="Do not apply migrations first.")
@click.option("--metrics-port", default=9101, show_default=True,
              help="/metrics, /livez and /readyz of the first process; the others count up from it.")
@click.option("--replicas", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Copies of every process (the API copies share their gRPC port, the web copies theirs).")
def up(no_migrate: bool, metrics_port: int, replicas: int) -> None:
    """Start every process of every service in the foreground; Ctrl-C or SIGTERM stops them all."""
    import honcho.manager

    from .system import instances

    if not no_migrate:
        click.get_current_context().invoke(migrate)
    settings = current_settings()
    scheme = "https" if settings.web_tls_cert else "http"
    click.secho(f"the hall: {scheme}://127.0.0.1:{settings.web_port}/ (public address {settings.public_url}); "
                "people sign in with the first passwords of `onewindow passwords`", bold=True)
    honcho.manager.KILL_WAIT = 10
    manager = honcho.manager.Manager()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for i, (name, argv) in enumerate(instances(commands(sys.executable), replicas)):
        # exec: the process itself, not a shell around it, gets the signal and reports its exit code
        manager.add_process(name, "exec " + shlex.join(argv), cwd=str(ROOT),
                            env={**env, "ONEWINDOW_METRICS_PORT": str(metrics_port + i)})
    manager.loop()
    sys.exit(manager.returncode)


@main.command()
@click.argument("process", type=click.Choice([name for name, _ in commands("python")]))
def run(process: str) -> None:
    """Run one process in the foreground (what a container runs): e.g. `onewindow run intake-api`."""
    current_settings()  # a bad configuration is named here, before anything starts
    argv = dict(commands(sys.executable))[process]
    os.chdir(ROOT)
    os.execv(argv[0], argv)


@main.command("config")
def show_config() -> None:
    """Print the effective configuration (secrets hidden) and check the reference files it names."""
    from tabulate import tabulate

    from hall.reference import load_reference
    from notify_svc.channels import Webhook
    from services.access import read_tokens
    from services.config import describe
    from services.yamlfile import ConfigFileError

    settings = current_settings()
    rows = describe(settings, dict(os.environ))
    click.echo(tabulate(rows, headers=["variable", "value", "from", "meaning"], tablefmt="plain"))
    try:
        ref = load_reference(settings)
        tokens = read_tokens(settings.desk_tokens)
        hooks = Webhook.from_file(settings.notify_webhooks).endpoints if settings.notify_webhooks else None
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\nreference data: {len(ref.org.departments)} departments, {len(ref.catalogue.items)} items, "
               f"calendar years {', '.join(map(str, ref.calendar.local_years)) or 'none beyond chinese-calendar'}")
    if settings.desk_tokens.is_file():
        click.echo(f"tokens: {len(tokens)} in {settings.desk_tokens}")
    else:
        click.echo(f"tokens: {settings.desk_tokens} does not exist yet (`onewindow migrate` writes it)")
    if hooks is not None:
        click.echo(f"webhooks: {len(hooks)} department(s) in {settings.notify_webhooks}")


@main.command("check-config")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check_config(files: tuple[Path, ...]) -> None:
    """Validate org chart, catalogue, calendar, staff register and duty rota files (told apart by
    their top-level key).

    A catalogue or a staff register is checked against the org chart given with it, or the
    configured one; a duty rota also against the register and the calendar given with it, or the
    configured ones.
    """
    from hall.calendar import WorkingCalendar
    from hall.catalogue import load_catalogue, load_org
    from hall.rota import load_rota
    from hall.staff import load_staff
    from services.yamlfile import ConfigFileError, Document

    failed = False

    def check(path: Path, load, describe) -> object | None:
        nonlocal failed
        try:
            loaded = load(path)
        except ConfigFileError as exc:
            click.echo(str(exc), err=True)
            failed = True
            return None
        if describe:
            click.echo(f"{path}: ok ({describe(loaded)})")
        return loaded

    kinds: dict[str, list[Path]] = {"org": [], "catalogue": [], "calendar": [], "staff": [], "rota": []}
    for path in files:
        doc = check(path, Document, None)
        if doc is not None:
            keys = set(doc.data) if isinstance(doc.data, dict) else set()
            kinds["catalogue" if "items" in keys else "calendar" if "years" in keys
                  else "staff" if "persons" in keys else "rota" if "duty" in keys else "org"].append(path)
    org = None
    for path in kinds["org"] or ([current_settings().org] if kinds["catalogue"] or kinds["staff"] or kinds["rota"]
                                 else []):
        org = check(path, load_org, (lambda o: f"{len(o.departments)} departments, {len(o.organisations)} "
                                               f"organisations, {len(o.agents)} agents") if path in files else None)
    for path in kinds["catalogue"]:
        if org is None:
            click.echo(f"{path}: not checked: the org chart has errors", err=True)
            failed = True
            continue
        check(path, lambda p: load_catalogue(p, org), lambda c: f"{len(c.items)} items")
    register = None
    for path in kinds["staff"]:
        if org is None:
            click.echo(f"{path}: not checked: the org chart has errors", err=True)
            failed = True
            continue
        register = check(path, lambda p: load_staff(p, org), lambda r: f"{len(r.persons)} persons, "
                                                                       f"{len(r.active_holdings())} posts held")
    calendar = None
    for path in kinds["calendar"]:
        calendar = check(path, WorkingCalendar.from_file, lambda c: "years " + ", ".join(map(str, c.local_years)))
    if kinds["rota"]:
        settings = current_settings()
        if org is not None and not kinds["staff"]:
            register = check(settings.staff, lambda p: load_staff(p, org), None)
        if not kinds["calendar"]:
            calendar = check(settings.calendar, WorkingCalendar.from_file, None) if settings.calendar \
                else WorkingCalendar()
    for path in kinds["rota"]:
        if org is None or register is None or calendar is None:
            click.echo(f"{path}: not checked: the org chart, the staff register or the calendar has errors", err=True)
            failed = True
            continue
        check(path, lambda p: load_rota(p, org, register, calendar),
              lambda r: f"{len(r.duty)} centres and village rooms from {r.starts.isoformat()}")
    sys.exit(1 if failed else 0)


@main.command("bench-relay")
@click.option("--events", "count", default=5000, show_default=True, help="Events to write and publish.")
@click.option("--per-commit", default=5, show_default=True, help="Events per unit of work.")
def bench_relay(count: int, per_commit: int) -> None:
    """Benchmark the outbox: units of work per second, then confirmed publishes per second.

    Uses a schema and a RabbitMQ exchange of its own, dropped afterwards; prints one JSON line.
    """
    import uuid

    import kombu
    import psycopg

    from services.db import KERNEL_MIGRATIONS, ensure_database, open_pool
    from services.db import migrate as apply
    from services.relay import OutboxRelay, Publisher
    from services.uow import unit_of_work_factory

    settings = current_settings()
    schema, source = f"bench_{uuid.uuid4().hex[:8]}", "supervision"
    ensure_database(settings.database_url)
    apply(settings.database_url, schema, [KERNEL_MIGRATIONS])
    pool = open_pool(settings.database_url, schema, max_size=2)
    publisher = Publisher(settings.amqp_url, kombu.Exchange(f"{schema}.events", type="topic", auto_delete=True))
    try:
        unit_of_work = unit_of_work_factory(pool, source, schema)
        started = time.perf_counter()
        for _ in range(0, count, per_commit):
            with unit_of_work() as uow:
                for _ in range(per_commit):
                    uow.emit("WarningRaised", None, {"colour": "yellow", "step": "bench", "deadline": "2026-03-02"})
        written = time.perf_counter() - started
        relay = OutboxRelay(pool, settings.database_url, source, schema, publisher, settings.relay_batch)
        started = time.perf_counter()
        published = 0
        while (n := relay.publish_pending()):
            published += n
        sent = time.perf_counter() - started
    finally:
        publisher.close()
        pool.close()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    click.echo(json.dumps({"events": published, "per_commit": per_commit,
                           "commits_per_s": round(count / per_commit / written, 1),
                           "events_written_per_s": round(count / written, 1),
                           "published_per_s": round(published / sent, 1), "cores": os.cpu_count()}))


@main.command("bench-audit")
@click.option("--acts", default=2000, show_default=True, type=click.IntRange(1), help="Acts to record.")
def bench_audit(acts: int) -> None:
    """Benchmark the audit log: acts recorded one per transaction (BEGIN, the entry, COMMIT), per
    second and in this process's CPU per act. Uses a schema of its own, dropped afterwards; prints
    one JSON line."""
    import uuid

    import psycopg

    from services import auditlog
    from services.db import KERNEL_MIGRATIONS, ensure_database, open_pool
    from services.db import migrate as apply
    from services.timesource import SystemTime

    settings = current_settings()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    ensure_database(settings.database_url)
    apply(settings.database_url, schema, [KERNEL_MIGRATIONS])
    pool = open_pool(settings.database_url, schema, max_size=1)
    entry = auditlog.AuditEntry("desk.Decide", person="SX0001", post="county-desk/handler/1",
                                organisation="county-desk", client="127.0.0.1", target="TZ-002-0001-1", detail="同意")
    clock = SystemTime()
    try:
        with pool.connection() as conn:
            for n in range(acts + 50):  # the first 50 warm the connection up (statements prepared)
                if n == 50:
                    cpu, started = time.process_time(), time.perf_counter()
                with conn.transaction():
                    auditlog.append(conn, entry, clock.now())
            cpu, wall = time.process_time() - cpu, time.perf_counter() - started
            check = auditlog.verify(conn)
    finally:
        pool.close()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    click.echo(json.dumps({"acts": acts, "acts_per_s": round(acts / wall, 1),
                           "client_cpu_us_per_act": round(cpu / acts * 1e6), "chain_ok": check.ok,
                           "cores": os.cpu_count()}))


@main.command("bench-worklist")
@click.option("--closed", default=10000, show_default=True, help="Closed tasks of the window.")
@click.option("--open", "open_", default=500, show_default=True, help="Open tasks of the window.")
@click.option("--rounds", default=400, show_default=True, help="Worklist pages fetched.")
@click.option("--worklists", default=200, show_default=True, help="Worklists held open (server-sent events).")
@click.option("--calls", default=300, show_default=True, help="Desk API calls timed, per method and phase.")
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the processes' logs.")
def bench_worklist(closed: int, open_: int, rounds: int, worklists: int, calls: int, logs: Path | None) -> None:
    """Benchmark the department's worklist: page time over 10,000 closed and 500 open tasks, and the
    desk API's latency with 200 worklists open (tooling/bench_worklist.py)."""
    from .bench_worklist import run

    _run_system("bench_worklist", lambda settings: (run(settings, closed, open_, rounds, worklists, calls,
                                                        lambda line: click.echo(line, err=True)), []), logs)


# `load` offers this rate by default; a step test (`--find-max`, `bench`) starts at STEP_START.
LOAD_RATE, STEP_START = 20.0, 10.0


def _run_system(name: str, play, log_dir: Path | None) -> None:
    """Start every process on a scratch database, play the script, stop everything, print the
    summary and the JSON line. The processes use the configured broker: not beside `up`."""
    import tempfile

    from .system import BrokerInUse, System, scratch_settings

    settings = scratch_settings(current_settings(), name)
    logs = log_dir or Path(tempfile.mkdtemp(prefix=f"onewindow-{name}-"))
    _exit_on_signals()
    click.echo(f"starting every process on database {settings.database_url.rsplit('/', 1)[-1]} "
               f"(logs in {logs})", err=True)
    try:
        with System(settings, logs, scratch=True):
            result, lines = play(settings)
    except BrokerInUse as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)
    click.echo(json.dumps(result, ensure_ascii=False))
    if result.get("lost") or result.get("duplicated"):
        sys.exit(1)


def _exit_on_signals() -> None:
    """A command that starts processes and servers of its own stops them when it is terminated or
    interrupted (SIGTERM, Ctrl-C), then exits at once (`_Commands.main`)."""
    def terminated(signum, frame):
        raise Terminated(128 + signum)
    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)


@main.command()
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the processes' logs.")
def demo(logs: Path | None) -> None:
    """Start everything and play a realistic day through the gRPC APIs; the last line is JSON."""
    from .demo import run_demo, summary_lines

    def play(settings):
        result = run_demo(settings, echo=lambda line: click.echo(line, err=True))
        return result, summary_lines(result)

    _run_system("demo", play, logs)


@main.command()
@click.option("--cases", type=click.IntRange(1), help="Cases to submit (default: as many as --duration allows).")
@click.option("--duration", type=click.FloatRange(1), help="Seconds of arrivals (default 60 without --cases).")
@click.option("--rate", type=click.FloatRange(0.1),
              help=f"Arrivals per second [{LOAD_RATE:g}; with --find-max, the first step: {STEP_START:g}].")
@click.option("--drain", default=60.0, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait after the last arrival for open cases; those still open are 'unfinished'.")
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 1000),
              help="Submissions in flight at most.")
@click.option("--mix", default="TZ-002=1", show_default=True, help="Item codes and weights, e.g. TZ-002=3,TZ-001=1.")
@click.option("--as-persons", is_flag=True,
              help="Clerks and handlers sign in and act with their credentials (not the systems' tokens).")
@click.option("--find-max", is_flag=True,
              help="Step test: raise the rate by --step every --step-seconds until p99 exceeds --p99-ms or cases "
                   "fall behind; print the highest rate held.")
@click.option("--p99-ms", default=1000.0, show_default=True, type=click.FloatRange(1),
              help="With --find-max: the p99 bound of submit → concluded.")
@click.option("--step", "step_rate", default=5.0, show_default=True, type=click.FloatRange(0.1),
              help="With --find-max: cases/s added at each step.")
@click.option("--step-seconds", default=20.0, show_default=True, type=click.FloatRange(1),
              help="With --find-max: seconds of arrivals per step.")
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the processes' logs.")
def load(cases: int | None, duration: float | None, rate: float | None, drain: float, concurrency: int, mix: str,
         as_persons: bool, find_max: bool, p99_ms: float, step_rate: float, step_seconds: float,
         logs: Path | None) -> None:
    """Benchmark: submit cases at a rate, departments decide over gRPC; the last line is JSON.

    A case not concluded when the drain ends is 'unfinished' (shown apart) unless the store
    confirms it lost: not concluded, nothing of it in flight. Exits 1 on a lost or duplicated case."""
    from .bench import find_max_lines, find_max_rate
    from .loadgen import parse_mix, run_load, summary_lines

    try:
        weights = parse_mix(mix)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mix") from None
    if cases is None and duration is None:
        duration = 60.0

    def play(settings):
        if find_max:
            result = find_max_rate(settings, start=rate or STEP_START, step=step_rate, step_seconds=step_seconds,
                                   p99_ms=p99_ms, drain=drain, concurrency=concurrency, mix=weights,
                                   echo=lambda line: click.echo(line, err=True))
            return result, find_max_lines(result)
        result = run_load(settings, cases=cases, duration=duration, rate=rate or LOAD_RATE, concurrency=concurrency,
                          mix=weights, echo=lambda line: click.echo(line, err=True), as_persons=as_persons,
                          drain=drain)
        return result, summary_lines(result)

    _run_system("load", play, logs)


@main.command()
@click.option("--rate", default=20.0, show_default=True, type=click.FloatRange(0.1),
              help="The paced run's arrivals per second.")
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(1),
              help="The paced run's seconds of arrivals.")
@click.option("--drain", default=60.0, show_default=True, type=click.FloatRange(0), help="As for `load`.")
@click.option("--find-max/--no-find-max", default=True, show_default=True,
              help="Also the step test for the highest rate held (as `load --find-max`).")
@click.option("--p99-ms", default=1000.0, show_default=True, type=click.FloatRange(1), help="As for `load`.")
@click.option("--record/--no-record", default=True, show_default=True,
              help="Append the result to docs/benchmarks.jsonl and rewrite the README's benchmark table.")
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the servers' and processes' logs.")
def bench(rate: float, duration: float, drain: float, find_max: bool, p99_ms: float, record: bool,
          logs: Path | None) -> None:
    """The benchmark of record: TZ-002 cases at --rate for --duration, then the step test, on one
    system with a PostgreSQL and a RabbitMQ of its own; appends the figures with the commit, date
    and machine to docs/benchmarks.jsonl. Exits 1 on a lost or duplicated case."""
    import datetime as dt

    from .bench import RECORD, entry, find_max_lines, record_run, run_bench
    from .loadgen import summary_lines

    _exit_on_signals()
    paced, capacity = run_bench(current_settings(), rate=rate, duration=duration, drain=drain, search=find_max,
                                p99_ms=p99_ms, start=STEP_START, log_dir=logs,
                                echo=lambda line: click.echo(line, err=True))
    line = entry(paced, capacity, dt.datetime.now(dt.timezone.utc))
    for text in summary_lines(paced) + (find_max_lines(capacity) if capacity else []):
        click.echo(text)
    if record:
        record_run(line)
        click.echo(f"recorded in {RECORD.relative_to(ROOT)}; the README's table rewritten")
    click.echo(json.dumps(line, ensure_ascii=False))
    if paced["lost"] or paced["duplicated"] or (capacity and (capacity["lost"] or capacity["duplicated"])):
        sys.exit(1)


@main.command()
@click.option("--rate", default=10.0, show_default=True, type=click.FloatRange(0.1), help="Arrivals per second.")
@click.option("--duration", default=30.0, show_default=True, type=click.FloatRange(1), help="Seconds of arrivals.")
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the servers' and processes' logs.")
def profile(rate: float, duration: float, logs: Path | None) -> None:
    """Where each case's cost goes: TZ-002 cases at a fixed rate on servers of the run's own; CPU
    per case of every process (PostgreSQL's backends by service, RabbitMQ, the load generator
    apart), messages, rows, transactions and statements per case. A table, then a JSON line."""
    from .profile import report_lines, run_profile

    _exit_on_signals()
    result = run_profile(current_settings(), rate=rate, duration=duration, log_dir=logs,
                         echo=lambda line: click.echo(line, err=True))
    for line in report_lines(result):
        click.echo(line)
    click.echo(json.dumps(result, ensure_ascii=False))
    if result["load"]["lost"] or result["load"]["duplicated"]:
        sys.exit(1)


@main.command()
@click.option("--cases-per-fault", default=100, show_default=True, type=click.IntRange(1),
              help="Cases submitted during each fault.")
@click.option("--rate", default=15.0, show_default=True, type=click.FloatRange(0.1), help="Arrivals per second.")
@click.option("--fault", "faults", multiple=True, metavar="NAME",
              help="Only this fault (repeatable): kill-<process>, rabbitmq, postgres, poison, duplicates; "
                   "on clusters (three RabbitMQ nodes, a PostgreSQL primary and two standbys): rabbitmq-node, "
                   "rabbitmq-leader, postgres-failover, relay-during-failover; baseline (no fault: the "
                   "throughput to compare with).")
@click.option("--outage", default=5.0, show_default=True, type=click.FloatRange(0),
              help="Seconds RabbitMQ and PostgreSQL stay down.")
@click.option("--logs", type=click.Path(path_type=Path), help="Directory for the servers' and processes' logs.")
def chaos(cases_per_fault: int, rate: float, faults: tuple[str, ...], outage: float, logs: Path | None) -> None:
    """Fault suite: kill -9 of every process, RabbitMQ and PostgreSQL restarts, poison and duplicate
    events, each under load on servers of the run's own; the books are audited after each. Named, the
    cluster faults: a RabbitMQ node killed or its queues' leader stopped, a PostgreSQL failover. Prints
    a table, then a JSON line; exits 1 if anything was lost, duplicated or failed a check."""
    from .chaos import check_faults, report_lines, run_chaos

    try:
        names = check_faults(list(faults)) if faults else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    _exit_on_signals()
    result = run_chaos(current_settings(), cases_per_fault=cases_per_fault, rate=rate, faults=names, log_dir=logs,
                       outage=outage, echo=lambda line: click.echo(line, err=True))
    for line in report_lines(result):
        click.echo(line)
    click.echo(json.dumps(result, ensure_ascii=False))
    if not result["ok"]:
        sys.exit(1)


@main.group()
def backup() -> None:
    """PostgreSQL on one host: WAL archiving, base backups, a restore to a point in time."""


@backup.command("settings")
@click.argument("backups", type=click.Path(path_type=Path))
def backup_settings(backups: Path) -> None:
    """The postgresql.conf lines that archive every WAL segment into BACKUPS/wal."""
    from .backup import archive_settings

    for key, value in archive_settings(backups.resolve()).items():
        click.echo(f"{key} = {value}")


@backup.command("base")
@click.argument("backups", type=click.Path(path_type=Path))
def backup_base(backups: Path) -> None:
    """A base backup of ONEWINDOW_DATABASE_URL's primary into BACKUPS/base/<UTC time> (nightly)."""
    import subprocess

    from .backup import base_backup

    try:
        click.echo(base_backup(current_settings().database_url, backups.resolve()))
    except subprocess.CalledProcessError as exc:
        raise click.ClickException(f"pg_basebackup failed: {exc.stderr.strip()}") from None


@backup.command("restore")
@click.argument("backups", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--until", "until", required=True, help="The moment to restore to, ISO 8601; without a zone, "
                                                       "Asia/Shanghai (e.g. '2026-03-02 10:30:00').")
def backup_restore(backups: Path, data: Path, until: str) -> None:
    """A new data directory DATA from BACKUPS, which PostgreSQL started on it replays to UNTIL and opens."""
    from .backup import moment, restore

    try:
        used = restore(backups.resolve(), data.resolve(), moment(until))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{data} made from the base backup {used.name}; start PostgreSQL on it (it replays the WAL to "
               f"{until}, then opens), then run `onewindow backup check` against it")


@backup.command("republish")
@click.option("--since", required=True, help="Events published after this moment go out again (ISO 8601; "
                                             "without a zone, Asia/Shanghai).")
def backup_republish(since: str) -> None:
    """After a restore: the events published since SINCE marked unpublished, for the relays to send again."""
    from .backup import moment, republish

    for service, count in republish(current_settings().database_url, moment(since)).items():
        click.echo(f"{service}: {count} event(s) to publish again")


@backup.command("check")
def backup_check() -> None:
    """The audit of ONEWINDOW_DATABASE_URL after a restore: history chains, outboxes, cases, audit logs."""
    from .backup import check_restored

    found = check_restored(current_settings().database_url)
    for line in found:
        click.echo(line)
    click.echo(f"{len(found)} finding(s)" if found else "every history chain, outbox and audit log whole")
    if found:
        sys.exit(1)


@main.command()
@click.argument("item", default="TZ-002")
@click.option("--target", help="host:port of the intake API [127.0.0.1:ONEWINDOW_INTAKE_PORT].")
def submit(item: str, target: str | None) -> None:
    """Submit a sample application for ITEM (a catalogue code) to the running system, as the clerks
    of the organisation that accepts it; print the receipt."""
    import random

    import grpc
    from google.protobuf.json_format import MessageToDict
    from onewindow.intake.v1 import intake_pb2_grpc

    from hall.reference import load_reference
    from services.access import read_tokens
    from services.grpcutil import client_channel

    from .loadgen import accepting_organisation, application

    settings = current_settings()
    ref = load_reference(settings)
    found = ref.catalogue.item(item)
    if found is None:
        raise click.BadParameter(f"{item} is not in the catalogue {settings.catalogue}", param_hint="ITEM")
    organisation = accepting_organisation(found, ref.org)
    token = read_tokens(settings.desk_tokens).get(organisation)
    if token is None:
        raise click.ClickException(f"no token for {organisation} in {settings.desk_tokens} (`onewindow migrate`)")
    request = application(found, organisation, random.Random())
    target = target or f"127.0.0.1:{settings.intake_port}"
    with client_channel(target, settings.tls_ca or settings.tls_cert) as channel:
        try:
            receipt = intake_pb2_grpc.IntakeStub(channel).Submit(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=10)
        except grpc.RpcError as exc:
            raise click.ClickException(f"the intake API answered {exc.code().name}: {exc.details()}") from None
    click.echo(json.dumps(MessageToDict(receipt), ensure_ascii=False, indent=2))


@main.command("verify-case")
@click.argument("case_numbers", nargs=-1, required=True)
def verify_case(case_numbers: tuple[str, ...]) -> None:
    """Check that a case's history chain is intact (no entry edited, removed or inserted)."""
    from hall.reference import load_reference
    from intake_svc.use_cases import SOURCE, Intake
    from services.db import open_pool
    from services.errors import NotFound
    from services.uow import unit_of_work_factory

    settings = current_settings()
    pool = open_pool(settings.database_url, SOURCE, 2, name="verify-case")
    intake = Intake(load_reference(settings), settings.commitment_days)
    broken = False
    try:
        for number in case_numbers:
            with unit_of_work_factory(pool, SOURCE, SOURCE)() as uow:
                try:
                    problems = intake.verify(uow, number)
                except NotFound as exc:
                    problems = [str(exc)]
            broken |= bool(problems)
            click.echo(f"{number}: " + ("intact" if not problems else "BROKEN: " + "; ".join(problems)))
    finally:
        pool.close()
    sys.exit(1 if broken else 0)


@main.command()
def events() -> None:
    """Print the table of every event type (the one in docs/architecture.md)."""
    from .events import events_table

    click.echo(events_table())


@main.command()
@click.argument("staff_numbers", nargs=-1)
@click.option("--replace", is_flag=True, help="Also for the named persons who have a password (a lost one).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write, readable by its owner only [standard output].")
def passwords(staff_numbers: tuple[str, ...], replace: bool, out: Path | None) -> None:
    """First passwords for the staff register: every active person without one, or those named.
    Hand each over on paper; the person changes it at first sign-in (ChangePassword)."""
    from .people import set_first_passwords, write_sheet

    settings = current_settings()
    try:
        made = set_first_passwords(settings, list(staff_numbers) or None, replace=replace)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    text = write_sheet(made, out)
    if text:
        click.echo(text, nl=False)
    click.echo(f"{len(made)} first password(s)" + (f" written to {out}" if out else ""), err=True)


@main.group()
def keys() -> None:
    """The signing keys of signed-in persons' credentials."""


@keys.command("rotate")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="The secrets file [ONEWINDOW_SIGNING_KEYS].")
def keys_rotate(path: Path | None) -> None:
    """Add a new signing key and sign with it; the previous key still verifies the credentials it
    signed until they expire; older ones are dropped. Running processes take it without a restart."""
    from identity_svc.keys import rotate

    path = path or current_settings().signing_keys
    click.echo(f"signing key {rotate(path)} added to {path}")


@main.group("audit-log")
def audit_log() -> None:
    """The audit log: one hash chain per service (verify, export, prune)."""


@contextlib.contextmanager
def _database_errors():
    """A database that does not answer ends the command with its message, not a traceback."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"PostgreSQL: {exc}") from None


@audit_log.command("verify")
def audit_log_verify() -> None:
    """Recompute every service's chain: its entries, and OK or BROKEN with the first bad seq and
    why. Exits 1 if any chain is broken."""
    from .auditlog import report_lines, verify_all

    with _database_errors():
        checks = verify_all(current_settings().database_url)
    for line in report_lines(checks):
        click.echo(line)
    sys.exit(0 if all(check.ok for check in checks.values()) else 1)


@audit_log.command("export")
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (China time).")
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option("--service", help="Only this service's chain.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write [standard output].")
def audit_log_export(since, until, service: str | None, out: Path | None) -> None:
    """Write the entries of the days from --since to --until as JSON lines, each naming its service,
    with its seq and hashes: a period's chain can be checked on its own."""
    import datetime as dt

    from services.timesource import CHINA

    from .auditlog import export_all
    from .processes import SERVICES

    if service is not None and service not in [s.name for s in SERVICES]:
        raise click.BadParameter(f"not a service: {service}", param_hint="--service")
    start = dt.datetime.combine(since.date(), dt.time(), CHINA)
    end = dt.datetime.combine(until.date() + dt.timedelta(days=1), dt.time(), CHINA)
    count = 0
    with _database_errors(), (out.open("w", encoding="utf-8") if out else contextlib.nullcontext(None)) as file:
        for entry in export_all(current_settings().database_url, start, end, service):
            line = json.dumps(entry, ensure_ascii=False)
            if file:
                file.write(line + "\n")
            else:
                click.echo(line)
            count += 1
    click.echo(f"{count} entries" + (f" written to {out}" if out else ""), err=True)


@audit_log.command("prune")
@click.option("--keep-days", type=click.IntRange(183), help="Days kept [ONEWINDOW_AUDIT_KEEP_DAYS].")
def audit_log_prune(keep_days: int | None) -> None:
    """Delete the entries older than the retention, each chain's anchor moved so that it still verifies."""
    from services.timesource import SystemTime

    from .auditlog import prune_all

    settings = current_settings()
    with _database_errors():
        deleted = prune_all(settings.database_url, keep_days or settings.audit_keep_days, SystemTime().now())
    for name, count in deleted.items():
        click.echo(f"{name}: {count} entries deleted")


if __name__ == "__main__":
    main()


@main.group()
def pads() -> None:
    """The rating pads (评价器): tablets paired to one window, desk or village room."""


@main.group()
def boards() -> None:
    """The hall boards (大屏): browsers paired to one service centre, showing its counts at /board."""


def _pair_device(kind: str, organisation: str, name: str, made_by: str) -> None:
    """A pad or board made, and its one-time pairing code printed."""
    import datetime as dt

    import psycopg

    from hall.catalogue import load_org
    from hall.domain import OrgKind
    from web_front.pads import BOARD, PAIRING_HOURS, make_pad

    places = (OrgKind.CENTRE,) if kind == BOARD else (OrgKind.WINDOW, OrgKind.ACCEPTANCE_DESK, OrgKind.VILLAGE_ROOM)
    what = "a centre" if kind == BOARD else "a window, an acceptance desk or a village room"
    settings = current_settings()
    office = load_org(settings.org).organisation(organisation)
    if office is None or office.kind not in places:
        raise click.ClickException(f"{organisation!r} is not {what} of {settings.org}")
    with _database_errors(), psycopg.connect(settings.database_url) as conn:
        device_id, code = make_pad(conn, organisation, name or f"{office.name}{'大屏' if kind == BOARD else '评价器'}",
                                   made_by, dt.datetime.now(dt.timezone.utc), kind)
    click.echo(f"{kind} {device_id} of {organisation}: pairing code {code} (good for {PAIRING_HOURS} hours, once)")


def _list_devices(kind: str) -> None:
    import psycopg

    from web_front.pads import list_pads

    with _database_errors(), psycopg.connect(current_settings().database_url) as conn:
        for device_id, organisation, name, paired_at, made_by, made_at, revoked_at, _ in list_pads(conn, (kind,)):
            state = "unpaired" if revoked_at else ("paired" if paired_at else "waiting for its code")
            click.echo(f"{device_id}\t{organisation}\t{name}\t{state}\tmade by {made_by} {made_at:%Y-%m-%d}")


def _unpair_device(kind: str, device_id: int) -> None:
    import datetime as dt

    import psycopg

    from web_front.pads import revoke_pad

    with _database_errors(), psycopg.connect(current_settings().database_url) as conn:
        if not revoke_pad(conn, device_id, dt.datetime.now(dt.timezone.utc), (kind,)):
            raise click.ClickException(f"no paired {kind} {device_id}")
    click.echo(f"{kind} {device_id} unpaired")


_BY = click.option("--by", "made_by", default=os.environ.get("USER", "it"), show_default=True,
                   help="Who pairs it (county IT's staff number).")


@pads.command("pair")
@click.argument("organisation")
@click.option("--name", default="", help="What the pad is called [评价器 of the organisation].")
@_BY
def pads_pair(organisation: str, name: str, made_by: str) -> None:
    """Make a pad of ORGANISATION and print its one-time pairing code: type it on the tablet at
    /pad within 24 hours. From then on the tablet rates that organisation's invited acts only."""
    _pair_device("pad", organisation, name, made_by)


@pads.command("list")
def pads_list() -> None:
    """Every pad: its organisation, whether a tablet is paired, whether it was unpaired."""
    _list_devices("pad")


@pads.command("unpair")
@click.argument("pad_id", type=int)
def pads_unpair(pad_id: int) -> None:
    """Unpair a pad (lost or replaced): its tablet shows the pairing form again."""
    _unpair_device("pad", pad_id)


@boards.command("pair")
@click.argument("centre")
@click.option("--name", default="", help="What the board is called [大屏 of the centre].")
@_BY
def boards_pair(centre: str, name: str, made_by: str) -> None:
    """Make a board of CENTRE and print its one-time pairing code: type it at /board/pair on the
    board's browser within 24 hours. From then on /board there shows that centre."""
    _pair_device("board", centre, name, made_by)


@boards.command("list")
def boards_list() -> None:
    """Every board: its centre, whether a browser is paired, whether it was unpaired."""
    _list_devices("board")


@boards.command("unpair")
@click.argument("board_id", type=int)
def boards_unpair(board_id: int) -> None:
    """Unpair a board (lost or replaced): /board there is a plain board again."""
    _unpair_device("board", board_id)
