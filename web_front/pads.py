"""The rating pads (评价器): a tablet paired by county IT to one accepting organisation (a window,
an acceptance desk, a village room) shows five large buttons when, and only when, a clerk of that
organisation invites a rating of the act just done; then it resets. A hall board (大屏) is paired
the same way, to a service centre, and then shows that centre's counts (kind BOARD).

County IT makes a pad (`onewindow pads pair`, or its page /it/pads), which gives a one-time pairing
code; the tablet enters it once at /pad (a board at /board/pair) and keeps a random device key in
a cookie (its SHA-256 here). The pad rates only its own organisation's invitations; the
supervision service, which keeps the rating, checks again that the act was that organisation's."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from psycopg.rows import dict_row

PAIRING_HOURS = 24  # a pairing code is good for this long
INVITATION_MINUTES = 10  # an invitation nobody answers closes after this long
ACCEPTANCE = "acceptance"  # the act of accepting a case, as supervision's Rate names it
PAD, BOARD = "pad", "board"  # what a paired device is: a rating pad, or a hall board


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Pad:
    """A paired device: a rating pad, or (kind BOARD) a hall board and its centre as `organisation`."""
    id: int
    organisation: str
    name: str
    kind: str = PAD


@dataclass(frozen=True)
class Invitation:
    id: int
    organisation: str
    case_number: str
    act: str
    invited_by: str
    expires_at: dt.datetime


class PadRefused(Exception):
    """A rating the pad may not give: `reason` is "not_invited" (nothing open, closed or expired)
    or "other_window" (an invitation of another organisation)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# county IT's acts on pads and boards, the same from the CLI (a psycopg connection) and the web front's page (its pool)
_MAKE = ("INSERT INTO web_front.pads (organisation, name, pairing_code_hash, pairing_expires, made_by, made_at,"
         " kind) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id")
_LIST = ("SELECT id, organisation, name, paired_at, made_by, made_at, revoked_at, kind FROM web_front.pads"
         " WHERE kind = ANY(%s) ORDER BY id")
_REVOKE = "UPDATE web_front.pads SET revoked_at = %s WHERE id = %s AND kind = ANY(%s) AND revoked_at IS NULL"


def _new_pad(organisation: str, name: str, made_by: str, now: dt.datetime, kind: str) -> tuple[str, tuple]:
    """A pairing code, 8 digits, and the parameters of `_MAKE` that keep only its hash."""
    code = f"{secrets.randbelow(10 ** 8):08d}"
    return code, (organisation, name, _hash(code), now + dt.timedelta(hours=PAIRING_HOURS), made_by, now, kind)


def make_pad(conn, organisation: str, name: str, made_by: str, now: dt.datetime, kind: str = PAD) -> tuple[int, str]:
    """A new pad of `organisation` (a psycopg connection, in its transaction), or a board of a
    centre: (its id, the one-time pairing code, 8 digits, to type on the device within PAIRING_HOURS)."""
    code, params = _new_pad(organisation, name, made_by, now, kind)
    return conn.execute(_MAKE, params).fetchone()[0], code


def list_pads(conn, kinds: tuple[str, ...] = (PAD,)) -> list[tuple]:
    return conn.execute(_LIST, (list(kinds),)).fetchall()


def revoke_pad(conn, pad_id: int, now: dt.datetime, kinds: tuple[str, ...] = (PAD,)) -> bool:
    """Unpair a pad or board (lost, replaced): it shows the pairing form again. False if unknown."""
    return conn.execute(_REVOKE, (now, pad_id, list(kinds))).rowcount == 1


class Pads:
    """The pads and invitations, and the boards, through the web front's connection pool (`pool()`)."""

    def __init__(self, pool):
        self._pool = pool

    async def make(self, organisation: str, name: str, made_by: str, now: dt.datetime,
                   kind: str = PAD) -> tuple[int, str]:
        """county IT's page: as `make_pad`."""
        code, params = _new_pad(organisation, name, made_by, now, kind)
        async with self._pool().connection() as conn:
            cur = await conn.execute(_MAKE, params)
            return (await cur.fetchone())[0], code

    async def all(self) -> list[dict]:
        """Every pad and board."""
        async with self._pool().connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_LIST, ([PAD, BOARD],))
            return await cur.fetchall()

    async def unpair(self, pad_id: int, now: dt.datetime) -> bool:
        async with self._pool().connection() as conn:
            return (await conn.execute(_REVOKE, (now, pad_id, [PAD, BOARD]))).rowcount == 1

    async def pair(self, code: str, now: dt.datetime, kind: str = PAD) -> tuple[Pad, str] | None:
        """Pair the device that typed `code`: (the pad or board, the device key for its cookie); None
        for a wrong, used or expired code, or one of the other kind."""
        device = secrets.token_urlsafe(32)
        async with self._pool().connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "UPDATE pads SET pairing_code_hash = NULL, device_hash = %s, paired_at = %s"
                " WHERE pairing_code_hash = %s AND pairing_expires > %s AND kind = %s AND revoked_at IS NULL"
                " RETURNING id, organisation, name, kind", (_hash(device), now, _hash(code.strip()), now, kind))
            row = await cur.fetchone()
        return (Pad(**row), device) if row else None

    async def find(self, device: str, kind: str = PAD) -> Pad | None:
        if not device:
            return None
        async with self._pool().connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT id, organisation, name, kind FROM pads WHERE device_hash = %s AND kind = %s"
                              " AND revoked_at IS NULL", (_hash(device), kind))
            row = await cur.fetchone()
        return Pad(**row) if row else None

    async def paired(self, organisation: str) -> bool:
        async with self._pool().connection() as conn:
            cur = await conn.execute("SELECT 1 FROM pads WHERE organisation = %s AND kind = 'pad'"
                                     " AND device_hash IS NOT NULL AND revoked_at IS NULL LIMIT 1", (organisation,))
            return await cur.fetchone() is not None

    async def invite(self, organisation: str, case_number: str, act: str, invited_by: str,
                     now: dt.datetime) -> Invitation:
        """Invite a rating on the organisation's pads; an invitation still open there is replaced."""
        expires = now + dt.timedelta(minutes=INVITATION_MINUTES)
        async with self._pool().connection() as conn, conn.transaction():
            await conn.execute("UPDATE pad_invitations SET closed_at = %s WHERE organisation = %s AND closed_at IS NULL",
                               (now, organisation))
            cur = await conn.execute(
                "INSERT INTO pad_invitations (organisation, case_number, act, invited_by, invited_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id", (organisation, case_number, act, invited_by, now,
                                                                   expires))
            (invitation_id,) = await cur.fetchone()
        return Invitation(invitation_id, organisation, case_number, act, invited_by, expires)

    async def open_invitation(self, pad: Pad, now: dt.datetime) -> Invitation | None:
        """What the pad shows now: its organisation's open invitation, if any."""
        async with self._pool().connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT id, organisation, case_number, act, invited_by, expires_at FROM pad_invitations"
                " WHERE organisation = %s AND closed_at IS NULL AND expires_at > %s ORDER BY id DESC LIMIT 1",
                (pad.organisation, now))
            row = await cur.fetchone()
        return Invitation(**row) if row else None

    async def claim(self, pad: Pad, invitation_id: int, now: dt.datetime) -> Invitation:
        """The invitation `pad` answers, if it may: open, unexpired and its own organisation's;
        PadRefused otherwise. It stays open until `rated`, so a failed rating may be given again."""
        async with self._pool().connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT id, organisation, case_number, act, invited_by, expires_at, closed_at FROM pad_invitations"
                " WHERE id = %s", (invitation_id,))
            row = await cur.fetchone()
        if row is None or row["closed_at"] is not None or row["expires_at"] <= now:
            raise PadRefused("not_invited")
        if row["organisation"] != pad.organisation:
            raise PadRefused("other_window")
        del row["closed_at"]
        return Invitation(**row)

    async def rated(self, pad: Pad, invitation: Invitation, level: int, now: dt.datetime) -> None:
        async with self._pool().connection() as conn:
            await conn.execute("UPDATE pad_invitations SET closed_at = %s, level = %s, rated_by_pad = %s"
                               " WHERE id = %s AND closed_at IS NULL", (now, level, pad.id, invitation.id))
