"""Fixtures on the real RabbitMQ and PostgreSQL: each test run (each pytest-xdist worker) gets a
PostgreSQL cluster of its own, each test that needs them its own RabbitMQ virtual host and its own
schema or database; `system`, the whole hall in this process (tooling.inprocess) for the flow
stories (tests/e2e overrides it with OS processes)."""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from services.db import KERNEL_MIGRATIONS, drop_database, ensure_database, migrate, service_migrations
from tests.clients import Running
from tests.support import free_port
from tooling.inprocess import InProcessHall
from tooling.processes import SERVICES, WEB_FRONT, WEB_MIGRATIONS
from tooling.sandbox import PrivatePostgres
from tooling.settings import SystemSettings

ROOT = Path(__file__).resolve().parent.parent

# The longest modules (each a minute or more), first: `./onewindow test` runs the suite on two
# pytest-xdist workers, a module at a time each (tooling/cli.py), and a long module started last
# would end the run alone.
LONGEST = ["tests/e2e/test_fuzz_grpc.py", "tests/e2e/test_operations.py", "tests/tooling/test_chaos.py",
           "tests/tooling/test_cli.py", "tests/e2e/test_web.py", "tests/web/test_oversight.py",
           "tests/hall/test_fuzz_loaders.py", "tests/e2e/test_web_department.py", "tests/e2e/test_web_centre.py",
           "tests/web/test_county_it.py", "tests/web/test_centre.py", "tests/web/test_work.py",
           "tests/web/test_agents.py", "tests/flow/test_village_settles.py", "tests/web/test_township.py"]


def pytest_collection_modifyitems(items) -> None:
    rank = {path: i for i, path in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(LONGEST)))  # stable: in-module order kept


def pytest_configure(config) -> None:
    # Each pytest-xdist worker (PYTEST_XDIST_WORKER=gw0, gw1, …) hands out ports from a slice of
    # its own of tooling.sandbox's range: two workers never pick the same free port at once.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if worker.startswith("gw") and count > 1:
        from tooling import sandbox

        low, high = sandbox.PORT_RANGE
        size = (high - low) // count
        index = int(worker[2:])
        sandbox.PORT_RANGE = (low + index * size, low + (index + 1) * size)


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture(scope="session", autouse=True)
def own_postgres():
    """A PostgreSQL cluster of this run's own (tooling.sandbox: the machine's PostgreSQL binaries,
    initdb into a temporary directory, 127.0.0.1 on a free port), for every test and every process
    they start: ONEWINDOW_DATABASE_URL points at it. Two workers' systems of a dozen processes each
    do not fit in the shared server's 100 connections beside other users of it; a cluster of our
    own has room (300) and is deleted whole at the end."""
    root = Path(tempfile.mkdtemp(prefix="onewindow-tests-"))
    os.chmod(root, 0o755)  # the postgres user must reach its data directory
    server = PrivatePostgres(root)
    before = os.environ.get("ONEWINDOW_DATABASE_URL")
    try:
        server.start()
        os.environ["ONEWINDOW_DATABASE_URL"] = server.url("onewindow")
        yield server
    finally:
        if before is None:
            os.environ.pop("ONEWINDOW_DATABASE_URL", None)
        else:
            os.environ["ONEWINDOW_DATABASE_URL"] = before
        try:
            server.stop("immediate")
        except Exception:  # noqa: BLE001 - never started, or already gone: its directory goes all the same
            pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(own_postgres) -> str:
    url = _with_path(SystemSettings().database_url, f"/onewindow_test_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    yield url
    drop_database(url)


@functools.cache
def migrated_template() -> str:
    """The name of a database with every service's migrations applied, made once per run: a hall's
    database is a copy of it (CREATE DATABASE … TEMPLATE), instead of migrating each one anew."""
    url = _with_path(SystemSettings().database_url, "/onewindow_template")
    drop_database(url)
    ensure_database(url)
    for service in SERVICES:
        migrate(url, service.name, service_migrations(service.package))
    migrate(url, WEB_FRONT, [WEB_MIGRATIONS])
    return "onewindow_template"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class VirtualHosts:
    """Fresh RabbitMQ virtual hosts on the local broker, one per test or system that asks, never
    one used twice. They are made a batch at a time with one `rabbitmqctl import_definitions` (each
    rabbitmqctl call starts an Erlang VM: add_vhost and set_permissions took two calls of ~0.7 s per
    host) and deleted together when the run ends, with one `rabbitmqctl eval`."""

    BATCH = 8

    def __init__(self):
        self.fresh: list[str] = []
        self.made: list[str] = []

    def take(self) -> str:
        if not self.fresh:
            self._make()
        return self.fresh.pop()

    def _make(self) -> None:
        names = [f"ow-test-{uuid.uuid4().hex[:10]}" for _ in range(self.BATCH)]
        user = urlsplit(SystemSettings().amqp_url).username or "guest"
        definitions = {"vhosts": [{"name": n} for n in names],
                       "permissions": [{"user": user, "vhost": n, "configure": ".*", "write": ".*", "read": ".*"}
                                       for n in names]}
        fd, path = tempfile.mkstemp(prefix="onewindow-vhosts-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(definitions, out)
            os.chmod(path, 0o644)  # Debian's rabbitmqctl reads it as the rabbitmq user
            _rabbitmqctl("import_definitions", path)
        finally:
            os.unlink(path)
        self.made += names
        self.fresh += names

    def delete_all(self) -> None:
        made, self.made, self.fresh = self.made, [], []
        if not made:
            return
        hosts = ", ".join(f'<<"{name}">>' for name in made)
        try:
            _rabbitmqctl("eval", f'[rabbit_vhost:delete(V, <<"onewindow-tests">>) || V <- [{hosts}]].')
        except subprocess.CalledProcessError:  # a broker without that function: one call per host
            for name in made:
                _rabbitmqctl("delete_vhost", name)


VHOSTS = VirtualHosts()


def pytest_sessionfinish(session) -> None:
    VHOSTS.delete_all()


def vhost_url(vhost: str) -> str:
    return _with_path(SystemSettings().amqp_url, f"/{vhost}")


@pytest.fixture
def amqp_url() -> str:
    """A fresh RabbitMQ virtual host for this test (VirtualHosts)."""
    return vhost_url(VHOSTS.take())


@pytest.fixture
def schema(database_url) -> str:
    """A schema of this test's own with the kernel tables (outbox, inbox)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    migrate(database_url, name, [KERNEL_MIGRATIONS])
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def process_env(database_url, amqp_url, tmp_path) -> dict[str, str]:
    """Environment for a real onewindow process pointed at this test's broker and database."""
    return {**os.environ, "ONEWINDOW_DATABASE_URL": database_url, "ONEWINDOW_AMQP_URL": amqp_url,
            "ONEWINDOW_DESK_TOKENS": str(tmp_path / "desk-tokens.yaml"),
            "ONEWINDOW_SIGNING_KEYS": str(tmp_path / "signing-keys.yaml"), "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1"}


PYTHON = sys.executable


@contextmanager
def in_process_hall(tmp, time=None, **overrides):
    base = SystemSettings()
    settings = base.model_copy(update={
        "database_url": urlunsplit(urlsplit(base.database_url)._replace(
            path=f"/onewindow_flow_{uuid.uuid4().hex[:10]}")),
        "intake_port": free_port(), "desk_port": free_port(), "supervision_port": free_port(),
        "identity_port": free_port(),
        "desk_tokens": tmp / "desk-tokens.yaml", "signing_keys": tmp / "signing-keys.yaml",
        "web_secret": tmp / "web-secret.yaml", **overrides})
    ensure_database(settings.database_url, template=migrated_template())
    try:
        with InProcessHall(settings, time, fresh=False) as hall:
            running = Running(settings, hall)
            yield running
            running.close()
    finally:
        drop_database(settings.database_url)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("hall")) as running:
        yield running
