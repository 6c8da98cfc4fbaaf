"""What every gRPC API process of a service is built on: its pool and unit of work, the reference
files, the credentials (systems' tokens from the tokens file, persons' from the identity service's
trust). Each `grpc_api.build` starts from `ApiWiring.open` and returns it, with whatever else it
opened registered to close at the end."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from onewindow.identity.v1 import identity_pb2 as ipb
from onewindow.identity.v1 import identity_pb2_grpc
from psycopg_pool import ConnectionPool

from services.access import Credentials, read_tokens
from services.config import Settings
from services.db import open_pool
from services.grpcutil import api_channel
from services.persons import PersonVerifier, Trust
from services.timesource import TimeSource
from services.uow import reading_factory, unit_of_work_factory
from services.watched import WatchedFile

from .holders import HALL_APIS, holder_role, person_caller
from .reference import Reference, load_reference


@dataclass
class ApiWiring:
    settings: Settings
    pool: ConnectionPool
    unit_of_work: Callable
    reading: Callable  # reads without a transaction (services.uow.reading_factory)
    reference: Reference
    credentials: Credentials
    closers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, service: str, time: TimeSource | None = None) -> ApiWiring:
        """`time`: where the use cases take `now` (the system clock unless a test sets it)."""
        pool = open_pool(settings.database_url, service, settings.api_db_pool_size, name=f"{service}-api")
        reference = load_reference(settings)
        fetch, close_channel = identity_trust(settings)
        persons = PersonVerifier(fetch, functools.partial(person_caller, org=reference.org)).start()
        credentials = Credentials(settings.desk_tokens, functools.partial(holder_role, org=reference.org),
                                  persons=persons)
        return cls(settings, pool, unit_of_work_factory(pool, service, service, time), reading_factory(pool, time),
                   reference, credentials, [close_channel, persons.close])

    def on_close(self, close: Callable[[], None]) -> None:
        self.closers.append(close)

    def close(self) -> None:
        """At the end of the process: what the API opened (watch streams first), then the pool."""
        for close in reversed(self.closers):
            close()
        self.pool.close()


def identity_trust(settings: Settings) -> tuple[Callable[[str], Trust | None], Callable[[], None]]:
    """Ask the identity service for its trust, as the hall's API processes (their token in the
    tokens file); and how to close the channel."""
    channel = api_channel(settings, settings.identity_port, settings.identity_host)
    stub = identity_pb2_grpc.IdentityStub(channel)
    # asked every 2 s: the file is parsed again only when it has changed
    token = WatchedFile(settings.desk_tokens, lambda path: read_tokens(path).get(HALL_APIS, ""))

    def fetch(version: str) -> Trust | None:
        reply = stub.Trust(ipb.TrustRequest(version=version), timeout=5,
                           metadata=(("authorization", f"Bearer {token.current}"),))
        if reply.unchanged:
            return None
        return Trust.from_pem(reply.version, {k.key_id: k.public_key_pem for k in reply.keys},
                              {(h.staff_number, h.post_id): h.not_before for h in reply.holdings})

    return fetch, channel.close
