"""The whole system for end-to-end tests: every process its own OS process, on a database and a
RabbitMQ virtual host of the test module's own, with free ports and fresh department tokens."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

from services.db import drop_database, ensure_database
from tests.clients import Running
from tests.conftest import VHOSTS, migrated_template, vhost_url
from tests.support import free_port, free_port_block
from tooling.processes import commands
from tooling.settings import SystemSettings
from tooling.system import System


@contextmanager
def isolated_settings(tmp, migrated: bool = False, **overrides):
    """Settings on a database (dropped at the end) and a RabbitMQ virtual host of their own, free
    API ports and a tokens file in `tmp`. `migrated`: the database starts as a copy of a migrated
    one (tests.conftest.migrated_template); otherwise empty."""
    base = SystemSettings()
    name = uuid.uuid4().hex[:10]
    settings = base.model_copy(update={
        "database_url": urlunsplit(urlsplit(base.database_url)._replace(path=f"/onewindow_e2e_{name}")),
        "amqp_url": vhost_url(VHOSTS.take()),
        "intake_port": free_port(), "desk_port": free_port(), "supervision_port": free_port(),
        "identity_port": free_port(), "desk_tokens": tmp / "desk-tokens.yaml", "signing_keys": tmp / "signing-keys.yaml",
        "web_port": free_port(), "web_secret": tmp / "web-secret.yaml", "relay_poll_seconds": 0.5, **overrides})
    if migrated:
        ensure_database(settings.database_url, template=migrated_template())
    try:
        yield settings
    finally:
        drop_database(settings.database_url)


@contextmanager
def isolated_system(tmp, replicas: int = 1, **overrides):
    """Every process (`replicas` copies of each) on a database and a virtual host of their own."""
    with isolated_settings(tmp, migrated=True, **overrides) as settings:
        # every process serves /metrics, on consecutive ports in the order of `commands()`
        system = System(settings, tmp / "logs", metrics_base=free_port_block(len(commands("python")) * replicas),
                        replicas=replicas)
        with system:
            running = Running(settings, system)
            yield running
            running.close()


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with isolated_system(tmp_path_factory.mktemp("system")) as running:
        yield running
