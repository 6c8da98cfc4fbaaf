"""Signed-in sessions on the server: a random id in the browser's cookie, its hash here, with the
person's credential, an idle and an absolute timeout, and the session's CSRF token."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class Session:
    staff_number: str
    person_name: str
    post_id: str
    post_label: str
    organisation_name: str
    credential: str
    credential_expires: dt.datetime
    csrf: str
    created_at: dt.datetime

    @property
    def organisation(self) -> str:
        """The code of the organisation of the post signed in at (a post id is organisation/kind/seat)."""
        return self.post_id.split("/")[0]

    @property
    def post_kind(self) -> str:
        return self.post_id.split("/")[1] if self.post_id.count("/") >= 2 else ""


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class Sessions:
    """The sessions table through a pool that opens and closes with the server's event loop."""

    def __init__(self, database_url: str, pool_size: int, idle: dt.timedelta, absolute: dt.timedelta):
        self.database_url, self.pool_size, self.idle, self.absolute = database_url, pool_size, idle, absolute
        self.pool: AsyncConnectionPool | None = None

    async def connect(self) -> None:
        self.pool = AsyncConnectionPool(self.database_url, min_size=1, max_size=self.pool_size, open=False,
                                        kwargs={"options": "-c search_path=web_front,public",
                                                "application_name": "web"})
        await self.pool.open(wait=False)

    async def disconnect(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def open(self, signed_in, now: dt.datetime) -> tuple[str, Session]:
        """A new session (a new id at every sign-in) for identity's SignInReply; (id, session)."""
        session_id = secrets.token_urlsafe(32)
        post = signed_in.post
        session = Session(signed_in.person.staff_number, signed_in.person.name, post.post_id, post.label,
                          post.organisation_name, signed_in.credential,
                          dt.datetime.fromisoformat(signed_in.expires_at), secrets.token_urlsafe(24), now)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO sessions (id_hash, staff_number, person_name, post_id, post_label, organisation_name,"
                " credential, credential_expires, csrf, created_at, seen_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (_hash(session_id), session.staff_number, session.person_name, session.post_id, session.post_label,
                 session.organisation_name, session.credential, session.credential_expires, session.csrf, now, now))
        return session_id, session

    async def find(self, session_id: str, now: dt.datetime) -> Session | None:
        """The live session of this id, its idle clock restarted; None when unknown or timed out."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "UPDATE sessions SET seen_at = %s WHERE id_hash = %s AND seen_at > %s AND created_at > %s"
                " RETURNING staff_number, person_name, post_id, post_label, organisation_name, credential,"
                " credential_expires, csrf, created_at",
                (now, _hash(session_id), now - self.idle, now - self.absolute))
            row = await cur.fetchone()
        return Session(**row) if row else None

    async def renew(self, session_id: str, credential: str, expires: dt.datetime) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE sessions SET credential = %s, credential_expires = %s WHERE id_hash = %s",
                               (credential, expires, _hash(session_id)))

    async def close(self, session_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM sessions WHERE id_hash = %s", (_hash(session_id),))

    async def prune(self, now: dt.datetime) -> int:
        """Delete the sessions that have timed out; how many."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("DELETE FROM sessions WHERE seen_at <= %s OR created_at <= %s",
                                     (now - self.idle, now - self.absolute))
            return cur.rowcount
