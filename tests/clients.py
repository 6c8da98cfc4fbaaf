"""The running hall as its clients see it, whether its processes are OS processes (tests/e2e) or
one in-process hall (tests/flow): the gRPC APIs called with each holder's token or as a signed-in
person of the staff register, and the database read to check the books."""
from __future__ import annotations

import psycopg
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.identity.v1 import identity_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from onewindow.supervision.v1 import supervision_pb2_grpc

from services.access import CLIENT_HEADER, FRONT_HEADER, read_tokens
from services.grpcutil import api_channel
from tooling.settings import SystemSettings
from tooling.system import environment


class Running:
    def __init__(self, settings: SystemSettings, system):  # tooling.system.System or an InProcessHall
        self.settings = settings
        self.system = system
        self.tokens = read_tokens(settings.desk_tokens)
        self.intake_channel = api_channel(settings, settings.intake_port)
        self.desk_channel = api_channel(settings, settings.desk_port)
        self.intake_stub = intake_pb2_grpc.IntakeStub(self.intake_channel)
        self.intake = ClerkIntake(self)
        self._desk = self.desk_stub = desk_pb2_grpc.DepartmentDeskStub(self.desk_channel)
        self.supervision_channel = api_channel(settings, settings.supervision_port)
        self._supervision = self.supervision_stub = supervision_pb2_grpc.SupervisionStub(self.supervision_channel)
        self.identity_channel = api_channel(settings, settings.identity_port)
        self.identity = identity_pb2_grpc.IdentityStub(self.identity_channel)
        self.passwords: dict[str, str] = {}

    def desk(self, department: str) -> Desk:
        return Desk(self._desk, self.tokens[department])

    def intake_as(self, holder: str) -> Desk:
        """The intake API as one holder calls it: an organisation's clerks, an agent, `supervision`."""
        return Desk(self.intake_stub, self.tokens[holder])

    def supervision(self, department: str = "supervision") -> Desk:
        """The supervision API as a department (or, by default, the supervision office) calls it."""
        return Desk(self._supervision, self.tokens[department])

    def sign_in(self, staff_number: str, post_id: str = "") -> str:
        """A credential of this person of the register: a first password set as county IT would,
        changed at first sign-in, then kept for later sign-ins in this run."""
        # through the trusted front, from an address of the person's own: the limits per address
        # that other tests run into never stop a sign-in that is only a means to an end
        metadata = ((FRONT_HEADER, self.tokens["web"]), (CLIENT_HEADER, f"test-client-{staff_number}"))
        if staff_number not in self.passwords:
            from tooling.people import set_first_passwords

            (first,) = set_first_passwords(self.settings, [staff_number], replace=True)
            chosen = f"Hall-{staff_number[::-1]}-2026x"
            self.identity.ChangePassword(idpb.ChangePasswordRequest(
                staff_number=staff_number, current_password=first.password, new_password=chosen,
                post_id=post_id), metadata=metadata, timeout=10)
            self.passwords[staff_number] = chosen
        reply = self.identity.SignIn(idpb.SignInRequest(
            staff_number=staff_number, password=self.passwords[staff_number], post_id=post_id), metadata=metadata,
            timeout=10)
        return reply.credential

    def as_person(self, stub, staff_number: str, post_id: str = "") -> Desk:
        """Any API (`running.intake_stub`, `running.desk_stub`, …) as a signed-in person calls it."""
        return Desk(stub, self.sign_in(staff_number, post_id))

    def sql(self, schema: str, query: str, params=()) -> list[tuple]:
        with psycopg.connect(self.settings.database_url, autocommit=True,
                             options=f"-c search_path={schema}") as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def env(self) -> dict[str, str]:
        return environment(self.settings)

    def close(self) -> None:
        self.intake_channel.close()
        self.desk_channel.close()
        self.supervision_channel.close()
        self.identity_channel.close()


class Desk:
    """A department's system: every call carries its token."""

    def __init__(self, stub, token: str):
        self.stub = stub
        self.metadata = (("authorization", f"Bearer {token}"),)

    def __getattr__(self, method: str):
        call = getattr(self.stub, method)
        return lambda request, **kw: call(request, metadata=self.metadata, timeout=kw.pop("timeout", 10), **kw)


class ClerkIntake:
    """The intake API as the staff in charge of each call would call it, for tests about the case
    flow rather than about access: a submission by the clerks of the organisation it names (or by
    its agent), an act on a case by the clerks where it was accepted, a read by the supervision
    office, Track by the public. tests/flow/test_access.py asks as each role explicitly."""

    def __init__(self, running: Running):
        self.running = running

    def _holder(self, method: str, request) -> str | None:
        tokens = self.running.tokens
        if method == "Track":
            return None
        if method == "GetCase":
            return "supervision"
        if method == "Submit":
            holder = request.agent if request.channel == ipb.PROXY_AGENT and request.agent else request.organisation
            return holder if holder in tokens else "county-desk"
        rows = self.running.sql("intake", "SELECT organisation FROM cases WHERE case_number = %s",
                                (request.case_number,))
        return rows[0][0] if rows else "county-desk"

    def __getattr__(self, method: str):
        call = getattr(self.running.intake_stub, method)

        def calling(request, **kw):
            holder = self._holder(method, request)
            if holder is not None:
                kw["metadata"] = (("authorization", f"Bearer {self.running.tokens[holder]}"),)
            return call(request, timeout=kw.pop("timeout", 10), **kw)
        return calling
