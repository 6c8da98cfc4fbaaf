"""The whole system for end-to-end tests: every process its own OS process, on a database and a
RabbitMQ virtual host of the test module's own, with free ports and fresh department tokens."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from onewindow.supervision.v1 import supervision_pb2_grpc

from services.access import read_tokens
from services.config import Settings
from services.db import drop_database
from services.grpcutil import api_channel
from services.processes import commands
from services.system import System, environment
from tests.conftest import _rabbitmqctl
from tests.support import free_port, free_port_block


class Running:
    def __init__(self, settings: Settings, system: System):
        self.settings = settings
        self.system = system
        self.tokens = read_tokens(settings.desk_tokens)
        self.intake_channel = api_channel(settings, settings.intake_port)
        self.desk_channel = api_channel(settings, settings.desk_port)
        self.intake_stub = intake_pb2_grpc.IntakeStub(self.intake_channel)
        self.intake = ClerkIntake(self)
        self._desk = desk_pb2_grpc.DepartmentDeskStub(self.desk_channel)
        self.supervision_channel = api_channel(settings, settings.supervision_port)
        self._supervision = supervision_pb2_grpc.SupervisionStub(self.supervision_channel)

    def desk(self, department: str) -> Desk:
        return Desk(self._desk, self.tokens[department])

    def intake_as(self, holder: str) -> Desk:
        """The intake API as one holder calls it: an organisation's clerks, an agent, `supervision`."""
        return Desk(self.intake_stub, self.tokens[holder])

    def supervision(self, department: str = "supervision") -> Desk:
        """The supervision API as a department (or, by default, the supervision office) calls it."""
        return Desk(self._supervision, self.tokens[department])

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
    office, Track by the public. tests/e2e/test_access.py asks as each role explicitly."""

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


@contextmanager
def isolated_system(tmp, replicas: int = 1, **overrides):
    """Every process (`replicas` copies of each) on a database and a virtual host of their own."""
    base = Settings()
    name = uuid.uuid4().hex[:10]
    vhost = f"ow-e2e-{name}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, urlsplit(base.amqp_url).username or "guest", ".*", ".*", ".*")
    settings = base.model_copy(update={
        "database_url": urlunsplit(urlsplit(base.database_url)._replace(path=f"/onewindow_e2e_{name}")),
        "amqp_url": urlunsplit(urlsplit(base.amqp_url)._replace(path=f"/{vhost}")),
        "intake_port": free_port(), "desk_port": free_port(), "supervision_port": free_port(),
        "desk_tokens": tmp / "desk-tokens.yaml",
        "relay_poll_seconds": 0.5, **overrides})
    # every process serves /metrics, on consecutive ports in the order of `commands()`
    system = System(settings, tmp / "logs", metrics_base=free_port_block(len(commands("python")) * replicas),
                    replicas=replicas)
    try:
        with system:
            running = Running(settings, system)
            yield running
            running.close()
    finally:
        drop_database(settings.database_url)
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with isolated_system(tmp_path_factory.mktemp("system")) as running:
        yield running
