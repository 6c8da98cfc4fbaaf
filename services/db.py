"""PostgreSQL access: one pool per process, one schema per service, migrations per service.

Migrations are plain SQL files applied in order by yoyo-migrations, which records them in the
service's schema and locks against concurrent runs: first the kernel's (outbox, inbox), then the
service's own folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"
RECONNECT_SECONDS = 60.0


def schema_of(service_package: str) -> str:
    """A service's schema (= its nameko name and events exchange prefix): `intake_svc` -> `intake`."""
    return service_package.removesuffix("_svc")


def service_migrations(service_package: str) -> list[Path]:
    root = Path(__file__).resolve().parent.parent
    own = root / service_package / "migrations"
    return [KERNEL_MIGRATIONS] + ([own] if own.is_dir() else [])


def open_pool(url: str, schema: str, max_size: int = 10, name: str | None = None) -> ConnectionPool:
    """A pool whose connections see only `schema` (and public)."""
    if os.environ.get("PSYCOPG_WAIT_FUNC"):  # a bus process: a C wait would block the eventlet hub
        assert psycopg.waiting.wait.__name__ == os.environ["PSYCOPG_WAIT_FUNC"], \
            "psycopg was imported before PSYCOPG_WAIT_FUNC was set"
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"options": f"-c search_path={schema},public", "application_name": name or schema},
        name=name or schema,
        open=False,
        # psycopg_pool gives up a reconnection after this long (0 gave up at the first failure, and
        # then clients already waiting got nothing until their getconn timed out, 30 s after the
        # database came back); retries back off 1, 2, 4 … s, so a minute keeps the wait short.
        reconnect_timeout=RECONNECT_SECONDS,
    )
    pool.open(wait=False)
    return pool


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/postgres")), database


def ensure_database(url: str, template: str | None = None) -> None:
    """Create the database named in `url` if it does not exist yet (as a copy of the database
    `template`, if given: nobody may be connected to that one meanwhile)."""
    admin, database = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
            if template:
                create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(create)


def drop_database(url: str) -> None:
    admin, database = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def migrate(url: str, schema: str, sources: list[Path]) -> list[str]:
    """Apply the pending migrations of `sources` to `schema`; returns the ids applied."""
    from yoyo import get_backend, read_migrations

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    parts = urlsplit(primary_url(url))
    query = "&".join(filter(None, [parts.query, f"schema={schema}"]))
    backend = get_backend(urlunsplit(parts._replace(scheme="postgresql+psycopg", query=query)))
    migrations = read_migrations(*[str(s) for s in sources])
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()


def primary_url(url: str) -> str:
    """`url` naming the one server that answers it: for a URL of several servers (a primary and its
    standbys, `host1:port1,host2:port2`), the one libpq chose, for tools that take a single host."""
    parts = urlsplit(url)
    if "," not in parts.netloc:
        return url
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        host, port = conn.info.host, conn.info.port
    user = parts.netloc.rpartition("@")[0]
    host = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{user}@{host}:{port}" if user else f"{host}:{port}"))


def pending_migrations(url: str, schema: str, sources: list[Path], connect_timeout: int = 2) -> list[str]:
    """The ids of the migrations of `sources` not yet applied to `schema` (read-only)."""
    from yoyo import read_migrations

    wanted = [m.id for m in read_migrations(*[str(s) for s in sources])]
    with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout) as conn:
        table = conn.execute("SELECT to_regclass(%s)", [f'"{schema}"._yoyo_migration']).fetchone()[0]
        if table is None:
            return wanted
        applied = {row[0] for row in conn.execute(
            sql.SQL("SELECT migration_id FROM {}._yoyo_migration").format(sql.Identifier(schema)))}
    return [m for m in wanted if m not in applied]
