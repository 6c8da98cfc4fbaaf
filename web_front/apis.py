"""The gRPC APIs as the web front calls them: asyncio channels, and the trusted front's metadata.

Every call names the real client (`x-onewindow-client`) under the front's own token
(`x-onewindow-front`), so that the APIs' per-client limits count each browser, never the front.
A signed-in person's calls carry the person's credential; the public's carry none, except the
few calls the front makes on the public's behalf (an online rating, an online complaint), which
carry the front's own token."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.identity.v1 import identity_pb2_grpc
from onewindow.intake.v1 import intake_pb2_grpc
from onewindow.supervision.v1 import supervision_pb2_grpc

from hall.holders import WEB_FRONT
from services.access import CLIENT_HEADER, FRONT_HEADER, read_tokens
from services.grpcutil import api_channel, field_violations

from .settings import WebSettings

CALL_SECONDS = 10  # a page waits this long for an API at most


@dataclass
class ApiError(Exception):
    """An API's refusal, as a page shows it: the status name, its message, the fields at fault."""
    code: str
    message: str
    fields: list[tuple[str, str]]

    @classmethod
    def of(cls, error: grpc.aio.AioRpcError) -> ApiError:
        violations = field_violations(error) if error.code() == grpc.StatusCode.INVALID_ARGUMENT else []
        return cls(error.code().name, error.details() or "", violations)


class Apis:
    """Stubs of the four APIs on channels that live as long as the server's event loop (`open`
    within it)."""

    def __init__(self, settings: WebSettings):
        self.settings = settings
        self.front_token = read_tokens(settings.desk_tokens).get(WEB_FRONT, "")
        if not self.front_token:
            raise RuntimeError(f"no token for {WEB_FRONT!r} in {settings.desk_tokens} (run `onewindow migrate`)")
        self._channels: list[grpc.aio.Channel] = []

    def open(self) -> None:
        s = self.settings
        self._channels = [api_channel(s, port, host, asyncio=True) for host, port in (
            (s.intake_host, s.intake_port), (s.desk_host, s.desk_port), (s.supervision_host, s.supervision_port),
            (s.identity_host, s.identity_port))]
        intake, desk, supervision, identity = self._channels
        self.intake = intake_pb2_grpc.IntakeStub(intake)
        self.desk = desk_pb2_grpc.DepartmentDeskStub(desk)
        self.supervision = supervision_pb2_grpc.SupervisionStub(supervision)
        self.identity = identity_pb2_grpc.IdentityStub(identity)

    def metadata(self, client: str, credential: str | None = None, as_front: bool = False) -> tuple:
        """The metadata of a call for `client`: as the person of `credential`, as the front itself
        (`as_front`), or as the public."""
        headers = [(FRONT_HEADER, self.front_token), (CLIENT_HEADER, client)]
        if credential:
            headers.append(("authorization", f"Bearer {credential}"))
        elif as_front:
            headers.append(("authorization", f"Bearer {self.front_token}"))
        return tuple(headers)

    async def call(self, method, request, client: str, credential: str | None = None, as_front: bool = False):
        """Call `method` (a stub's bound method); ApiError for any refusal."""
        try:
            return await method(request, metadata=self.metadata(client, credential, as_front),
                                timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as error:
            raise ApiError.of(error) from None

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
