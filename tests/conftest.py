"""Fixtures on the real RabbitMQ and PostgreSQL: each test run gets its own database, and each
test that needs them its own RabbitMQ virtual host and its own schema; `system`, the whole hall in
this process (tooling.inprocess) for the flow stories (tests/e2e overrides it with OS processes)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from services.db import KERNEL_MIGRATIONS, drop_database, ensure_database, migrate
from tests.clients import Running
from tests.support import free_port
from tooling.inprocess import InProcessHall
from tooling.settings import SystemSettings

ROOT = Path(__file__).resolve().parent.parent


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _with_path(SystemSettings().database_url, f"/onewindow_test_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    yield url
    drop_database(url)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_url() -> str:
    """A fresh RabbitMQ virtual host for this test (made with rabbitmqctl on the local broker)."""
    vhost = f"ow-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    user = urlsplit(SystemSettings().amqp_url).username or "guest"
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    yield _with_path(SystemSettings().amqp_url, f"/{vhost}")
    _rabbitmqctl("delete_vhost", vhost)


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
    try:
        with InProcessHall(settings, time) as hall:
            running = Running(settings, hall)
            yield running
            running.close()
    finally:
        drop_database(settings.database_url)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("hall")) as running:
        yield running
