import datetime as dt
from pathlib import Path

import pytest

from services.clock import CHINA
from services.contracts import REGISTRY, ContractError, events_table, new_envelope, parse_envelope

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
    for (name, _), spec in REGISTRY.items():
        assert name.endswith(("ed", "Withdrawn")), name  # past participles, regular or not
        assert spec.producer in services and set(spec.consumers) <= services


def test_the_architecture_doc_shows_the_registry_as_it_is():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    production = {k: v for k, v in REGISTRY.items() if v.producer != "ledger"}
    table = events_table(production)
    assert table in doc, "docs/architecture.md is out of date: paste `./onewindow events` into it"
