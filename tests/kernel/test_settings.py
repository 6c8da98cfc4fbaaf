"""Settings are read once, checked, when a process starts: never at import time, and the log level
is one of them (ONEWINDOW_LOG_LEVEL)."""
from __future__ import annotations

import logging
import subprocess

import pytest

from services import logs
from services.config import ConfigError, load_settings
from tests.conftest import PYTHON, ROOT


def test_the_log_level_is_a_checked_setting(monkeypatch):
    monkeypatch.setenv("ONEWINDOW_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="ONEWINDOW_LOG_LEVEL"):
        load_settings()
    monkeypatch.setenv("ONEWINDOW_LOG_LEVEL", "WARNING")
    settings = load_settings()
    try:
        logs.configure_from(settings)
        assert logging.getLogger().level == logging.WARNING
    finally:
        logs.configure()


def test_no_service_reads_its_settings_at_import_but_its_process_refuses_them_at_start():
    env = {"ONEWINDOW_SUPERVISION_POLL_SECONDS": "soon", "ONEWINDOW_NOTIFY_POLL_SECONDS": "-1", "PATH": "/usr/bin:/bin"}
    modules = ["intake_svc.service", "routing_svc.service", "approval_svc.service", "notify_svc.service",
               "supervision_svc.service", "intake_svc.grpc_api", "approval_svc.grpc_api", "supervision_svc.grpc_api"]
    imported = subprocess.run([PYTHON, "-c", "; ".join(f"import {m}" for m in modules)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    started = subprocess.run([PYTHON, "-m", "services.busrun", "supervision_svc.service:SupervisionService"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2 and "ONEWINDOW_SUPERVISION_POLL_SECONDS" in started.stderr


def test_a_broker_cluster_is_its_nodes_urls_each_checked_and_each_password_hidden(monkeypatch):
    from services.config import hide_password

    monkeypatch.setenv("ONEWINDOW_AMQP_URL", "amqp://u:pw@10.0.0.1:5672/;amqp://u:pw@10.0.0.2:5672/")
    monkeypatch.setenv("ONEWINDOW_QUEUE_TYPE", "quorum")
    settings = load_settings()
    assert settings.queue_type == "quorum"
    assert hide_password(settings.amqp_url) == "amqp://u:***@10.0.0.1:5672/;amqp://u:***@10.0.0.2:5672/"
    monkeypatch.setenv("ONEWINDOW_AMQP_URL", "amqp://u:pw@10.0.0.1:5672/;10.0.0.2")
    with pytest.raises(ConfigError, match="ONEWINDOW_AMQP_URL"):
        load_settings()
    monkeypatch.setenv("ONEWINDOW_AMQP_URL", "amqp://u:pw@10.0.0.1:5672/")
    monkeypatch.setenv("ONEWINDOW_QUEUE_TYPE", "stream")
    with pytest.raises(ConfigError, match="ONEWINDOW_QUEUE_TYPE"):
        load_settings()
