"""The audit log as the APIs write it: every act with its person, post, organisation, client and
result, refusals included, views of personal data; lists and the public lookup left out; each
service's chain verifying."""
from __future__ import annotations

import grpc
import jwt
import psycopg
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb

from services import auditlog
from services.access import CLIENT_HEADER, FRONT_HEADER
from tests.clients import Desk
from tests.flow.test_access import holder_of
from tests.flow_steps import submission, tasks_of


def entries(system, schema: str, **where) -> list[dict]:
    clause = " AND ".join(f"{k} = %s" for k in where) or "true"
    rows = system.sql(schema, f"SELECT action, result, person, post, organisation, holder, client, target "
                              f"FROM audit_log WHERE {clause} ORDER BY seq", list(where.values()))
    keys = ("action", "result", "person", "post", "organisation", "holder", "client", "target")
    return [dict(zip(keys, row)) for row in rows]


def test_each_act_is_recorded_with_its_person_post_and_result(system):
    number = system.intake.Submit(submission("MZ-001", "zhangqiao-desk")).case_number
    (task,) = tasks_of(system.desk("civil_affairs"), number)
    staff, post = holder_of("handler", task.organisation)
    handler = system.as_person(system.desk_stub, staff, post)
    handler.Claim(dpb.TaskRef(task_id=task.task_id))
    township = system.as_person(system.desk_stub, *holder_of("handler", "zhangqiao-window-civil-affairs"))
    try:
        township.Claim(dpb.TaskRef(task_id=task.task_id))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    acts = entries(system, "approval", target=task.task_id)
    assert [(a["action"], a["result"], a["person"]) for a in acts] == [
        ("desk.Claim", "OK", staff), ("desk.Claim", "PERMISSION_DENIED", holder_of("handler",
                                                                                 "zhangqiao-window-civil-affairs")[0])]
    assert acts[0]["post"] == post and acts[0]["organisation"] == task.organisation and acts[0]["holder"] == ""
    assert acts[0]["client"] == "ipv4:127.0.0.1"
    # the system token's acts name their holder; the submission is recorded with its case number
    (submitted,) = entries(system, "intake", target=number, action="intake.Submit")
    assert submitted["holder"] == "zhangqiao-desk" and submitted["person"] == "" and submitted["result"] == "OK"
    # the lists are not recorded
    handler.ListTasks(dpb.ListTasksRequest())
    assert not entries(system, "approval", action="desk.ListTasks")


def test_views_of_personal_data_are_recorded_and_the_public_lookup_is_not(system):
    request = submission("MZ-001", "county-desk")
    number = system.intake.Submit(request).case_number
    clerk = system.as_person(system.intake_stub, *holder_of("acceptance_clerk", "county-desk"))
    clerk.GetCase(ipb.GetCaseRequest(case_number=number))
    system.intake.Track(ipb.TrackRequest(case_number=number, phone_last4=request.applicant.phone[-4:]))
    views = entries(system, "intake", target=number, action="intake.GetCase")
    assert [(v["person"], v["result"]) for v in views] == [(holder_of("acceptance_clerk", "county-desk")[0], "OK")]
    assert not entries(system, "intake", target=number, action="intake.Track")


def test_sign_ins_failures_and_county_its_acts_are_recorded_with_the_real_client(system):
    staff, post = holder_of("acceptance_clerk", "sangjian-desk")
    system.sign_in(staff, post)
    front = ((FRONT_HEADER, system.tokens["web"]), (CLIENT_HEADER, "ipv4:10.9.0.7"))
    try:
        system.identity.SignIn(idpb.SignInRequest(staff_number=staff, password="wrong password 9"), metadata=front)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    admin_staff, admin_post = holder_of("it_admin", "county-centre")
    system.as_person(system.identity, admin_staff, admin_post).Unlock(idpb.AccountRef(staff_number=staff))
    log = [(e["action"], e["result"], e["person"], e["client"]) for e in entries(system, "identity", target=staff)]
    assert ("identity.ChangePassword", "OK", "", f"test-client-{staff}") in log
    assert ("identity.SignIn", "OK", "", f"test-client-{staff}") in log
    assert ("identity.SignIn", "UNAUTHENTICATED", "", "ipv4:10.9.0.7") in log
    assert log[-1][:3] == ("identity.Unlock", "OK", admin_staff)
    details = [d for (d,) in system.sql("identity", "SELECT detail FROM audit_log WHERE target = %s", [staff])]
    assert "wrong password (1 in a row)" in details  # why, for the record; the person heard the one message
    assert not any("wrong password 9" in d for d in details)  # a tried password is never written


def test_a_forged_credential_is_recorded_as_refused_and_every_chain_verifies(system):
    forged = jwt.encode({"sub": "SX0001", "post": "x"}, "not the key", algorithm="HS256")
    try:
        Desk(system.desk_stub, forged).Claim(dpb.TaskRef(task_id="T-forged"))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    try:
        system.supervision_stub.Instruct(spb.InstructRequest(warning_id=1, instruction="x"))  # no credentials
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    assert entries(system, "supervision", action="supervision.Instruct", result="UNAUTHENTICATED")
    (refused,) = entries(system, "approval", target="T-forged")
    assert (refused["action"], refused["result"], refused["person"], refused["holder"]) \
        == ("desk.Claim", "UNAUTHENTICATED", "", "")
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        for schema in ("intake", "approval", "supervision", "identity"):
            conn.execute(f"SET search_path = {schema}")
            check = auditlog.verify(conn)
            assert check.ok and check.entries > 0, (schema, check)
