"""The fault suite of `onewindow chaos`, shorter: every fault once (kill -9 of each of the eight
processes, RabbitMQ and PostgreSQL restarted, poison messages, events published again and out of
order), each during a small batch of load, on a PostgreSQL and a RabbitMQ of the run's own. After
each fault and at the end, the books balance: nothing lost, nothing twice, every check passes."""
from __future__ import annotations

import json

import pytest

from tooling.chaos import FAULTS, report_lines, run_chaos
from tooling.settings import SystemSettings

# The whole run happens in the module's fixture: a dozen faults, each with its batch and drain.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CASES_PER_FAULT = 16


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    return run_chaos(SystemSettings(), cases_per_fault=CASES_PER_FAULT, rate=8.0, echo=lambda _: None,
                     log_dir=tmp_path_factory.mktemp("chaos"))


def test_no_fault_loses_or_duplicates_anything(chaos):
    assert [row["fault"] for row in chaos["faults"]] == list(FAULTS)
    failed = {row["fault"]: row["findings"] for row in chaos["faults"] if row["lost"] or row["duplicated"]
              or row["broken"]}
    assert failed == {}
    assert (chaos["final"]["lost"], chaos["final"]["duplicated"], chaos["final"]["broken"]) == (0, 0, 0), \
        chaos["final"]["findings"]
    assert chaos["totals"]["lost"] == chaos["totals"]["duplicated"] == chaos["totals"]["broken"] == 0
    assert chaos["ok"] is True


def test_every_batch_was_accepted_whole_and_faults_struck_cases_in_flight(chaos):
    assert all(row["cases"] == CASES_PER_FAULT for row in chaos["faults"]), chaos["faults"]
    assert chaos["totals"]["in_flight"] > 0
    poison = next(row for row in chaos["faults"] if row["fault"] == "poison")
    assert poison["detail"] == {"poison": 3}
    duplicates = next(row for row in chaos["faults"] if row["fault"] == "duplicates")
    assert duplicates["detail"]["dropped"] == duplicates["detail"]["expected_drops"] > 0


def test_the_report_is_a_table_then_a_json_line(chaos):
    lines = report_lines(chaos)
    assert lines[0].split()[:2] == ["fault", "cases"]
    assert [line.split()[0] for line in lines[2:2 + len(FAULTS)]] == list(FAULTS)
    assert lines[-1].startswith("chaos: every case concluded once")
    row_keys = {"fault", "cases", "in_flight", "lost", "duplicated", "broken", "ready_s", "recovery_s", "client",
                "detail", "findings", "degraded"}
    decoded = json.loads(json.dumps(chaos, ensure_ascii=False))
    assert all(set(row) == row_keys for row in decoded["faults"])
    assert {"cases", "in_flight", "lost", "duplicated", "broken", "recovery_max_s"} <= set(decoded["totals"])
    assert {"faults", "totals", "final", "ok", "gateway", "cases_per_fault", "rate", "duration_s"} <= set(decoded)
