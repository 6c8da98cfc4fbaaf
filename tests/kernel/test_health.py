"""Health as Kubernetes reads it: a process is alive as soon as it runs, ready only once its broker,
database and migrations are, and a gRPC API's health service says the same; a bad configuration
stops a process at once with every problem named."""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.db import drop_database, ensure_database
from tests.conftest import PYTHON, ROOT, _with_path
from tests.support import free_port, stop, wait_until
from tooling.processes import commands

ARGV = dict(commands(PYTHON))


def probe(port: int, path: str) -> tuple[int, dict]:
    """(HTTP status, JSON body); (0, {}) while nothing listens yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except urllib.error.URLError:
        return 0, {}


def readyz_until(port: int, predicate, what: str) -> tuple[int, dict]:
    def attempt():
        reply = probe(port, "/readyz")
        return reply if predicate(*reply) else None
    return wait_until(attempt, timeout=60, what=what)


@pytest.fixture
def empty_database(database_url):
    """A database with no migrations applied yet."""
    url = _with_path(database_url, f"/onewindow_health_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture
def start(process_env):
    procs = []

    def start(name: str, **env: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = subprocess.Popen(ARGV[name], cwd=ROOT, env={**process_env, "ONEWINDOW_METRICS_PORT": str(port), **env},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        return proc, port

    yield start
    for proc in procs:  # what a test left running is killed: the tests that stop a process assert how
        if proc.poll() is None:  # (a bus process without its database took 10 s to stop)
            proc.kill()
        proc.wait()


def migrate(env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "-m", "tooling.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True,
                   timeout=120)


def test_a_bus_process_is_alive_at_once_and_ready_only_once_migrated(start, empty_database, process_env):
    proc, port = start("routing-bus", ONEWINDOW_DATABASE_URL=empty_database)
    status, body = readyz_until(port, lambda _, body: body.get("process") == "ok", "the process to start")
    assert status == 503 and body["broker"] == body["database"] == "ok"
    assert "not applied" in body["migrations:routing"] and "onewindow migrate" in body["migrations:routing"]
    assert probe(port, "/livez") == (200, {"status": "alive"})
    migrate({**process_env, "ONEWINDOW_DATABASE_URL": empty_database})
    status, body = readyz_until(port, lambda status, _: status == 200, "readiness")
    assert set(body.values()) == {"ok"}
    assert stop(proc) == 0


def test_a_bus_process_without_its_database_is_alive_but_not_ready(start):
    _, port = start("notify-bus", ONEWINDOW_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    status, body = readyz_until(port, lambda _, body: "database" in body, "a readiness answer")
    assert status == 503 and body["database"].startswith("OperationalError")
    assert probe(port, "/livez")[0] == 200


def test_an_api_serves_grpc_health_from_the_same_checks(start, empty_database, process_env):
    grpc_port = free_port()
    proc, port = start("intake-api", ONEWINDOW_DATABASE_URL=empty_database, ONEWINDOW_INTAKE_PORT=str(grpc_port))
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        def check():
            return health.Check(health_pb2.HealthCheckRequest(), timeout=5, wait_for_ready=True).status

        assert check() == health_pb2.HealthCheckResponse.NOT_SERVING
        assert probe(port, "/readyz")[0] == 503
        migrate({**process_env, "ONEWINDOW_DATABASE_URL": empty_database})
        wait_until(lambda: check() == health_pb2.HealthCheckResponse.SERVING, what="SERVING")
        assert probe(port, "/readyz")[0] == 200
        watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=30)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        proc.terminate()  # health turns NOT_SERVING before the server stops taking calls
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
    assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("name", ["routing-bus", "intake-api"])
def test_a_bad_configuration_stops_a_process_naming_every_problem(start, name):
    proc, _ = start(name, ONEWINDOW_AMQP_URL="http://broker", ONEWINDOW_RELAY_BATCH="0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "ONEWINDOW_AMQP_URL: expected amqp://" in out and "ONEWINDOW_RELAY_BATCH" in out
