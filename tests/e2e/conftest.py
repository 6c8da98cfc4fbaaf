"""The whole system for end-to-end tests: every process its own OS process, on a database and a
RabbitMQ virtual host of the test module's own, with free ports and fresh department tokens."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

from services.db import drop_database
from tests.clients import Running
from tests.conftest import _rabbitmqctl
from tests.support import free_port, free_port_block
from tooling.processes import commands
from tooling.settings import SystemSettings
from tooling.system import System


@contextmanager
def isolated_settings(tmp, **overrides):
    """Settings on a database and a RabbitMQ virtual host of their own (both dropped at the end),
    free API ports and a tokens file in `tmp`."""
    base = SystemSettings()
    name = uuid.uuid4().hex[:10]
    vhost = f"ow-e2e-{name}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, urlsplit(base.amqp_url).username or "guest", ".*", ".*", ".*")
    settings = base.model_copy(update={
        "database_url": urlunsplit(urlsplit(base.database_url)._replace(path=f"/onewindow_e2e_{name}")),
        "amqp_url": urlunsplit(urlsplit(base.amqp_url)._replace(path=f"/{vhost}")),
        "intake_port": free_port(), "desk_port": free_port(), "supervision_port": free_port(),
        "identity_port": free_port(), "desk_tokens": tmp / "desk-tokens.yaml", "signing_keys": tmp / "signing-keys.yaml",
        "web_port": free_port(), "web_secret": tmp / "web-secret.yaml", "relay_poll_seconds": 0.5, **overrides})
    try:
        yield settings
    finally:
        drop_database(settings.database_url)
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def isolated_system(tmp, replicas: int = 1, **overrides):
    """Every process (`replicas` copies of each) on a database and a virtual host of their own."""
    with isolated_settings(tmp, **overrides) as settings:
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
