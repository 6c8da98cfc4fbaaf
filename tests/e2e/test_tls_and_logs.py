"""The gRPC APIs over TLS, with a certificate made for the test; and the processes' logs, at DEBUG,
hold no secret and no applicant's identity or phone number after a case has gone through."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import grpc
import httpx
import pytest
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc

from services.grpcutil import client_channel
from services.privacy import mask_phone
from tests.e2e.conftest import isolated_system
from tests.flow_steps import approve, case_status, submission, tasks_of
from tests.support import free_port, wait_until
from tooling.processes import commands
from tooling.settings import SystemSettings

pytestmark = pytest.mark.slow


def certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (openssl)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def tls_system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = certificate(tmp, "onewindow")
    password = secrets.token_urlsafe(12)
    base = urlsplit(SystemSettings().database_url)
    database_url = urlunsplit(base._replace(netloc=f"{base.username or 'postgres'}:{password}@{base.hostname}:"
                                                   f"{base.port or 5432}", path=f"/onewindow_tls_{uuid.uuid4().hex[:8]}"))
    overrides = {"tls_cert": cert, "tls_key": key, "web_tls_cert": cert, "web_tls_key": key, "database_url": database_url,
                 # an SMS gateway that is not there: sending fails, is retried and logged, with its token
                 "sms_gateway_url": f"http://127.0.0.1:{free_port()}/sms",
                 "sms_gateway_token": secrets.token_urlsafe(24), "notify_backoff_seconds": 0.2}
    level = os.environ.get("ONEWINDOW_LOG_LEVEL")
    os.environ["ONEWINDOW_LOG_LEVEL"] = "DEBUG"  # the processes inherit it: the most that is ever logged
    try:
        with isolated_system(tmp, **overrides) as running:
            yield running, password
    finally:
        if level is None:
            os.environ.pop("ONEWINDOW_LOG_LEVEL")
        else:
            os.environ["ONEWINDOW_LOG_LEVEL"] = level


def test_the_apis_speak_tls_only_and_a_case_goes_through(tls_system, tmp_path):
    running, _ = tls_system
    request = submission("MZ-001", "county-desk")
    receipt = running.intake.Submit(request)  # over TLS, trusting the server's certificate
    assert receipt.status == ipb.ACCEPTED
    desk = running.desk("civil_affairs")
    (task,) = tasks_of(desk, receipt.case_number)
    assert approve(desk, task.task_id).case_concluded
    case_status(running, receipt.case_number, "concluded")

    token = (("authorization", f"Bearer {running.tokens['county-desk']}"),)
    plaintext = grpc.insecure_channel(f"127.0.0.1:{running.settings.intake_port}")
    stranger_cert, _ = certificate(tmp_path, "stranger")
    untrusting = client_channel(f"127.0.0.1:{running.settings.intake_port}", stranger_cert)
    for channel in (plaintext, untrusting):
        with channel, pytest.raises(grpc.RpcError) as refused:
            intake_pb2_grpc.IntakeStub(channel).GetCase(ipb.GetCaseRequest(case_number=receipt.case_number),
                                                        metadata=token, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_web_front_serves_https_itself_with_host_only_secure_cookies(tls_system):
    running, _ = tls_system
    cert = running.settings.web_tls_cert
    with httpx.Client(base_url=f"https://127.0.0.1:{running.settings.web_port}", verify=str(cert)) as browser:
        page = browser.get("/sign-in")  # over TLS a person may sign in from anywhere
        assert page.status_code == 200 and "工作人员登录" in page.text
        assert "最低生活保障" in browser.get("/guide/MZ-001").text  # the front reached intake over TLS
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("__Host-csrf=") and "secure" in cookie.lower() and "path=/" in cookie.lower()
    with pytest.raises(httpx.HTTPError):  # no plain HTTP beside it
        httpx.get(f"http://127.0.0.1:{running.settings.web_port}/", timeout=5)


def test_no_log_line_holds_a_secret_or_an_applicants_numbers(tls_system):
    running, password = tls_system
    request = submission("MZ-001", "county-desk")
    receipt = running.intake.Submit(request)
    desk = running.desk("civil_affairs")
    (task,) = tasks_of(desk, receipt.case_number)
    approve(desk, task.task_id)
    case_status(running, receipt.case_number, "concluded")
    # the applicant's SMS was tried against the missing gateway until it was given up, and logged
    wait_until(lambda: running.sql("notify", "SELECT count(*) FROM deliveries WHERE case_number = %s "
                                             "AND status = 'dead'", [receipt.case_number])[0][0],
               what="an SMS notice given up")
    running.system.stop()  # every line written
    logs = {path.name: path.read_text(errors="replace") for path in running.system.log_dir.glob("*.log")}
    assert len(logs) == len(commands("python")) and all(" DEBUG " in text for name, text in logs.items()
                                                        if "-bus" in name)
    applicant = request.applicant
    assert mask_phone(applicant.phone) in logs["notify-bus.log"]  # logged, and masked as it was written
    forbidden = {"identity number": applicant.id_number, "phone": applicant.phone, "database password": password,
                 "SMS token": running.settings.sms_gateway_token,
                 **{f"token of {holder}": token for holder, token in running.tokens.items()}}
    found = [(what, name) for what, value in forbidden.items() for name, text in logs.items() if value in text]
    assert found == []
    any_id = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
    any_mobile = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
    assert [name for name, text in logs.items() if any_id.search(text) or any_mobile.search(text)] == []
