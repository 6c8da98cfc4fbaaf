"""The audit log across the hall: every service's chain verified, exported or pruned at once
(`onewindow audit-log …`). Each service keeps its own chain in its own schema (services/auditlog.py);
a schema not migrated yet has none and is passed over."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg import sql

from services import auditlog

from .processes import SERVICES


@contextmanager
def _connect(url: str, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema},public",
                         application_name=f"audit-log {schema}") as conn:
        yield conn


def chains(url: str, only: str | None = None) -> list[str]:
    """The service schemas (in the order of SERVICES) that have an audit log."""
    names = [s.name for s in SERVICES if only in (None, s.name)]
    with psycopg.connect(url, autocommit=True) as conn:
        return [name for name in names if conn.execute(
            "SELECT to_regclass(%s)", [sql.Identifier(name, "audit_log").as_string(conn)]).fetchone()[0]]


def verify_all(url: str) -> dict[str, auditlog.ChainCheck]:
    """Each service's chain check."""
    checks = {}
    for name in chains(url):
        with _connect(url, name) as conn:
            checks[name] = auditlog.verify(conn)
    return checks


def report_lines(checks: dict[str, auditlog.ChainCheck]) -> list[str]:
    return [f"{name}: {c.entries} entries, " + ("OK" if c.ok else f"BROKEN at seq {c.first_bad_seq}: {c.reason}")
            for name, c in checks.items()]


def export_all(url: str, since: datetime, until: datetime, service: str | None = None) -> Iterator[dict]:
    """The entries of [since, until), service by service, each naming its service."""
    for name in chains(url, service):
        with _connect(url, name) as conn:
            for entry in auditlog.export(conn, since, until):
                yield {"service": name, **entry}


def prune_all(url: str, keep_days: int, now: datetime) -> dict[str, int]:
    """The entries deleted per service."""
    deleted = {}
    for name in chains(url):
        with _connect(url, name) as conn:
            deleted[name] = auditlog.prune(conn, keep_days, now)
    return deleted
