import datetime as dt

import pytest

from services.contracts import ContractError, load_events, new_envelope, parse_envelope
from services.timesource import CHINA

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=CHINA)
ACCEPTED = {
    "item_code": "MZ-001", "kind": "promised", "level": "township", "organisation": "zhangqiao-desk",
    "channel": "proxy_agent", "first_clerk": "clerk-1", "agent": "agent-1",
    "accepted_on": "2026-03-02", "promised_deadline": "2026-03-30",
}


def test_an_envelope_survives_the_wire():
    envelope = new_envelope("intake", "ApplicationAccepted", "C-1", ACCEPTED, NOW)
    wire = envelope.to_wire()
    assert wire["type"] == "ApplicationAccepted" and wire["version"] == 1 and wire["case_number"] == "C-1"
    assert parse_envelope(wire) == envelope


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda w: w.update(type="ApplicationAcceptedd"), "unknown event"),
        (lambda w: w.update(version=9), "unknown event ApplicationAccepted v9"),
        (lambda w: w["payload"].pop("item_code"), "item_code"),
        (lambda w: w["payload"].update(level="province"), "level"),
        (lambda w: w.pop("occurred_at"), "not an onewindow envelope"),
        (lambda w: w.update(id="not-a-uuid"), "not an onewindow envelope"),
    ],
)
def test_a_message_that_breaks_its_contract_is_refused(change, reason):
    wire = new_envelope("intake", "ApplicationAccepted", "C-1", ACCEPTED, NOW).to_wire()
    change(wire)
    with pytest.raises(ContractError, match=reason):
        parse_envelope(wire)


def test_only_the_producer_publishes_an_event():
    with pytest.raises(ContractError, match="published by intake"):
        new_envelope("routing", "ApplicationAccepted", "C-1", ACCEPTED, NOW)


def test_every_event_is_past_tense_and_has_known_services():
    services = {"intake", "routing", "approval", "notify", "supervision", "ledger"}
    for (name, _), spec in load_events().items():
        assert name.endswith(("ed", "Withdrawn")), name  # past participles, regular or not
        assert spec.producer in services


def test_a_consumer_reads_the_payload_typed_by_its_producers_contract():
    envelope = parse_envelope(new_envelope("intake", "ApplicationAccepted", "C-1", ACCEPTED, NOW).to_wire())
    body = envelope.body
    assert type(body).__name__ == "ApplicationAccepted" and type(body).__module__ == "intake_svc.events"
    assert body.accepted_on == dt.date(2026, 3, 2) and body.channel.value == "proxy_agent"
