"""Every act names its person, over the real intake API of an in-process hall: a clerk signed in
through the identity service is the first-contact person of what they submit and the person of its
history entries in GetCase; naming another is refused field by field; a department's decision is in
the history; the public Track shows the window and its public phone, never a person."""
from __future__ import annotations

import grpc
import pytest
from google.protobuf import text_format
from onewindow.intake.v1 import intake_pb2 as ipb

from intake_svc.acceptance import SIGNED_IN_CLERK
from services.grpcutil import field_violations
from tests.flow_steps import approve, case_status, submission, tasks_of
from tests.support import wait_until

CLERK, POST = "SX0008", "county-desk/acceptance_clerk/1"  # 田萍 (deploy/staff.yaml)


@pytest.fixture(scope="module")
def clerk(system):
    return system.as_person(system.intake_stub, CLERK)


def test_the_signed_in_clerk_is_the_first_contact_person_and_named_in_the_history(system, clerk):
    request = submission("MZ-001", "county-desk", first_clerk="")
    number = clerk.Submit(request).case_number
    case = clerk.GetCase(ipb.GetCaseRequest(case_number=number))
    received, accepted = case.history[:2]
    assert (received.kind, accepted.kind) == ("received", "accepted")
    for entry in (received, accepted):
        assert entry.actor == CLERK and entry.HasField("by")
        assert (entry.by.staff_number, entry.by.name, entry.by.post, entry.by.organisation) == \
            (CLERK, "田萍", POST, "county-desk")
    assert clerk.Submit(request).case_number == number  # the same request again: the same case

    (task,) = tasks_of(system.desk("civil_affairs"), number)
    approve(system.desk("civil_affairs"), task.task_id)
    case_status(system, number, "concluded")
    decided = wait_until(lambda: [h for h in clerk.GetCase(ipb.GetCaseRequest(case_number=number)).history
                                  if h.kind == "decided"], what="the decision in the history")
    assert [h.actor for h in decided] == ["civil_affairs"]  # the department's system decided: no signers
    assert not decided[0].signed_off


def test_a_signed_in_clerk_naming_another_first_contact_is_refused(clerk):
    with pytest.raises(grpc.RpcError) as info:
        clerk.Submit(submission("MZ-001", "county-desk", first_clerk="SX0009"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(info.value) == [("first_clerk", SIGNED_IN_CLERK)]


def test_the_public_track_shows_the_window_and_no_person(system, clerk):
    request = submission("MZ-001", "county-desk", first_clerk="")
    number = clerk.Submit(request).case_number
    view = system.intake_stub.Track(ipb.TrackRequest(case_number=number, phone_last4=request.applicant.phone[-4:]),
                                    timeout=10)
    assert (view.window, view.window_phone) == ("县行政服务中心咨询受理部", "0550-6010000")
    shown = text_format.MessageToString(view, as_utf8=True)
    assert "县行政服务中心咨询受理部" in shown and "已受理" in shown
    assert CLERK not in shown and "田萍" not in shown and "0550-6012050" not in shown  # her work phone
