"""Who may call what, over the real APIs: every method of every service with every role, the
scopes within a role (a department's own tasks, an organisation's own cases, an agent's own), and
the public Track's limit on guessing the phone digits."""
from __future__ import annotations

import secrets

import grpc
import yaml
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.identity.v1 import identity_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from onewindow.supervision.v1 import supervision_pb2 as spb
from onewindow.supervision.v1 import supervision_pb2_grpc

from hall.reference import load_reference
from hall.staff import load_staff
from services.access import read_tokens
from tests.clients import Desk
from tests.flow_steps import submission, tasks_of
from tests.support import wait_until
from tooling.settings import SystemSettings

# Who calls, and as what: a system's token (its holder) or a signed-in person of the staff register
# (`post` names a post of the register, found when the case is known). The letter is the role:
# d department, c clerk, a agent, s supervision office, m centre manager, l leader, i county IT,
# f the web front, h the hall's own API processes, p public.
CALLERS = {
    "department system": ("d", "civil_affairs"), "handler": ("d", "handler@task"),
    "clerk system": ("c", "zhangqiao-liugang-room"), "clerk": ("c", "acceptance_clerk@zhangqiao-liugang-room"),
    "agent system": ("a", "agent-zhangqiao-liugang"), "agent": ("a", "proxy_agent@zhangqiao-liugang-room"),
    "supervision system": ("s", "supervision"), "supervision officer": ("s", "supervision_officer@county-centre"),
    "centre manager": ("m", "centre_manager@zhangqiao-centre"), "leader": ("l", "leader@zhangqiao-centre"),
    "county IT": ("i", "it_admin@county-centre"),
    "web front": ("f", "web"), "hall APIs": ("h", "apis"), "public": ("p", None), "stranger": ("x", None),
}
AGENT, AGENT_ROOM = "agent-zhangqiao-liugang", "zhangqiao-liugang-room"

# The access table as the issues state it, written out here rather than read from the code: the
# letters are the roles allowed; `*`: persons only (a system's token signs nobody in).
EXPECTED = {
    "intake.Submit": "ca", "intake.SupplyMaterials": "ca", "intake.Withdraw": "ca", "intake.GetCase": "casml",
    "intake.Track": "dcasp",
    # public, with any credentials or none: the guide (办事指南) and the hall board (大屏)
    "intake.ListItems": "dcasmlifhp", "intake.GetItem": "dcasmlifhp", "intake.GetBoard": "dcasmlifhp",
    # the desk's own cases (a clerk its organisation's, an agent its own); the fee collected by clerks only
    "intake.ListCases": "ca", "intake.RecordFee": "c",
    # the agent's ledger (代办台账) and its 办结反馈单: agents only
    "intake.ListAgentCases": "a", "intake.RecordResultCard": "a", "intake.HandOver": "a", "intake.ConfirmHandOver": "a",
    "intake.GetCarryList": "a", "intake.ReassignAgentCases": "am",
    # a village room's cadres (clerks) list and decide their village committee's matters (村委会证明、意见)
    "desk.ListTasks": "dc", "desk.WatchTasks": "d", "desk.GetProgress": "dsl", "desk.Claim": "d",
    "desk.RequestSupplement": "d", "desk.StartSpecialProcedure": "d", "desk.EndSpecialProcedure": "d",
    "desk.Suspend": "d", "desk.Resume": "d", "desk.RequestCoHandling": "d", "desk.Decide": "dc",
    # sign-off by a person at an approver or checker post (the use case refuses anyone else); away
    # notices by the person or the centre manager; the pool and its moves the manager's
    "desk.SignOff": "d", "desk.SetAway": "dm", "desk.ClearAway": "dm", "desk.ListAway": "msl",
    "desk.ListPool": "msl", "desk.MoveTasks": "m", "desk.ListProjects": "d",
    "supervision.ListWarnings": "dsl", "supervision.Instruct": "s", "supervision.ReplyToInstruction": "d",
    "supervision.ListFaults": "dsl", "supervision.Rate": "csf",
    # a centre (its manager, or its system) answers for the bad ratings of its desks' and rooms' acts
    "supervision.ListRectifications": "dcsml", "supervision.Rectify": "dcm", "supervision.FollowUp": "dcsm",
    "supervision.Appeal": "dcm", "supervision.ReviewAppeal": "s", "supervision.Complain": "csf",
    "supervision.AnswerComplaint": "ds", "supervision.ListComplaints": "dsl", "supervision.GetFigures": "dsml",
    "supervision.ListFigureCases": "dsml",  # the cases behind a number: each caller what it may see
    "supervision.GetAssessment": "sml",
    "supervision.LookUpComplaint": "dcasfp",
    # 督办建议: the office closes; departments (their own), the office and leaders read
    "supervision.ListSuggestions": "dsl", "supervision.CloseSuggestion": "s",
    "supervision.CountWarnings": "dsl",  # the warning board
    # 当日汇总: read by the office, managers (their centre) and leaders; signed by a leader, their only act
    "supervision.GetDaySummary": "sml", "supervision.SignDaySummary": "l",
    # the monthly 通报 archive: issued by the office, read by the office and leaders
    "supervision.IssueBulletin": "s", "supervision.ListBulletins": "sl", "supervision.GetBulletin": "sl",
    # 代办制: a township's agents against quota (its manager, the office, leaders); 抽查 the township's manager's;
    # 回访 the office's
    "supervision.GetAgentQuotas": "sml", "supervision.DrawSpotChecks": "m", "supervision.RecordSpotCheck": "m",
    "supervision.ListSpotChecks": "sml", "supervision.SuggestFollowUps": "s", "supervision.SelectFollowUps": "s",
    "supervision.RecordFollowUpCall": "s", "supervision.ListFollowUpCalls": "s",
    "identity.SignIn": "p", "identity.ChangePassword": "p", "identity.Refresh": "dcasmli*",
    "identity.WhoAmI": "dcasmli*", "identity.GetAccount": "i", "identity.ResetPassword": "i",
    "identity.Unlock": "i", "identity.Revoke": "i", "identity.Reinstate": "i", "identity.Trust": "h",
    # the duty rota: read inside the hall, changed by a centre's manager
    "identity.GetDuty": "dcasmlif", "identity.SetDuty": "m",
    # the register: county IT searches and changes it; a centre's posts for its manager, the office, leaders
    "identity.ListPersons": "i", "identity.GetCentre": "isml", "identity.SetPosts": "i",
}
SERVICES = {"intake": (ipb, "Intake", intake_pb2_grpc.IntakeStub),
            "desk": (dpb, "DepartmentDesk", desk_pb2_grpc.DepartmentDeskStub),
            "supervision": (spb, "Supervision", supervision_pb2_grpc.SupervisionStub),
            "identity": (idpb, "Identity", identity_pb2_grpc.IdentityStub)}
DENIED = {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED}
REGISTER = load_staff(SystemSettings().staff, load_reference(SystemSettings()).org)


def holder_of(post: str, organisation: str) -> tuple[str, str]:
    """(staff number, post id) of the A holder of the first such post at the organisation."""
    return next((p.staff_number, h.post_id) for p in REGISTER.persons if p.active for h in p.posts
                if h.post == post and h.at == organisation and h.holder == "A")


def _code(call) -> grpc.StatusCode:
    try:
        result = call()
        if hasattr(result, "__next__"):  # a stream: its first item, or how it ends
            next(result, None)
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        return exc.code()


def _agent_case(system) -> tuple[ipb.SubmitRequest, ipb.Receipt, dpb.Task]:
    """An open proxy case of the agent's village room, with civil affairs' task on it, claimed."""
    request = submission("MZ-001", AGENT_ROOM, channel=ipb.PROXY_AGENT, agent=AGENT, consent_ref="WT-2026-0042")
    receipt = system.intake_as(AGENT).Submit(request)
    (task,) = tasks_of(system.desk("civil_affairs"), receipt.case_number)
    return request, receipt, task


def _requests(request: ipb.SubmitRequest, receipt: ipb.Receipt, task: dpb.Task) -> dict:
    """One request per method, harmless whoever is let through: an allowed caller meets the
    method's own answer (often a field error or a state that refuses), never a refusal of access."""
    number, phone = receipt.case_number, request.applicant.phone
    period = spb.Period(month=receipt.accepted_on[:7])
    return {
        "intake.Submit": lambda role: submission(
            "MZ-001", AGENT_ROOM, **({"channel": ipb.PROXY_AGENT, "agent": AGENT, "consent_ref": "WT-1"}
                                     if role == "a" else {})),
        "intake.SupplyMaterials": ipb.SupplyMaterialsRequest(case_number=number, materials=[
            ipb.ProvidedMaterial(code="no-such-material")]),
        "intake.Withdraw": ipb.WithdrawRequest(case_number=number, phone_last4=phone[-4:], reason=""),
        "intake.GetCase": ipb.GetCaseRequest(case_number=number),
        "intake.Track": ipb.TrackRequest(case_number=number, phone_last4=phone[-4:]),
        "intake.ListItems": ipb.ListItemsRequest(query="低保", page_size=5),
        "intake.GetItem": ipb.GetItemRequest(code="MZ-001"),
        "intake.GetBoard": ipb.GetBoardRequest(centre="zhangqiao-centre"),
        "intake.ListCases": ipb.ListCasesRequest(waiting=True, page_size=5),
        # the agent's case is of a free item: a clerk let through meets FAILED_PRECONDITION, nothing is recorded
        "intake.RecordFee": ipb.RecordFeeRequest(request_id="access-fee", case_number=number, amount_yuan="20",
                                                 receipt_number="No.1"),
        "intake.ListAgentCases": ipb.ListAgentCasesRequest(view=ipb.LEDGER_WAITING, page_size=5),
        # the agent's case has not concluded: an agent let through meets FAILED_PRECONDITION
        "intake.RecordResultCard": ipb.RecordResultCardRequest(request_id="access-card", case_number=number,
                                                               signed_on=receipt.accepted_on, mark=ipb.SIGNATURE),
        # no such agent to hand over to: a field error; no such case to confirm: NOT_FOUND
        "intake.HandOver": ipb.HandOverRequest(case_number=number, to_agent="agent-nowhere"),
        "intake.ConfirmHandOver": ipb.ConfirmHandOverRequest(case_number="999999999999999"),
        "intake.GetCarryList": ipb.GetCarryListRequest(),
        "intake.ReassignAgentCases": ipb.ReassignAgentCasesRequest(from_agent=AGENT, to_agent="agent-nowhere"),
        "desk.ListTasks": dpb.ListTasksRequest(case_number=number),
        "desk.WatchTasks": dpb.WatchTasksRequest(after_cursor=0),
        "desk.GetProgress": dpb.GetProgressRequest(case_number=number),
        "desk.Claim": dpb.TaskRef(task_id=task.task_id),
        "desk.RequestSupplement": dpb.RequestSupplementRequest(task_id=task.task_id,
                                                               materials=[dpb.MaterialRequest()]),
        "desk.StartSpecialProcedure": dpb.StartSpecialProcedureRequest(task_id=task.task_id),
        "desk.EndSpecialProcedure": dpb.TaskRef(task_id=task.task_id),
        "desk.Suspend": dpb.SuspendRequest(task_id=task.task_id, until="not a date"),
        "desk.Resume": dpb.ResumeRequest(task_id=task.task_id),
        "desk.RequestCoHandling": dpb.RequestCoHandlingRequest(task_id=task.task_id),
        "desk.Decide": dpb.DecideRequest(task_id=task.task_id),
        "desk.SignOff": dpb.SignOffRequest(task_id="NO-SUCH-CASE.1.civil_affairs"),
        "desk.SetAway": dpb.SetAwayRequest(back_at="not a time"),
        "desk.ClearAway": dpb.ClearAwayRequest(staff_number="SX9999"),
        "desk.ListAway": dpb.ListAwayRequest(),
        "desk.ListPool": dpb.ListPoolRequest(),
        "desk.MoveTasks": dpb.MoveTasksRequest(),
        "desk.ListProjects": dpb.ListProjectsRequest(),
        "supervision.ListWarnings": spb.ListWarningsRequest(period=period),
        "supervision.Instruct": spb.InstructRequest(warning_id=987654, instruction="请限期办结"),
        "supervision.ReplyToInstruction": spb.ReplyToInstructionRequest(warning_id=987654, reply="已办结"),
        "supervision.ListFaults": spb.ListFaultsRequest(period=period),
        "supervision.Rate": spb.RateRequest(request_id="access-rate", case_number=number, level=9),
        "supervision.ListRectifications": spb.ListRectificationsRequest(),
        "supervision.Rectify": spb.RectifyRequest(rating_id=987654),
        "supervision.FollowUp": spb.FollowUpRequest(rating_id=987654, outcome="已回访"),
        "supervision.Appeal": spb.AppealRequest(rating_id=987654, reason="评价有误"),
        "supervision.ReviewAppeal": spb.ReviewAppealRequest(rating_id=987654, note="维持"),
        "supervision.Complain": spb.ComplainRequest(request_id="access-complaint", text=""),
        "supervision.AnswerComplaint": spb.AnswerComplaintRequest(complaint_id=987654, answer="已答复"),
        "supervision.ListComplaints": spb.ListComplaintsRequest(),
        "supervision.GetFigures": spb.GetFiguresRequest(period=period),
        "supervision.ListFigureCases": spb.ListFigureCasesRequest(period=period, count="accepted"),
        "supervision.GetAssessment": spb.GetAssessmentRequest(month="2026-03"),
        # a number of each role's own: two wrong guesses each stay under the limit per complaint
        "supervision.LookUpComplaint": lambda role: spb.LookUpComplaintRequest(complaint_id=987000 + ord(role),
                                                                              phone_last4="0000"),
        "supervision.ListSuggestions": spb.ListSuggestionsRequest(),
        "supervision.CountWarnings": spb.CountWarningsRequest(period=period, group_by=spb.CENTRE),
        "supervision.GetDaySummary": spb.DaySummaryRequest(centre="zhangqiao-centre"),
        "supervision.SignDaySummary": spb.DaySummaryRequest(day="2999-01-01"),  # refused: nothing is signed
        "supervision.IssueBulletin": spb.IssueBulletinRequest(request_id="access-bulletin", month="2026-03"),
        "supervision.ListBulletins": spb.ListBulletinsRequest(),
        "supervision.GetBulletin": spb.GetBulletinRequest(bulletin_id=987654),
        "supervision.CloseSuggestion": spb.CloseSuggestionRequest(suggestion_id=987654, note="已审阅"),
        # an allowed caller meets a field error (no count, no case) or a missing row; nothing is written
        "supervision.GetAgentQuotas": spb.GetAgentQuotasRequest(month="2026-03"),
        "supervision.DrawSpotChecks": spb.DrawSpotChecksRequest(request_id="access-draw", month="2026-03"),
        "supervision.RecordSpotCheck": spb.RecordSpotCheckRequest(check_id=987654, finding=spb.CARRIED_OUT),
        "supervision.ListSpotChecks": spb.ListSpotChecksRequest(month="2026-03"),
        "supervision.SuggestFollowUps": spb.SuggestFollowUpsRequest(criteria=spb.FollowUpCriteria(period=period)),
        "supervision.SelectFollowUps": spb.SelectFollowUpsRequest(),
        "supervision.RecordFollowUpCall": spb.RecordFollowUpCallRequest(call_id=987654, outcome="已回访"),
        "supervision.ListFollowUpCalls": spb.ListFollowUpCallsRequest(),
        "identity.SignIn": idpb.SignInRequest(staff_number="SX9999"),
        "identity.ChangePassword": idpb.ChangePasswordRequest(staff_number="SX9999"),
        "identity.Refresh": idpb.RefreshRequest(),
        "identity.WhoAmI": idpb.WhoAmIRequest(),
        "identity.GetAccount": idpb.AccountRef(staff_number="SX9999"),
        "identity.ResetPassword": idpb.AccountRef(staff_number="SX9999"),
        "identity.Unlock": idpb.AccountRef(staff_number="SX9999"),
        "identity.Revoke": idpb.RevokeRequest(staff_number="SX9999"),
        "identity.Reinstate": idpb.AccountRef(staff_number="SX9999"),
        "identity.Trust": idpb.TrustRequest(),
        "identity.GetDuty": idpb.GetDutyRequest(organisation="zhangqiao-liugang-room"),
        "identity.SetDuty": idpb.SetDutyRequest(organisation="zhangqiao-centre", day="2000-01-01",
                                                staff_numbers=["SX0084"], reason="x"),
        "identity.ListPersons": idpb.ListPersonsRequest(query="SX9999"),
        "identity.GetCentre": idpb.GetCentreRequest(),
        "identity.SetPosts": idpb.SetPostsRequest(staff_number="SX9999"),  # no posts: refused, nothing written
    }


def _credential(system, who: str, task: dpb.Task) -> str | None:
    """The bearer token a caller presents: a system's, a signed-in person's, a stranger's, none."""
    if who == "stranger":
        return "x" * 32
    holder = CALLERS[who][1]
    if holder is None:
        return None
    if "@" not in holder:
        return system.tokens[holder]
    post, organisation = holder.split("@")
    return system.sign_in(*holder_of(post, task.organisation if organisation == "task" else organisation))


def test_the_access_table_covers_every_method_of_every_api():
    methods = {f"{api}.{m.name}" for api, (pb, name, _) in SERVICES.items()
               for m in pb.DESCRIPTOR.services_by_name[name].methods}
    assert set(EXPECTED) == methods


def test_every_method_with_every_role_system_and_person(system):
    request, receipt, task = _agent_case(system)
    requests = _requests(request, receipt, task)
    credentials = {who: _credential(system, who, task) for who in CALLERS}
    outcomes, wrong = {}, []
    for method, letters in EXPECTED.items():
        service, name = method.split(".")
        stub = SERVICES[service][2](getattr(system, f"{service}_channel"))
        for who, (role, holder) in CALLERS.items():
            call = getattr(stub if credentials[who] is None else Desk(stub, credentials[who]), name)
            message = requests[method](role) if callable(requests[method]) else requests[method]
            if name == "WatchTasks":  # an open stream with nothing new ends at its deadline: let through
                code = _code(lambda: call(message, timeout=1))
                code = grpc.StatusCode.OK if code == grpc.StatusCode.DEADLINE_EXCEEDED else code
            else:
                code = _code(lambda: call(message, timeout=10))
            outcomes[method, who] = code
            person = holder is not None and "@" in holder
            allowed = role in letters and (person or "*" not in letters)
            denial = grpc.StatusCode.UNAUTHENTICATED if role in "px" else grpc.StatusCode.PERMISSION_DENIED
            if allowed and code in DENIED or not allowed and code != denial:
                wrong.append((method, who, code.name))
    assert wrong == [], wrong
    # the harmless requests did reach the methods: a field error, a missing row, a refusing state
    assert outcomes["desk.Suspend", "department system"] == outcomes["desk.Suspend", "handler"] \
        == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["intake.GetCase", "clerk"] == outcomes["intake.Track", "public"] == grpc.StatusCode.OK
    assert {outcomes[f"intake.{m}", who] for m in ("ListItems", "GetItem", "GetBoard")
            for who in ("public", "clerk", "web front", "county IT")} == {grpc.StatusCode.OK}
    assert outcomes["intake.GetCase", "centre manager"] == outcomes["intake.GetCase", "leader"] == grpc.StatusCode.OK
    assert outcomes["intake.ListCases", "clerk"] == outcomes["intake.ListCases", "agent"] == grpc.StatusCode.OK
    assert outcomes["intake.RecordFee", "clerk"] == grpc.StatusCode.FAILED_PRECONDITION
    assert outcomes["intake.ListAgentCases", "agent"] == grpc.StatusCode.OK
    assert outcomes["intake.RecordResultCard", "agent"] == grpc.StatusCode.FAILED_PRECONDITION
    assert outcomes["intake.HandOver", "agent"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["intake.ConfirmHandOver", "agent"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["intake.GetCarryList", "agent"] == grpc.StatusCode.OK
    assert outcomes["intake.ReassignAgentCases", "centre manager"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["supervision.ReviewAppeal", "supervision officer"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["supervision.Instruct", "supervision system"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["supervision.CloseSuggestion", "supervision officer"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["supervision.SignDaySummary", "leader"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["supervision.IssueBulletin", "supervision officer"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["supervision.LookUpComplaint", "public"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["supervision.ReplyToInstruction", "handler"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["identity.GetAccount", "county IT"] == grpc.StatusCode.NOT_FOUND
    assert outcomes["identity.SetPosts", "county IT"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["identity.GetCentre", "centre manager"] == outcomes["identity.ListPersons", "county IT"] \
        == grpc.StatusCode.OK
    assert outcomes["identity.SignIn", "public"] == grpc.StatusCode.INVALID_ARGUMENT
    assert outcomes["identity.Trust", "hall APIs"] == outcomes["identity.WhoAmI", "leader"] == grpc.StatusCode.OK


def test_within_a_role_each_caller_reaches_its_own_only(system):
    request, receipt, task = _agent_case(system)
    number = receipt.case_number
    other_clerk, other_agent = system.intake_as("county-desk"), system.intake_as("agent-zhangqiao-dayang")

    # clerks: their organisation's cases and submissions only
    assert _code(lambda: other_clerk.GetCase(ipb.GetCaseRequest(case_number=number))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other_clerk.SupplyMaterials(ipb.SupplyMaterialsRequest(
        case_number=number, materials=[ipb.ProvidedMaterial(code="application_form")]))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other_clerk.Withdraw(ipb.WithdrawRequest(
        case_number=number, phone_last4=request.applicant.phone[-4:], reason="不办了"))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other_clerk.Submit(submission("MZ-001", AGENT_ROOM))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other_clerk.RecordFee(ipb.RecordFeeRequest(
        request_id="fee-1", case_number=number, amount_yuan="20", receipt_number="No.1"))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert number not in {c.case_number for c in other_clerk.ListCases(ipb.ListCasesRequest(page_size=100)).cases}
    assert system.intake_as(AGENT_ROOM).GetCase(ipb.GetCaseRequest(case_number=number)).case_number == number
    # agents: their own proxy cases, filed at their own organisation
    assert _code(lambda: other_agent.GetCase(ipb.GetCaseRequest(case_number=number))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other_agent.Submit(submission(
        "MZ-001", AGENT_ROOM, channel=ipb.PROXY_AGENT, agent=AGENT, consent_ref="WT-2"))) \
        == grpc.StatusCode.PERMISSION_DENIED
    listed = {who: {c.case_number for c in agent.ListCases(ipb.ListCasesRequest(page_size=100)).cases}
              for who, agent in (("other", other_agent), ("own", system.intake_as(AGENT)))}
    assert number in listed["own"] and number not in listed["other"]
    window_case = system.intake_as("county-desk").Submit(submission("MZ-001", "county-desk")).case_number
    assert _code(lambda: system.intake_as(AGENT).GetCase(ipb.GetCaseRequest(case_number=window_case))) \
        == grpc.StatusCode.PERMISSION_DENIED
    # departments: their own tasks; the supervision office reads every case's progress
    water = system.desk("water")
    assert _code(lambda: water.Claim(dpb.TaskRef(task_id=task.task_id))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: water.GetProgress(dpb.GetProgressRequest(case_number=number))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert not water.ListTasks(dpb.ListTasksRequest(case_number=number)).tasks
    office = Desk(desk_pb2_grpc.DepartmentDeskStub(system.desk_channel), system.tokens["supervision"])
    assert [t.task_id for t in office.GetProgress(dpb.GetProgressRequest(case_number=number)).tasks] == [task.task_id]
    assert system.intake_as("supervision").GetCase(ipb.GetCaseRequest(case_number=number)).case_number == number
    # nothing was written by the refused calls
    assert system.sql("intake", "SELECT count(*) FROM history WHERE case_number = %s AND body LIKE %s",
                      [number, '%"withdrawn"%']) == [(0,)]
    assert system.sql("approval", "SELECT status FROM tasks WHERE id = %s", [task.task_id]) == [("assigned",)]


def test_the_public_track_refuses_after_five_wrong_guesses_even_the_right_digits(system):
    request, receipt, _ = _agent_case(system)
    number, digits = receipt.case_number, request.applicant.phone[-4:]
    track = system.intake.Track
    assert track(ipb.TrackRequest(case_number=number, phone_last4=digits)).case_number == number
    wrong = f"{(int(digits) + 1) % 10000:04d}"
    codes = [_code(lambda: track(ipb.TrackRequest(case_number=number, phone_last4=wrong))) for _ in range(5)]
    assert codes == [grpc.StatusCode.NOT_FOUND] * 5
    assert _code(lambda: track(ipb.TrackRequest(case_number=number, phone_last4=digits))) \
        == grpc.StatusCode.RESOURCE_EXHAUSTED
    # another applicant's case is not locked by the guesses on this one
    other_request, other, _ = _agent_case(system)
    assert track(ipb.TrackRequest(case_number=other.case_number,
                                  phone_last4=other_request.applicant.phone[-4:])).case_number == other.case_number
    assert system.sql("intake", "SELECT count(*) FROM track_failures WHERE case_number = %s", [number]) == [(5,)]


def test_a_rotated_token_is_taken_by_every_running_api_without_a_restart(system):
    path = system.settings.desk_tokens
    tokens = read_tokens(path)
    old, new = tokens["public_security"], secrets.token_urlsafe(24)
    rotated = path.with_name(path.name + ".new")
    rotated.write_text(yaml.safe_dump({**tokens, "public_security": new}))
    rotated.replace(path)  # as an operator or a Secret update replaces it: whole, at once
    desk = lambda token: Desk(desk_pb2_grpc.DepartmentDeskStub(system.desk_channel), token)  # noqa: E731
    watch = lambda token: Desk(supervision_pb2_grpc.SupervisionStub(system.supervision_channel), token)  # noqa: E731
    wait_until(lambda: _code(lambda: desk(new).ListTasks(dpb.ListTasksRequest())) == grpc.StatusCode.OK,
               what="the desk to take the new token")
    wait_until(lambda: _code(lambda: watch(new).ListComplaints(spb.ListComplaintsRequest())) == grpc.StatusCode.OK,
               what="supervision to take the new token")
    assert _code(lambda: desk(old).ListTasks(dpb.ListTasksRequest())) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(lambda: watch(old).ListComplaints(spb.ListComplaintsRequest())) == grpc.StatusCode.UNAUTHENTICATED


def test_a_township_station_and_the_county_bureau_each_handle_their_own_tasks_only(system):
    county_case = system.intake.Submit(submission("MZ-001", "zhangqiao-desk")).case_number
    township_case = system.intake.Submit(submission("MZ-005", "zhangqiao-desk")).case_number
    bureau = system.desk("civil_affairs")  # the department's own system: every office's tasks
    (county_task,) = tasks_of(bureau, county_case)
    (township_task,) = tasks_of(bureau, township_case)
    assert (county_task.organisation, township_task.organisation) \
        == ("county-window-civil-affairs", "zhangqiao-window-civil-affairs")
    county = system.as_person(system.desk_stub, *holder_of("handler", county_task.organisation))
    township = system.as_person(system.desk_stub, *holder_of("handler", township_task.organisation))

    for person, other in ((county, township_task), (township, county_task)):
        assert _code(lambda: person.Claim(dpb.TaskRef(task_id=other.task_id))) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: person.Decide(dpb.DecideRequest(
            task_id=other.task_id, decision=dpb.APPROVE, opinion="同意", legal_basis="《条例》"))) \
            == grpc.StatusCode.PERMISSION_DENIED
        assert not person.ListTasks(dpb.ListTasksRequest(case_number=other.case_number)).tasks
    assert county.Claim(dpb.TaskRef(task_id=county_task.task_id)).status == dpb.CLAIMED
    assert township.Claim(dpb.TaskRef(task_id=township_task.task_id)).status == dpb.CLAIMED
    assert [t.task_id for t in township.ListTasks(dpb.ListTasksRequest(case_number=township_case)).tasks] \
        == [township_task.task_id]
    # the refused acts wrote nothing
    assert system.sql("approval", "SELECT count(*) FROM tasks WHERE id IN (%s, %s) AND status = 'claimed'",
                      [county_task.task_id, township_task.task_id]) == [(2,)]


def test_a_clerk_accepts_for_the_organisation_of_their_post_and_a_leader_only_reads(system):
    clerk = system.as_person(system.intake_stub, *holder_of("acceptance_clerk", "zhangqiao-desk"))
    receipt = clerk.Submit(submission("MZ-001", "zhangqiao-desk", first_clerk=""))  # the clerk is the first contact
    assert receipt.case_number
    assert _code(lambda: clerk.Submit(submission("MZ-001", "luqiao-desk", first_clerk=""))) \
        == grpc.StatusCode.PERMISSION_DENIED
    leader = system.as_person(system.intake_stub, *holder_of("leader", "zhangqiao-centre"))
    other_leader = system.as_person(system.intake_stub, *holder_of("leader", "luqiao-centre"))
    county_leader = system.as_person(system.intake_stub, *holder_of("leader", "county-centre"))
    read = ipb.GetCaseRequest(case_number=receipt.case_number)
    assert leader.GetCase(read).case_number == county_leader.GetCase(read).case_number == receipt.case_number
    assert _code(lambda: other_leader.GetCase(read)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: leader.Submit(submission("MZ-001", "zhangqiao-desk"))) == grpc.StatusCode.PERMISSION_DENIED
