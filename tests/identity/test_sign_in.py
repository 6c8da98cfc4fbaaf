"""Sign-in over the real APIs (the in-process hall): first passwords, back-off, the address limit
behind the trusted front, credentials expired, forged, revoked, refreshed and rotated."""
from __future__ import annotations

import shutil
import time
import uuid

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.intake.v1 import intake_pb2 as ipb

from identity_svc.keys import read_keys, rotate
from services.access import CLIENT_HEADER, FRONT_HEADER
from services.persons import AUDIENCE, ISSUER
from tests.clients import Desk
from tests.conftest import in_process_hall
from tests.flow.test_access import holder_of
from tests.support import wait_until
from tooling.people import set_first_passwords

CLERK = holder_of("acceptance_clerk", "county-desk")  # (staff number, post id)
HANDLER = holder_of("handler", "county-window-land-resources")
ADMIN = holder_of("it_admin", "county-centre")


def code_of(call) -> grpc.StatusCode:
    try:
        call()
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        return exc.code()


def front(system, client: str) -> tuple:
    """Metadata of a call through the trusted front for the person at `client`."""
    return ((FRONT_HEADER, system.tokens["web"]), (CLIENT_HEADER, client))


def sign_in(system, staff: str, password: str, client: str, post_id: str = ""):
    return system.identity.SignIn(idpb.SignInRequest(staff_number=staff, password=password, post_id=post_id),
                                  metadata=front(system, client), timeout=10)


def test_a_first_password_is_changed_before_the_first_credential(system):
    staff, post = holder_of("acceptance_clerk", "luqiao-desk")
    (first,) = set_first_passwords(system.settings, [staff], replace=True)
    client = f"ipv4:10.1.0.{uuid.uuid4().int % 250}"
    with pytest.raises(grpc.RpcError) as refused:
        sign_in(system, staff, first.password, client)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as weak:
        system.identity.ChangePassword(idpb.ChangePasswordRequest(
            staff_number=staff, current_password=first.password, new_password="12345678"), timeout=10)
    assert weak.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "new_password" in weak.value.details()
    reply = system.identity.ChangePassword(idpb.ChangePasswordRequest(
        staff_number=staff, current_password=first.password, new_password="luqiao desk 2026"), timeout=10)
    assert reply.post.post_id == post and reply.person.name
    me = Desk(system.identity, reply.credential).WhoAmI(idpb.WhoAmIRequest())
    assert me.staff_number == staff and [p.post_id for p in me.posts] == [post]
    assert sign_in(system, staff, "luqiao desk 2026", client).credential
    with pytest.raises(grpc.RpcError) as old:
        sign_in(system, staff, first.password, client)
    assert old.value.code() == grpc.StatusCode.UNAUTHENTICATED
    hashes = system.sql("identity", "SELECT password_hash FROM accounts WHERE staff_number = %s", [staff])
    assert hashes[0][0].startswith("$argon2id$") and "luqiao" not in hashes[0][0]


def test_wrong_passwords_back_off_the_account_with_one_message_and_county_it_unlocks_it(system):
    staff, _ = CLERK
    system.sign_in(*CLERK)  # the password is set and known
    client = "ipv4:10.2.0.1"
    answers = []
    for _ in range(5):
        with pytest.raises(grpc.RpcError) as wrong:
            sign_in(system, staff, "not the password 1", client)
        answers.append((wrong.value.code(), wrong.value.details()))
    with pytest.raises(grpc.RpcError) as unknown:
        sign_in(system, "SX9999", "not the password 1", client)
    assert set(answers) == {(unknown.value.code(), unknown.value.details())}
    assert answers[0][0] == grpc.StatusCode.UNAUTHENTICATED
    # backing off: even the right password is refused, with the same message
    with pytest.raises(grpc.RpcError) as waiting:
        sign_in(system, staff, system.passwords[staff], client)
    assert (waiting.value.code(), waiting.value.details()) == answers[0]
    admin = system.as_person(system.identity, *ADMIN)
    account = admin.GetAccount(idpb.AccountRef(staff_number=staff))
    assert account.failures == 5 and account.locked_until and account.active
    assert admin.Unlock(idpb.AccountRef(staff_number=staff)).failures == 0
    assert sign_in(system, staff, system.passwords[staff], client).credential


def test_county_it_resets_a_password_and_the_old_credentials_end(system):
    staff, post = HANDLER
    old = system.sign_in(staff, post)
    desk = Desk(system.desk_stub, old)
    assert code_of(lambda: desk.ListTasks(dpb.ListTasksRequest())) == grpc.StatusCode.OK
    admin = system.as_person(system.identity, *ADMIN)
    reset = admin.ResetPassword(idpb.AccountRef(staff_number=staff))
    assert reset.account.must_change_password and len(reset.first_password) >= 12
    wait_until(lambda: code_of(lambda: desk.ListTasks(dpb.ListTasksRequest())) == grpc.StatusCode.UNAUTHENTICATED,
               timeout=10, what="the reset to end the old credential everywhere")
    system.passwords.pop(staff)  # the next sign-in goes through a first password again


def test_expired_and_forged_credentials_are_refused(system):
    keys = read_keys(system.settings.signing_keys)
    kid, key = keys.signing_key()
    staff, post = CLERK
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": staff, "post": post, "kind": "acceptance_clerk",
              "org": "county-desk", "name": "x", "agent": ""}
    expired = jwt.encode({**claims, "iat": now - 3600, "exp": now - 1800}, key, algorithm="EdDSA",
                         headers={"kid": kid})
    forged = jwt.encode({**claims, "iat": now, "exp": now + 600}, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": kid})
    genuine = system.sign_in(*CLERK)
    head, body, signature = genuine.split(".")
    other_body = jwt.utils.base64url_encode(jwt.utils.base64url_decode(body).replace(
        b'"county-desk"', b'"luqiao-desk"')).decode()
    read = ipb.GetCaseRequest(case_number="NO-SUCH-CASE")
    answers = {}
    for name, credential in (("expired", expired), ("forged", forged), ("edited", f"{head}.{other_body}.{signature}"),
                             ("garbage", "a.b.c")):
        with pytest.raises(grpc.RpcError) as refused:
            Desk(system.intake_stub, credential).GetCase(read)
        answers[name] = (refused.value.code(), refused.value.details())
    assert {code for code, _ in answers.values()} == {grpc.StatusCode.UNAUTHENTICATED}
    assert "expired" in answers["expired"][1]
    assert code_of(lambda: Desk(system.intake_stub, genuine).GetCase(read)) == grpc.StatusCode.NOT_FOUND


def test_a_credential_refreshed_and_a_signing_key_rotated_without_downtime(system):
    credential = system.sign_in(*CLERK)
    fresh = Desk(system.identity, credential).Refresh(idpb.RefreshRequest())
    assert fresh.post.post_id == CLERK[1] and fresh.credential != credential
    old_kid = read_keys(system.settings.signing_keys).signing
    new_kid = rotate(system.settings.signing_keys)
    read = ipb.GetCaseRequest(case_number="NO-SUCH-CASE")
    # the identity service signs with the new key once it has re-read the file …
    signed = wait_until(lambda: (c := system.sign_in(*CLERK)) and jwt.get_unverified_header(c)["kid"] == new_kid and c,
                        timeout=10, what="the new signing key")
    # … every API verifies it at once, and the credentials of the old key stay valid until they expire
    assert code_of(lambda: Desk(system.intake_stub, signed).GetCase(read)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: Desk(system.intake_stub, credential).GetCase(read)) == grpc.StatusCode.NOT_FOUND
    assert set(read_keys(system.settings.signing_keys).private) == {old_kid, new_kid}


# --- a hall of its own: small limits, and a register file to edit ------------------------------


@pytest.fixture(scope="module")
def small_hall(tmp_path_factory):
    from tooling.settings import SystemSettings

    tmp = tmp_path_factory.mktemp("small")
    staff = tmp / "staff.yaml"
    shutil.copy(SystemSettings().staff, staff)
    with in_process_hall(tmp, staff=staff, sign_in_failures_per_address=3, track_failures_per_address=3) as running:
        yield running


def test_the_address_limit_counts_each_real_client_behind_the_front_and_ignores_a_forged_one(small_hall):
    system = small_hall
    staff, _ = CLERK
    system.sign_in(*CLERK)
    for _ in range(3):
        assert code_of(lambda: sign_in(system, "SX9999", "wrong password 1", "ipv4:10.3.0.1")) \
            == grpc.StatusCode.UNAUTHENTICATED
    # that address is stopped, even with a right password …
    assert code_of(lambda: sign_in(system, staff, system.passwords[staff], "ipv4:10.3.0.1")) \
        == grpc.StatusCode.RESOURCE_EXHAUSTED
    # … another citizen behind the same front is not, and the clerk's account did not back off
    assert sign_in(system, staff, system.passwords[staff], "ipv4:10.3.0.2").credential
    # a client address named by anyone but the front is ignored: the guesses count against its own
    forged = ((CLIENT_HEADER, "ipv4:10.3.0.9"),)
    for _ in range(3):
        assert code_of(lambda: system.identity.SignIn(idpb.SignInRequest(
            staff_number="SX9999", password="wrong password 1"), metadata=forged)) == grpc.StatusCode.UNAUTHENTICATED
    assert code_of(lambda: system.identity.SignIn(idpb.SignInRequest(
        staff_number="SX9999", password="wrong password 1"), metadata=forged)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert system.sql("identity", "SELECT count(*) FROM sign_in_failures WHERE address = 'ipv4:10.3.0.9'") == [(0,)]
    assert sign_in(system, staff, system.passwords[staff], "ipv4:10.3.0.9").credential  # through the front


def test_the_public_track_limit_counts_each_real_client_behind_the_front(small_hall):
    system = small_hall
    guess = lambda client: code_of(lambda: system.intake_stub.Track(  # noqa: E731
        ipb.TrackRequest(case_number=f"NO-{uuid.uuid4().hex[:8]}", phone_last4="0000"),
        metadata=front(system, client), timeout=10))
    assert [guess("ipv4:10.4.0.1") for _ in range(3)] == [grpc.StatusCode.NOT_FOUND] * 3
    assert guess("ipv4:10.4.0.1") == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert guess("ipv4:10.4.0.2") == grpc.StatusCode.NOT_FOUND  # one busy web server locks nobody else out
    rows = system.sql("intake", "SELECT DISTINCT peer FROM track_failures ORDER BY 1")
    assert rows == [("ipv4:10.4.0.1",), ("ipv4:10.4.0.2",)]


def test_revoking_a_person_or_removing_a_post_takes_effect_everywhere_within_ten_seconds(small_hall):
    system = small_hall
    read = dpb.ListTasksRequest()
    handler = Desk(system.desk_stub, system.sign_in(*HANDLER))
    assert code_of(lambda: handler.ListTasks(read)) == grpc.StatusCode.OK
    admin = system.as_person(system.identity, *ADMIN)
    started = time.monotonic()
    assert not admin.Revoke(idpb.RevokeRequest(staff_number=HANDLER[0], reason="调离")).active
    wait_until(lambda: code_of(lambda: handler.ListTasks(read)) == grpc.StatusCode.UNAUTHENTICATED,
               timeout=10, what="the revocation to reach the desk")
    revoked_after = time.monotonic() - started
    assert code_of(lambda: sign_in(system, HANDLER[0], system.passwords[HANDLER[0]], "ipv4:10.5.0.1")) \
        == grpc.StatusCode.UNAUTHENTICATED
    admin.Reinstate(idpb.AccountRef(staff_number=HANDLER[0]))

    # a post taken out of the register file (county IT's edit) ends the credentials of that post
    clerk_staff, clerk_post = holder_of("acceptance_clerk", "fangang-desk")
    clerk = Desk(system.intake_stub, system.sign_in(clerk_staff, clerk_post))
    check = lambda: code_of(lambda: clerk.GetCase(ipb.GetCaseRequest(case_number="NO-SUCH")))  # noqa: E731
    assert check() == grpc.StatusCode.NOT_FOUND
    register = system.settings.staff
    lines = register.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [line.replace("{staff_number: %s," % clerk_staff, "{active: false, staff_number: %s," % clerk_staff)
              for line in lines]
    assert edited != lines
    started = time.monotonic()
    register.write_text("".join(edited), encoding="utf-8")
    wait_until(lambda: check() == grpc.StatusCode.UNAUTHENTICATED, timeout=10, what="the register edit")
    assert revoked_after < 10 and time.monotonic() - started < 10


def test_the_passwords_command_hands_out_first_passwords_in_a_file_only_its_owner_reads(system, tmp_path):
    import csv
    import subprocess

    from tests.tooling.test_cli import ONEWINDOW

    staff, post = holder_of("acceptance_clerk", "fangang-desk")
    sheet = tmp_path / "first.csv"
    done = subprocess.run([ONEWINDOW, "passwords", staff, "--replace", "--out", str(sheet)], env=system.env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sheet.stat().st_mode & 0o777 == 0o600
    (row,) = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert row["staff_number"] == staff and row["posts"] == post
    with pytest.raises(grpc.RpcError) as first:  # the first password works only to change it
        sign_in(system, staff, row["first_password"], "ipv4:10.6.0.1")
    assert first.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    system.passwords.pop(staff, None)
    unknown = subprocess.run([ONEWINDOW, "passwords", "SX9999"], env=system.env(), capture_output=True, text=True,
                             timeout=120)
    assert unknown.returncode == 1 and "SX9999" in unknown.stderr
