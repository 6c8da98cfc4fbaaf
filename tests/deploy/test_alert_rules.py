"""The Prometheus alert rules and scrape config are valid, and their promtool unit tests pass.

Needs `promtool` from Debian's `prometheus` package; without it these tests fail rather than skip,
so that untested alert rules never pass for tested ones.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = Path("deploy") / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERT_TESTS = PROMETHEUS / "alerts.test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"


def promtool(*args: str) -> None:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not installed: install Debian's `prometheus` package (apt-get install prometheus)",
                    pytrace=False)
    done = subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (
        f"promtool {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )


def test_the_alert_rules_are_valid():
    promtool("check", "rules", str(ALERTS))


def test_the_alert_rule_unit_tests_pass():
    promtool("test", "rules", str(ALERT_TESTS))


def test_the_scrape_config_is_valid():
    promtool("check", "config", str(CONFIG))


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not():
    rules = yaml.safe_load((ROOT / ALERTS).read_text(encoding="utf-8"))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    assert alerts, f"no alerts in {ALERTS}"

    tests = yaml.safe_load((ROOT / ALERT_TESTS).read_text(encoding="utf-8"))
    fires, quiet = set(), set()
    for test in tests["tests"]:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])

    assert not alerts - fires, f"alerts with no test in {ALERT_TESTS} where they fire: {sorted(alerts - fires)}"
    assert not alerts - quiet, f"alerts with no test in {ALERT_TESTS} where they stay quiet: {sorted(alerts - quiet)}"
    assert not (fires | quiet) - alerts, f"{ALERT_TESTS} tests alerts that do not exist: {sorted((fires | quiet) - alerts)}"
