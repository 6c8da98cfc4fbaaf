"""What is derived from the code stays true: the events table and who consumes what, the handler
ids that name queues and inbox keys, the roles of every API method."""
from __future__ import annotations

import pytest
from onewindow.desk.v1 import desk_pb2
from onewindow.identity.v1 import identity_pb2
from onewindow.intake.v1 import intake_pb2
from onewindow.supervision.v1 import supervision_pb2

from services.bus import Handler, queue_name, subscribe
from services.contracts import load_events
from tests.conftest import ROOT
from tooling.events import consumers, events_table
from tooling.processes import SERVICES

# The queues of the release before the new layout (`evt-<source>-<event>--<service>.<handler id>`):
# a running hall upgrades in place, so not one of them may change its name.
PREVIOUS_QUEUES = {
    "evt-routing-CaseRouted--intake.record_routed", "evt-approval-StageOpened--intake.record_stage_opened",
    "evt-approval-SupplementRequested--intake.record_supplement_requested",
    "evt-approval-TaskPaused--intake.record_task_paused", "evt-approval-TaskResumed--intake.record_task_resumed",
    "evt-approval-CoHandlingRequested--intake.record_co_handling_requested",
    "evt-approval-CaseConcluded--intake.record_concluded", "evt-notify-NoticeDelivered--intake.record_notice",
    "evt-intake-ApplicationAccepted--routing.route_case",
    "evt-routing-CaseRouted--approval.open_case", "evt-intake-MaterialsSupplied--approval.resume_supplied",
    "evt-intake-ApplicationWithdrawn--approval.close_withdrawn",
    "evt-supervision-CommitmentLapsed--approval.close_lapsed",
    "evt-intake-ApplicationAccepted--notify.on_accepted", "evt-intake-SupplementNoticeIssued--notify.on_one_time_notice",
    "evt-intake-ApplicationRejected--notify.on_rejected", "evt-approval-StageOpened--notify.on_stage_opened",
    "evt-approval-SupplementRequested--notify.on_supplement_requested",
    "evt-approval-TaskPaused--notify.on_task_paused", "evt-approval-CaseConcluded--notify.on_concluded",
    "evt-supervision-ProgressNoticeRequired--notify.on_progress_due",
    "evt-supervision-RectificationCompleted--notify.on_rectified",
    "evt-supervision-ComplaintAnswered--notify.on_complaint_answered",
    "evt-supervision-WarningRaised--notify.on_warning", "evt-supervision-WarningInstructed--notify.on_instruction",
    "evt-intake-ApplicationAccepted--supervision.on_accepted", "evt-intake-ApplicationRejected--supervision.on_rejected",
    "evt-intake-SupplementNoticeIssued--supervision.on_notice", "evt-routing-CaseRouted--supervision.on_routed",
    "evt-intake-MaterialsSupplied--supervision.on_materials", "evt-intake-ApplicationWithdrawn--supervision.on_withdrawn",
    "evt-approval-StageOpened--supervision.on_stage_opened", "evt-approval-CoHandlingRequested--supervision.on_co_handling",
    "evt-approval-SupplementRequested--supervision.on_supplement_requested",
    "evt-approval-TaskPaused--supervision.on_task_paused", "evt-approval-TaskResumed--supervision.on_task_resumed",
    "evt-approval-TaskDecided--supervision.on_task_decided", "evt-approval-CaseConcluded--supervision.on_concluded",
}


def test_the_queues_of_the_previous_release_are_kept():
    queues = {queue_name(s.name, h) for s in SERVICES for h in s.handlers()}
    assert PREVIOUS_QUEUES <= queues, f"renamed or dropped: {sorted(PREVIOUS_QUEUES - queues)}"


def test_every_handler_listens_to_an_event_its_source_publishes():
    registry = load_events()
    for service in SERVICES:
        for handler in service.handlers():
            spec = registry.get((handler.event, 1))
            assert spec is not None and spec.producer == handler.source, (service.name, handler)


def test_every_event_is_consumed_or_declared_for_outside_systems():
    consumed = consumers()
    for spec in load_events().values():
        if spec.producer == "ledger":  # the reliability tests' own event
            continue
        assert consumed.get((spec.producer, spec.name)) or spec.outside, \
            f"{spec.name}: no service consumes it; subscribe to it or declare it outside=..."


def test_the_architecture_doc_shows_the_events_as_the_code_has_them():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert events_table() in doc, "docs/architecture.md is out of date: paste `./onewindow events` into it"


def test_the_table_names_the_real_consumers():
    table = events_table()
    assert "| `TaskDecided` | 1 | approval | supervision |" in table
    assert "| `TaskPooled` | 1 | approval | intake, notify |" in table
    assert "| `NoticeFailed` | 1 | notify | outside: " in table


def test_a_handler_id_names_its_queue_and_entrypoint_whatever_the_function_is_called():
    def renamed_function(use_cases, uow, envelope):
        pass

    handler = Handler("intake", "ApplicationAccepted", "route_case", renamed_function)

    @subscribe((handler,))
    class Service:
        name = "routing"

    entry = Service.route_case
    assert not hasattr(Service, "renamed_function") and entry.nameko_entrypoints
    assert queue_name("routing", handler) == "evt-intake-ApplicationAccepted--routing.route_case"
    assert Service.HANDLERS == (handler,)  # the batcher finds the handler of a message by the entrypoint's name


def test_handler_ids_are_unique_in_a_service():
    twice = (Handler("a", "X", "same", print), Handler("a", "Y", "same", print))
    with pytest.raises(ValueError, match="unique"):
        subscribe(twice)


@pytest.mark.parametrize("package, descriptor", [
    ("intake_svc", intake_pb2.DESCRIPTOR.services_by_name["Intake"]),
    ("approval_svc", desk_pb2.DESCRIPTOR.services_by_name["DepartmentDesk"]),
    ("supervision_svc", supervision_pb2.DESCRIPTOR.services_by_name["Supervision"]),
    ("identity_svc", identity_pb2.DESCRIPTOR.services_by_name["Identity"]),
])
def test_every_api_method_has_its_roles(package, descriptor):
    import importlib

    access = importlib.import_module(f"{package}.access")
    roles = access.ROLES
    assert access.QUIET <= roles.keys(), "QUIET names a method the API does not have"
    methods = {m.name for m in descriptor.methods}
    assert methods - roles.keys() == set(), "a proto method without roles is refused to everyone: give it roles"
    assert roles.keys() - methods == set(), "roles for a method the API does not have"
    assert all(roles.values())


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_service_readme_names_what_it_consumes_and_publishes(service):
    readme = (ROOT / service.package / "README.md").read_text(encoding="utf-8")
    consumes = readme.partition("**Consumes**")[2].partition("- **")[0]
    publishes = readme.partition("**Publishes**")[2].partition("- **")[0]
    missing = [h.event for h in service.handlers() if f"`{h.event}`" not in consumes]
    missing += [s.name for s in load_events().values() if s.producer == service.name and f"`{s.name}`" not in publishes]
    assert missing == [], f"{service.package}/README.md does not name {missing}"
