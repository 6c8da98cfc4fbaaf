"""What every gRPC API process of a service is built on: its pool and unit of work, the reference
files, the credentials of the tokens file. Each `grpc_api.build` starts from `ApiWiring.open` and
returns it, with whatever else it opened registered to close at the end."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from services.access import Credentials
from services.config import Settings
from services.db import open_pool
from services.timesource import TimeSource
from services.uow import unit_of_work_factory

from .holders import holder_role
from .reference import Reference, load_reference


@dataclass
class ApiWiring:
    settings: Settings
    pool: ConnectionPool
    unit_of_work: Callable
    reference: Reference
    credentials: Credentials
    closers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, service: str, time: TimeSource | None = None) -> ApiWiring:
        """`time`: where the use cases take `now` (the system clock unless a test sets it)."""
        pool = open_pool(settings.database_url, service, settings.api_db_pool_size, name=f"{service}-api")
        reference = load_reference(settings)
        return cls(settings, pool, unit_of_work_factory(pool, service, service, time), reference,
                   Credentials(settings.desk_tokens, functools.partial(holder_role, org=reference.org)))

    def on_close(self, close: Callable[[], None]) -> None:
        self.closers.append(close)

    def close(self) -> None:
        """At the end of the process: what the API opened (watch streams first), then the pool."""
        for close in reversed(self.closers):
            close()
        self.pool.close()
