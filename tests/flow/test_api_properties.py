"""Property tests over the real gRPC APIs: malformed and random requests to Submit and Decide are
answered with a status, never a crash, and never leave a partial case or a second decision."""
from __future__ import annotations

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb

from hall.reference import load_reference
from tests.flow_steps import id_number, submission, tasks_of
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())
ANSWERED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.PERMISSION_DENIED}
ITEMS = [i.code for i in REF.catalogue.items]
ORGS = [o.code for o in REF.org.organisations]
text = st.text(max_size=40)
codes = st.one_of(st.sampled_from(ITEMS), text)


@st.composite
def submit_requests(draw) -> ipb.SubmitRequest:
    item_code = draw(codes)
    item = REF.catalogue.item(item_code)
    known = [m.code for m in item.materials] if item else []
    materials = draw(st.lists(st.builds(ipb.ProvidedMaterial, code=st.one_of(st.sampled_from(known), text)
                                        if known else text, defect=st.one_of(st.just(""), text)), max_size=8))
    return ipb.SubmitRequest(
        request_id=draw(st.one_of(st.uuids().map(str), text)), item_code=item_code,
        applicant=ipb.Applicant(name=draw(text), id_number=draw(st.one_of(st.integers(0, 999).map(id_number), text)),
                                phone=draw(st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), text))),
        channel=draw(st.integers(0, 6)), organisation=draw(st.one_of(st.sampled_from(ORGS), text)),
        first_clerk=draw(text), agent=draw(st.one_of(st.just(""), st.sampled_from([a.code for a in REF.org.agents]))),
        consent_ref=draw(st.one_of(st.just(""), text)), materials=materials,
        form=draw(st.dictionaries(text, text, max_size=4)), project_code=draw(st.one_of(st.just(""), text)),
        commitment_signed=draw(st.booleans()))


@st.composite
def nearly_valid_submissions(draw) -> ipb.SubmitRequest:
    """A complete application with one field, material or form value replaced by anything."""
    request = submission(draw(st.sampled_from(["TZ-002", "MZ-001", "MZ-003", "SC-001"])), "county-desk")
    if request.item_code == "TZ-002":
        request.organisation = "county-window-development-reform"
    junk = draw(st.text(max_size=30))
    target = draw(st.sampled_from(["name", "id_number", "phone", "first_clerk", "defect", "form", "project_code",
                                   "request_id", "consent_ref"]))
    if target in ("name", "id_number", "phone"):
        setattr(request.applicant, target, junk)
    elif target == "defect":
        request.materials[0].defect = junk
    elif target == "form":
        request.form[draw(st.text(max_size=10))] = junk
    else:
        setattr(request, target, junk)
    return request


def _answered(call) -> None:
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() in ANSWERED, (error.code(), error.details())


def test_random_submissions_are_answered_and_leave_whole_cases(system):
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(submit_requests(), nearly_valid_submissions()))
    def check(request):
        _answered(lambda: system.intake.Submit(request, timeout=10))

    check()
    partial = system.sql("intake", """
        SELECT c.case_number FROM cases c
        WHERE c.history_seq < 1 OR c.history_seq <> (SELECT count(*) FROM history h WHERE h.case_number = c.case_number)
           OR (SELECT count(*) FROM outbox o WHERE o.envelope->>'case_number' = c.case_number
               AND o.event_type IN ('ApplicationAccepted', 'SupplementNoticeIssued', 'ApplicationRejected')) <> 1""")
    assert partial == []


def test_random_decisions_are_answered_and_decide_each_task_once(system):
    numbers = [system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
               for _ in range(3)]
    desk = system.desk("water")
    ids = [tasks_of(desk, n)[0].task_id for n in numbers]
    others = [tasks_of(system.desk("commerce"), numbers[0])[0].task_id]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(task_id=st.one_of(st.sampled_from(ids + others), text), decision=st.integers(0, 4),
           opinion=st.one_of(st.just("同意"), text), legal_basis=st.one_of(st.just("《行政许可法》"), text),
           documents=st.lists(text, max_size=3))
    def check(task_id, decision, opinion, legal_basis, documents):
        _answered(lambda: desk.Decide(dpb.DecideRequest(task_id=task_id, decision=decision, opinion=opinion,
                                                        legal_basis=legal_basis, documents=documents)))

    check()
    decided = system.sql("approval", "SELECT envelope->'payload'->>'task_id', count(*) FROM outbox "
                                     "WHERE event_type = 'TaskDecided' AND envelope->'payload'->>'task_id' = ANY(%s) "
                                     "GROUP BY 1", [ids + others])
    assert all(count == 1 for _, count in decided)
    assert {task for task, _ in decided} <= set(ids)  # never the commerce department's task
