"""A running hall upgrades in place: the previous release (the commit before the four-layer layout)
migrates its store and broker and takes applications, its consumers stop with messages waiting in
their queues; this release migrates the same store and broker (`prepare`, as `./onewindow migrate`
does) and starts, and every case still concludes exactly once."""
from __future__ import annotations

import subprocess

import grpc
import kombu
import pytest
from onewindow.intake.v1 import intake_pb2 as ipb

from tests.clients import Running
from tests.conftest import PYTHON, ROOT
from tests.e2e.conftest import isolated_settings
from tests.flow_steps import approve, case_status, submission, tasks_of
from tests.support import wait_until
from tooling.system import System, environment

pytestmark = pytest.mark.slow

PREVIOUS_RELEASE = "ab2a4619d1dd6c2ac4c324bece8d26556dae088a"
CASES = 6


@pytest.fixture
def settings(tmp_path):
    with isolated_settings(tmp_path) as settings:
        yield settings


def _previous_release(tmp_path):
    tree = tmp_path / "previous"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _queue_depths(amqp_url: str, names: list[str]) -> dict[str, int]:
    with kombu.Connection(amqp_url) as conn:
        channel = conn.channel()
        return {name: channel.queue_declare(name, passive=True).message_count for name in names}


def test_the_previous_release_upgrades_with_messages_waiting_and_every_case_concludes_once(settings, tmp_path):
    tree = _previous_release(tmp_path)
    # the previous release reads the reference files it shipped with (it knows no field added since)
    env = {**environment(settings), "PYTHONPATH": str(tree), "ONEWINDOW_SKIP_SERVICE_CHECK": "1",
           **{f"ONEWINDOW_{name.upper()}": str(tree / "deploy" / f"{name}.yaml") for name in ("org", "catalogue")}}
    old = lambda *argv: [PYTHON, *argv]  # noqa: E731 - run from the old tree, whose packages come first
    migrated = subprocess.run(old("-c", "from services.cli import main; main()", "migrate"), cwd=tree, env=env,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr

    # The previous release takes applications; only intake runs, so its events wait for the others.
    logs = tmp_path / "old-logs"
    logs.mkdir()
    procs = [subprocess.Popen(old("-m", module, arg), cwd=tree, env=env, stdout=open(logs / f"{i}.log", "wb"),
                              stderr=subprocess.STDOUT)
             for i, (module, arg) in enumerate([("services.apirun", "intake_svc.grpc_api"),
                                                ("services.busrun", "intake_svc.service:IntakeService")])]
    running = Running(settings, None)
    try:
        numbers = [wait_until(lambda: _submit(running), what="the previous release's intake API")
                   for _ in range(CASES)]
        wait_until(lambda: not running.sql("intake", "SELECT 1 FROM outbox WHERE published_at IS NULL"),
                   what="the previous release's relay")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
    waiting = _queue_depths(settings.amqp_url, ["evt-intake-ApplicationAccepted--routing.route_case",
                                                "evt-intake-ApplicationAccepted--supervision.on_accepted",
                                                "evt-intake-ApplicationAccepted--notify.on_accepted"])
    assert set(waiting.values()) == {CASES}, waiting

    # This release: migrate the same store and broker, start every process, decide every task.
    with System(settings, tmp_path / "logs"):
        for number in numbers:
            desk = running.desk("civil_affairs")
            (task,) = tasks_of(desk, number)
            assert approve(desk, task.task_id).case_concluded
        for number in numbers:
            case = case_status(running, number, "concluded")
            assert case.archived and [h.kind for h in case.history].count("concluded") == 1
        assert running.sql("approval", "SELECT count(*), count(DISTINCT envelope->>'case_number') FROM outbox "
                                       "WHERE event_type = 'CaseConcluded'") == [(CASES, CASES)]
        assert running.sql("approval", "SELECT count(*) FROM tasks WHERE status = 'decided'") == [(CASES,)]
        wait_until(lambda: running.sql("supervision", "SELECT count(*) FROM cases WHERE concluded_on IS NOT NULL")
                   == [(CASES,)], what="supervision to see every conclusion")
        assert _queue_depths(settings.amqp_url, list(waiting)) == dict.fromkeys(waiting, 0)
    running.close()


def _submit(running: Running) -> str | None:
    try:
        receipt = running.intake.Submit(submission("MZ-001", "county-desk"), timeout=5)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:
            return None  # not listening yet
        raise
    assert receipt.status == ipb.ACCEPTED
    return receipt.case_number
