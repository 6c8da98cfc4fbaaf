"""A real Prometheus scrapes every process's /metrics while cases flow through the OS processes,
and finds the kernel's and the business series."""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from tests.flow_steps import concluded_case
from tests.support import free_port, wait_until
from tooling.processes import commands

pytestmark = pytest.mark.slow


def _prometheus(path: str, port: int, **query) -> dict:
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(query)}"
    return json.loads(urllib.request.urlopen(url, timeout=5).read())["data"]


def test_a_real_prometheus_scrapes_every_process_and_finds_the_business_series(system, tmp_path):
    assert shutil.which("prometheus"), "Debian's prometheus package is needed (apt-get install prometheus)"
    concluded_case(system)
    names = [name for name, _ in commands("python")]
    base = system.system.metrics_base
    targets = "\n".join(f"      - targets: ['127.0.0.1:{base + i}']\n        labels: {{process: {name}}}"
                        for i, name in enumerate(names))
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
                      f"scrape_configs:\n  - job_name: onewindow\n    static_configs:\n{targets}\n")
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def all_up():
            try:
                up = _prometheus("/api/v1/query", port, query='up{job="onewindow"} == 1')["result"]
            except OSError:
                return None
            return up if {r["metric"]["process"] for r in up} == set(names) else None

        wait_until(all_up, timeout=60, what=f"every process up in Prometheus (see {tmp_path / 'prometheus.log'})")

        def series(query: str):
            return wait_until(lambda: _prometheus("/api/v1/query", port, query=query)["result"], timeout=30,
                              what=query)

        handled = series("sum by (process) (onewindow_messages_handled_total)")
        assert {r["metric"]["process"] for r in handled} == {n for n in names if n.endswith("-bus")}
        grpc_calls = series("sum by (process) (onewindow_grpc_requests_total)")
        assert {r["metric"]["process"] for r in grpc_calls} >= {"intake-api", "approval-api"}
        assert float(series("onewindow_cases_accepted_month")[0]["value"][1]) >= 1
        assert float(series("onewindow_cases_concluded_month")[0]["value"][1]) >= 1
        assert 0 <= float(series("onewindow_on_time_ratio")[0]["value"][1]) <= 1
        by_department = series('onewindow_department_month{figure="accepted"}')
        assert {r["metric"]["department"] for r in by_department} <= set(system.tokens)  # departments' codes
        assert sum(float(r["value"][1]) for r in by_department) == \
            float(series("onewindow_cases_accepted_month")[0]["value"][1])
        assert {r["metric"]["level"] for r in series('onewindow_level_month{figure="concluded"}')} \
            <= {"village", "township", "county"}
        assert series("onewindow_dead_letters")[0]["metric"]["process"] == "supervision-api"
        assert series("onewindow_complaints_overdue")
        # bounded labels: no case numbers anywhere
        labels = _prometheus("/api/v1/labels", port)
        assert not {"case_number", "case", "applicant"} & set(labels)
    finally:
        prom.terminate()
        prom.wait(10)
        log.close()
