"""The public's ratings and complaints through the trusted web front, and the public complaint lookup:
the rules and their windows on the real PostgreSQL with the clock injected, then through the API of
an in-process hall with small limits, the front naming each client."""
from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from onewindow.supervision.v1 import supervision_pb2 as spb

from hall.reference import load_reference
from services.access import CLIENT_HEADER, FRONT_HEADER, Caller, Role
from services.errors import TooManyAttempts
from services.grpcutil import field_violations
from services.timesource import local_day
from supervision_svc.feedback import Complaint, Feedback, PublicLimits
from tests.conftest import in_process_hall
from tests.flow_steps import approve, submission, tasks_of
from tests.supervision.conftest import D
from tests.support import wait_until
from tooling.settings import SystemSettings

PHONE = "13912345678"


def front_caller(client: str) -> Caller:
    return Caller(Role.FRONT, "web", client=client)


def test_a_clients_complaints_and_failed_lookups_count_within_their_window_only(supervision):
    limits = PublicLimits(complaints_per_client=1, complaint_window=dt.timedelta(minutes=10),
                          failures_per_complaint=1, failures_per_client=100, lookup_window=dt.timedelta(minutes=10))
    feedback = Feedback(supervision.feedback.supervision, rectification_days=15, complaint_limit_days=10,
                        limits=limits)
    a = front_caller("198.51.100.1")

    def complain(request_id: str, on: D) -> dict:
        with supervision.on(on) as uow:
            return feedback.complain(uow, Complaint(request_id, "online", "排队太久", department="water",
                                                    contact={"name": "", "phone": PHONE, "email": ""}), a)

    first = complain("p1", D(2026, 3, 2))
    assert complain("p1", D(2026, 3, 2))["id"] == first["id"]  # the same request again is not counted again
    with pytest.raises(TooManyAttempts):
        complain("p2", D(2026, 3, 2))
    second = complain("p2", D(2026, 3, 3))  # the window has passed; the old count is pruned
    assert supervision.sql("SELECT complaint_id, client FROM front_complaints") == [(second["id"], "198.51.100.1")]

    def look_up(digits: str, on: D):
        with supervision.on(on) as uow:
            return feedback.look_up_complaint(uow, first["id"], digits, "198.51.100.2")

    assert look_up("0000", D(2026, 3, 3)) is None
    with pytest.raises(TooManyAttempts):
        look_up(PHONE[-4:], D(2026, 3, 3))
    found = look_up(PHONE[-4:], D(2026, 3, 4))
    water = feedback.ref.org.department("water").name
    assert (found["id"], found["answered_on"], found["department_name"]) == (first["id"], None, water)
    assert "contact" not in found and "text" not in found


# --- through the API, the front naming each client -----------------------------------------------

@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """A hall of its own with small limits, so that they are reached in a few calls."""
    with in_process_hall(tmp_path_factory.mktemp("public"), complaints_per_client=2, lookup_failures_per_complaint=3,
                         lookup_failures_per_address=4) as running:
        yield running


class Front:
    """The supervision API as the web front calls it for the person at `client`."""

    def __init__(self, system, client: str, token: bool = True):
        self.stub = system.supervision_stub
        self.metadata = ((("authorization", f"Bearer {system.tokens['web']}"),) if token else ()) \
            + ((FRONT_HEADER, system.tokens["web"]), (CLIENT_HEADER, client))

    def __getattr__(self, method: str):
        call = getattr(self.stub, method)
        return lambda request: call(request, metadata=self.metadata, timeout=10)


def code_of(call) -> grpc.StatusCode:
    try:
        call()
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        return exc.code()


def error_of(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def online_complaint(phone: str = PHONE, request_id: str | None = None, **fields) -> spb.ComplainRequest:
    return spb.ComplainRequest(**{"request_id": request_id or uuid.uuid4().hex, "channel": spb.ONLINE_FORM,
                                  "department": "civil_affairs", "text": "窗口人员解释不清", "contact_name": "王小明",
                                  "contact_phone": phone, **fields})


def test_the_front_rates_a_case_online_once_and_on_site_only_for_a_pads_window(system):
    number = system.intake.Submit(submission("MZ-001", "county-desk")).case_number
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [number]),
               what="the case in supervision")
    front = Front(system, "198.51.100.7")
    rate = lambda request_id, **fields: spb.RateRequest(**{  # noqa: E731
        "request_id": request_id, "case_number": number, "channel": spb.ONLINE, "level": 1, "rater": "applicant",
        "comment": "等了很久", **fields})

    assert field_violations(error_of(lambda: front.Rate(rate("w0", channel=spb.ON_SITE, act="acceptance")))) \
        == [("window", "required on site through the web front: the window the rating pad is paired to")]
    assert field_violations(error_of(lambda: front.Rate(rate("w0", window="county-desk")))) \
        == [("window", "an online rating is for the whole case: leave window empty")]
    assert field_violations(error_of(lambda: front.Rate(rate("w0", rater="clerk-01")))) \
        == [("rater", "'applicant': through the web front the applicant rates")]
    rating = front.Rate(rate("w1"))
    assert rating.rectification_opened and rating.department == "civil_affairs" and rating.channel == spb.ONLINE
    assert front.Rate(rate("w1")).id == rating.id  # the same request again: the same rating
    again = error_of(lambda: front.Rate(rate("w2", level=5)))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "rated already" in again.details()
    assert system.sql("supervision", "SELECT count(*) FROM ratings WHERE case_number = %s", [number]) == [(1,)]
    assert system.sql("supervision", "SELECT department FROM rectifications WHERE rating_id = %s",
                      [rating.id]) == [("civil_affairs",)]


def test_the_fronts_rating_pad_rates_the_acts_of_its_own_window_only(system):
    """The pad at the civil-affairs window rates the acceptance it did and the task it handled; the
    pad of another window, a pad without a window, and a device naming another window are refused,
    with nothing written."""
    desk, window = "county-desk", "county-window-civil-affairs"
    at_desk = system.intake.Submit(submission("MZ-001", desk), timeout=10).case_number
    at_window = system.intake.Submit(submission("MZ-001", window), timeout=10).case_number
    (task,) = tasks_of(system.desk("civil_affairs"), at_desk)
    approve(system.desk("civil_affairs"), task.task_id)
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM clocks WHERE ref = %s AND decided_on IS NOT NULL",
                                  [task.task_id]), what="supervision to see the decision")
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [at_window]),
               what="the window's case in supervision")
    (task_window,) = system.sql("supervision", "SELECT organisation FROM clocks WHERE ref = %s", [task.task_id])[0]
    assert task_window == window  # the task was handled at the window
    (first_clerk,) = system.sql("supervision", "SELECT first_clerk FROM cases WHERE case_number = %s", [at_window])[0]
    assert first_clerk
    pad = Front(system, "198.51.100.31")

    def on_site(number: str, act: str, pad_window: str, level: int = 4) -> spb.RateRequest:
        return spb.RateRequest(request_id=uuid.uuid4().hex, case_number=number, channel=spb.ON_SITE, act=act,
                               level=level, rater="applicant", window=pad_window)

    def ratings(number: str) -> list[tuple]:
        return system.sql("supervision", "SELECT act, by_organisation FROM ratings WHERE case_number = %s ORDER BY id",
                          [number])

    month = spb.Period(month=f"{local_day(system.system.time.now()):%Y-%m}")

    def rated(group_by, key: str) -> int:
        reply = system.supervision().GetFigures(spb.GetFiguresRequest(period=month, group_by=group_by))
        return next((f.counts["ratings"] for f in reply.figures if f.key == key), 0)

    before = rated(spb.WINDOW, window), rated(spb.PERSON, first_clerk)
    # another window's pad: refused, nothing recorded
    other = error_of(lambda: pad.Rate(on_site(at_window, "acceptance", desk, level=1)))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED and "this pad's window did not do this act" \
        in other.details()
    assert code_of(lambda: pad.Rate(on_site(at_desk, task.task_id, desk))) == grpc.StatusCode.PERMISSION_DENIED
    unknown = error_of(lambda: pad.Rate(on_site(at_window, "acceptance", "no-such-window")))
    assert field_violations(unknown) == [("window", "no organisation 'no-such-window'")]
    assert ratings(at_window) == [] and ratings(at_desk) == []
    assert not system.sql("supervision", "SELECT 1 FROM rectifications r JOIN ratings g ON g.id = r.rating_id "
                                         "WHERE g.case_number IN (%s, %s)", [at_window, at_desk])
    # an organisation's device names its own window or none
    device = system.supervision(desk)
    assert code_of(lambda: device.Rate(on_site(at_window, "acceptance", window))) == grpc.StatusCode.PERMISSION_DENIED

    # the window's pad: its acceptance, counted for the window and its first clerk, and its task
    request = on_site(at_window, "acceptance", window)
    rating = pad.Rate(request)
    assert (rating.by_organisation, rating.by_person, rating.channel) == (window, first_clerk, spb.ON_SITE)
    assert pad.Rate(request).id == rating.id  # the same request again: the same rating
    replayed = spb.RateRequest()
    replayed.CopyFrom(request)
    replayed.window = desk  # another pad replaying it
    assert [f for f, _ in field_violations(error_of(lambda: pad.Rate(replayed)))] == ["request_id"]
    assert error_of(lambda: pad.Rate(on_site(at_window, "acceptance", window))).code() \
        == grpc.StatusCode.FAILED_PRECONDITION  # one rating an act
    handled = pad.Rate(on_site(at_desk, task.task_id, window, level=5))
    assert (handled.by_organisation, handled.department) == (window, "civil_affairs")
    assert ratings(at_window) == [("acceptance", window)] and ratings(at_desk) == [(task.task_id, window)]
    # both count for the window; the acceptance's for its first clerk (the task's for whoever decided)
    assert (rated(spb.WINDOW, window), rated(spb.PERSON, first_clerk)) == (before[0] + 2, before[1] + 1)


def test_a_front_complaint_needs_a_phone_and_each_client_may_file_a_few(system):
    a, b = Front(system, "198.51.100.21"), Front(system, "198.51.100.22")
    for phone in ("", "139 1234 5678", "123456"):
        bad = error_of(lambda: a.Complain(online_complaint(phone)))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [f for f, _ in field_violations(bad)] == ["contact_phone"]
    assert code_of(lambda: a.Complain(online_complaint(channel=spb.PHONE))) == grpc.StatusCode.PERMISSION_DENIED

    first = a.Complain(online_complaint(request_id="front-1"))
    assert (first.channel, first.department) == (spb.ONLINE_FORM, "civil_affairs") and first.deadline
    assert a.Complain(online_complaint(request_id="front-1")).id == first.id  # counted once
    a.Complain(online_complaint())
    assert code_of(lambda: a.Complain(online_complaint())) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert a.Complain(online_complaint(request_id="front-1")).id == first.id  # a retry still gets its answer
    assert b.Complain(online_complaint()).id  # another person behind the same front is not stopped
    # the office's own registrations are not the public's: no phone needed, no limit
    office = system.supervision()
    for _ in range(3):
        office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE, department="water",
                                            text="来电反映排队太久"))
    assert system.sql("supervision", "SELECT client, count(*) FROM front_complaints WHERE client LIKE '198.51.100.2_' "
                                     "GROUP BY client ORDER BY client") == [("198.51.100.21", 2), ("198.51.100.22", 1)]
    assert ("supervision.Complain", "OK", "web", "198.51.100.21") in system.sql(
        "supervision", "SELECT action, result, holder, client FROM audit_log WHERE action = 'supervision.Complain'")


def test_the_complainant_looks_up_the_answer_with_the_phones_last_digits(system):
    complaint = Front(system, "198.51.100.31").Complain(online_complaint())
    anonymous = system.supervision_stub  # no token at all: the number and the digits are the credential
    look_up = lambda complaint_id, digits: anonymous.LookUpComplaint(  # noqa: E731
        spb.LookUpComplaintRequest(complaint_id=complaint_id, phone_last4=digits), timeout=10)
    department = load_reference(SystemSettings()).org.department("civil_affairs").name

    waiting = look_up(complaint.id, PHONE[-4:])
    assert (waiting.id, waiting.answered, waiting.answer, waiting.department_name, waiting.deadline) \
        == (complaint.id, False, "", department, complaint.deadline)
    system.supervision("civil_affairs").AnswerComplaint(spb.AnswerComplaintRequest(
        complaint_id=complaint.id, answer="已约谈窗口人员，并重新解释办理要求"))
    answered = Front(system, "198.51.100.32").LookUpComplaint(
        spb.LookUpComplaintRequest(complaint_id=complaint.id, phone_last4=PHONE[-4:]))
    assert (answered.answered, answered.answer) == (True, "已约谈窗口人员，并重新解释办理要求")
    assert answered.answered_on >= answered.registered_on == complaint.registered_on
    assert PHONE not in str(answered) and "王小明" not in str(answered)

    wrong = error_of(lambda: look_up(complaint.id, "0000"))
    unknown = error_of(lambda: look_up(complaint.id + 10**9, PHONE[-4:]))
    assert (wrong.code(), wrong.details()) == (unknown.code(), unknown.details()) \
        == (grpc.StatusCode.NOT_FOUND, "no complaint with this number and phone")
    # the lookup is not an act of the record; nor were its failed guesses
    assert system.sql("supervision", "SELECT count(*) FROM audit_log WHERE action = 'supervision.LookUpComplaint'") \
        == [(0,)]


def test_failed_lookups_are_limited_per_complaint_and_per_client(system):
    guessed, other = (Front(system, "198.51.100.41").Complain(online_complaint()) for _ in range(2))

    def look_up(client: str, complaint_id: int, digits: str) -> grpc.StatusCode:
        """As the front asks for the public: without its token, naming the client."""
        return code_of(lambda: Front(system, client, token=False).LookUpComplaint(
            spb.LookUpComplaintRequest(complaint_id=complaint_id, phone_last4=digits)))

    # three wrong guesses on one complaint, from three clients: it is closed to everyone for a while
    assert [look_up(f"198.51.100.5{i}", guessed.id, "0000") for i in range(3)] == [grpc.StatusCode.NOT_FOUND] * 3
    assert look_up("198.51.100.59", guessed.id, PHONE[-4:]) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert look_up("198.51.100.59", other.id, PHONE[-4:]) == grpc.StatusCode.OK  # another complaint is not
    # four failed guesses from one client, each on another number: that client is stopped, nobody else
    assert [look_up("198.51.100.60", other.id + 10**9 + i, "0000") for i in range(4)] \
        == [grpc.StatusCode.NOT_FOUND] * 4
    assert look_up("198.51.100.60", other.id, PHONE[-4:]) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert look_up("198.51.100.61", other.id, PHONE[-4:]) == grpc.StatusCode.OK
    assert system.sql("supervision", "SELECT count(*) FROM lookup_failures WHERE complaint_id = %s", [guessed.id]) \
        == [(3,)]
