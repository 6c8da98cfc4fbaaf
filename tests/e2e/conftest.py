"""The whole system for end-to-end tests: every process its own OS process, on a database and a
RabbitMQ virtual host of the test module's own, with free ports and fresh department tokens."""
from __future__ import annotations

import shutil
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import sync_playwright

from services.db import drop_database, ensure_database
from tests.clients import Running
from tests.conftest import VHOSTS, migrated_template, vhost_url
from tests.support import free_port, free_port_block
from tooling.processes import commands
from tooling.settings import SystemSettings
from tooling.system import System

from .browser import CHROMIUM, WEIGHTS


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


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    # the browser reaches the web front from 127.0.0.1, which plays the trusted proxy: a request
    # that carries X-Forwarded-For is another client behind it
    with isolated_system(tmp_path_factory.mktemp("web"), web_trusted_proxies="127.0.0.1",
                         track_failures_per_case=2, complaints_per_client=2, board_poll_seconds=0.5) as running:
        running.web = f"http://127.0.0.1:{running.settings.web_port}"
        yield running
    if WEIGHTS:
        print("\npage weights (bytes transferred): " + ", ".join(f"{k} {v}" for k, v in WEIGHTS.items()))


@pytest.fixture(scope="module")
def chromium():
    assert shutil.which("chromium"), "Debian's chromium is needed (apt-get install chromium fonts-wqy-microhei)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()
