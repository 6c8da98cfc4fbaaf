"""The `onewindow` command as an operator runs it."""
from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PYTHON, ROOT
from tests.support import free_port, free_port_block, metric, stop, wait_until
from tooling.processes import SERVICES, commands
from tooling.settings import SystemSettings

ONEWINDOW = str(ROOT / ".venv" / "bin" / "onewindow")


def run(*args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`onewindow ARGS`, its output. One that overruns (or whose test is cut short) is stopped as a user
    would stop it, with SIGTERM, so that it stops what it started: killed, it would leave its processes
    holding their ports for the tests after it."""
    proc = subprocess.Popen([ONEWINDOW, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_check_config_accepts_the_sample_set():
    result = run("check-config", "deploy/org.yaml", "deploy/catalogue.yaml", "deploy/calendar.yaml",
                 "deploy/staff.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 4 and "persons" in result.stdout


def test_check_config_names_two_a_holders_of_one_post_with_file_and_line(tmp_path):
    register = tmp_path / "staff.yaml"
    text = (ROOT / "deploy" / "staff.yaml").read_text(encoding="utf-8")
    register.write_text(text.replace("seat: 2, holder: A}", "seat: 1, holder: A}", 1), encoding="utf-8")
    line = next(i for i, (a, b) in enumerate(zip(text.splitlines(), register.read_text(encoding="utf-8").splitlines()),
                                             1) if a != b)
    result = run("check-config", "deploy/org.yaml", str(register))
    assert result.returncode == 1
    assert f"{register}:{line}: " in result.stderr and "already has" in result.stderr and "A holder" in result.stderr


def test_check_config_rejects_a_broken_copy_with_file_line_and_reason(tmp_path):
    broken = tmp_path / "catalogue.yaml"
    text = (ROOT / "deploy" / "catalogue.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("kind: promised", "kind: someday", 1), encoding="utf-8")
    line = next(i for i, ln in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1) if "kind: someday" in ln)
    result = run("check-config", "deploy/org.yaml", str(broken))
    assert result.returncode == 1
    assert f"{broken}:{line}: items[" in result.stderr and "].kind: Input should be" in result.stderr
    assert "(got 'someday')" in result.stderr


def test_the_test_command_fails_when_no_test_runs():
    result = run("test", "tests/hall/test_clock.py", "-k", "no_such_test_at_all")
    assert result.returncode == 1 and "no tests were collected" in result.stderr


def test_migrate_applies_each_service_once(process_env):
    first = run("migrate", env=process_env)
    assert first.returncode == 0, first.stderr
    for service in SERVICES:
        assert f"{service.name}: " in first.stdout
    assert "web front: 3 migration(s) applied" in first.stdout
    second = run("migrate", env=process_env)
    assert second.returncode == 0 and second.stdout.count(": 0 migration(s) applied") == len(SERVICES) + 1
    # on the web front's tables: county IT pairs a rating pad, sees it, unpairs it
    paired = run("pads", "pair", "county-desk", env=process_env)
    assert paired.returncode == 0, paired.stderr
    pad_id = re.search(r"pad (\d+) of county-desk: pairing code \d{8} ", paired.stdout).group(1)
    assert "waiting for its code" in run("pads", "list", env=process_env).stdout
    wrong = run("pads", "pair", "county-centre", env=process_env)  # a centre has no window to rate
    assert wrong.returncode == 1 and "'county-centre' is not a window" in wrong.stderr
    assert run("pads", "unpair", pad_id, env=process_env).stdout.strip() == f"pad {pad_id} unpaired"
    assert run("pads", "unpair", pad_id, env=process_env).returncode == 1


def test_up_starts_every_process_and_stops_them_all_on_sigterm(process_env, tmp_path):
    base = free_port_block(len(commands(PYTHON)))
    env = _scratch_env(process_env, tmp_path)
    proc = subprocess.Popen([ONEWINDOW, "up", "--metrics-port", str(base)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    names = [name for name, _ in commands(PYTHON)]
    try:
        for i, name in enumerate(names):
            service, _, side = name.partition("-")
            if side == "bus":
                wait_until(lambda: metric(base + i, "onewindow_outbox_unpublished", service=service) == 0,
                           timeout=60, what=f"{name} serving /metrics")
            else:
                wait_until(lambda: metric(base + i, "process_start_time_seconds") is not None,
                           timeout=60, what=f"{name} serving /metrics")
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    for name in names:
        assert f"{name} stopped" in output, output[-2000:]
    assert (tmp_path / "tokens.yaml").exists()
    assert proc.returncode is not None


def test_bench_relay_publishes_every_event_it_wrote_and_prints_figures(process_env):
    result = run("bench-relay", "--events", "60", "--per-commit", "4", env=process_env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["events"] == 60 and figures["published_per_s"] > 0


def test_bench_audit_records_a_chain_that_verifies_and_prints_figures(process_env):
    result = run("bench-audit", "--acts", "20", env=process_env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["acts"] == 20 and figures["chain_ok"] is True and figures["client_cpu_us_per_act"] > 0


def test_the_desk_serves_tls_with_a_configured_certificate(process_env, tmp_path):
    import grpc
    from onewindow.desk.v1 import desk_pb2, desk_pb2_grpc

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True, timeout=60)
    (tmp_path / "tokens.yaml").write_text("water: water-token-0123456789abcdef\n")
    port = free_port()
    env = {**process_env, "ONEWINDOW_DESK_PORT": str(port), "ONEWINDOW_DESK_TOKENS": str(tmp_path / "tokens.yaml"),
           "ONEWINDOW_TLS_CERT": str(tmp_path / "cert.pem"), "ONEWINDOW_TLS_KEY": str(tmp_path / "key.pem")}
    run("migrate", env=env)
    proc = subprocess.Popen([PYTHON, "-m", "services.apirun", "approval_svc.grpc_api"], cwd=ROOT, env=env)
    try:
        creds = grpc.ssl_channel_credentials((tmp_path / "cert.pem").read_bytes())
        with grpc.secure_channel(f"localhost:{port}", creds) as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            reply = desk_pb2_grpc.DepartmentDeskStub(channel).ListTasks(
                desk_pb2.ListTasksRequest(), metadata=(("authorization", "Bearer water-token-0123456789abcdef"),),
                timeout=10)
            assert list(reply.tasks) == []
        with grpc.insecure_channel(f"localhost:{port}") as plain:  # plaintext is not served
            with pytest.raises(grpc.FutureTimeoutError):
                grpc.channel_ready_future(plain).result(timeout=2)
    finally:
        stop(proc)


def _scratch_env(process_env, tmp_path) -> dict[str, str]:
    """Free ports for every server of the run (two test workers start systems at once: the defaults
    would collide) and a tokens file of its own."""
    ports = {f"ONEWINDOW_{name}_PORT": str(free_port())
             for name in ("INTAKE", "DESK", "SUPERVISION", "IDENTITY", "WEB")}
    return {**process_env, **ports, "ONEWINDOW_DESK_TOKENS": str(tmp_path / "tokens.yaml")}


@pytest.fixture
def scratch_env(process_env, tmp_path):
    """The environment of a demo or load run, whose scratch database is dropped afterwards."""
    from services.db import drop_database
    from tooling.system import scratch_settings

    env = _scratch_env(process_env, tmp_path)
    yield env
    base = SystemSettings(database_url=process_env["ONEWINDOW_DATABASE_URL"])
    for name in ("demo", "load"):
        drop_database(scratch_settings(base, name).database_url)


def test_a_load_beside_a_running_system_on_the_same_broker_is_refused_and_touches_nothing(scratch_env):
    """A scratch run empties every handler's queue and consumes them: beside `./onewindow up` on the
    same broker the two would take each other's messages. It stops first, naming what it found."""
    import kombu

    from intake_svc.service import IntakeService
    from routing_svc.service import RoutingService
    from services.bus import declare_queues

    url = scratch_env["ONEWINDOW_AMQP_URL"]
    (consumed,) = declare_queues(url, "routing", RoutingService)
    waiting = declare_queues(url, "intake", IntakeService)[0]
    with kombu.Connection(url) as conn, kombu.Connection(url) as running:
        channel = conn.channel()
        kombu.Producer(channel).publish({"waiting": True}, routing_key=waiting, serializer="json")
        consumer = kombu.Consumer(running.channel(), [kombu.Queue(consumed, no_declare=True)], callbacks=[])
        consumer.consume()  # a running system's routing-bus, say
        result = run("load", "--cases", "1", env=scratch_env)
        assert result.returncode == 1
        assert "another system consumes this broker's queues" in result.stderr and consumed in result.stderr
        assert "Traceback" not in result.stderr
        # nothing purged: the message waiting for the running system is still there
        assert kombu.Queue(waiting, no_declare=True)(channel).get().payload == {"waiting": True}


def test_demo_plays_the_day_and_ends_with_the_json_line(scratch_env):
    result = run("demo", env=scratch_env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["cases"] == figures["concluded"] == 8 and figures["lost"] == figures["duplicated"] == 0
    # named people at their posts: each case accepted by a person, the planning permits passed through
    # B covering for A, then the pool and the manager, and signed off
    assert all("accepted by " in row["notes"] for row in figures["table"])
    assert "the task waits in the pool: True" in result.stderr and "receives it from the manager" in result.stderr
    assert sum("signed off by approver and checker" in row["notes"] for row in figures["table"]) == 2
    assert {"cases_per_s", "p50_ms", "p99_ms"} <= set(figures)
    assert "139****" in result.stdout  # the applicant's view is masked
    assert {row["result"] for row in figures["table"]} == {"issued"}


def test_load_runs_cases_and_reports_throughput_and_latency(scratch_env):
    result = run("load", "--cases", "40", "--rate", "20", "--mix", "TZ-002=3,MZ-001=1", env=scratch_env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["cases"] == figures["concluded"] == 40 and figures["lost"] == figures["duplicated"] == 0
    assert figures["p99_ms"] >= figures["p50_ms"] > 0 and figures["cores"] >= 1 and not figures["errors"]
    bad = run("load", "--mix", "TZ-002=x", env=scratch_env)
    assert bad.returncode == 2 and "--mix" in bad.stderr


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def _descendants(pid: int) -> dict[int, str]:
    """Every process under `pid`, with its command line."""
    children, found, todo = _children(), {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            with contextlib.suppress(OSError):
                found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.timeout(400)  # its own waits (start, flow, stop) are 120 s each: a loaded machine needs them all
def test_a_terminated_chaos_run_stops_its_servers_and_processes(process_env):
    proc = subprocess.Popen([ONEWINDOW, "chaos", "--fault", "poison", "--cases-per-fault", "2000", "--rate", "2"],
                            cwd=ROOT, env=process_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "private PostgreSQL" not in line:
            line = proc.stderr.readline()
            assert line, "chaos ended before starting its servers"
        postgres_port, rabbit_port = (int(p) for p in re.findall(r"on port (\d+)", line))

        def every_process_started():
            found = _descendants(proc.pid)
            started = [c for c in found.values() if "services.busrun" in c or "services.apirun" in c
                       or "web_front.run" in c]
            return found if len(started) == len(commands(PYTHON)) else None
        processes = wait_until(every_process_started, timeout=120, what="every process of the run started")

        def cases_flowing():
            with contextlib.suppress(psycopg.Error), psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{postgres_port}/onewindow", connect_timeout=5) as conn:
                return conn.execute("SELECT count(*) FROM intake.cases").fetchone()[0] > 0
        wait_until(cases_flowing, timeout=120, what="cases flowing")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert [c for pid, c in processes.items() if _running(pid)] == []
    for port in (postgres_port, rabbit_port):
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
