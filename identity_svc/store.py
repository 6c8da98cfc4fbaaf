"""Identity's tables: accounts (password hashes, back-off, revocation), wrong sign-ins by address,
the centre managers' changes to the duty rota."""
from __future__ import annotations

import datetime as dt

from services.uow import UnitOfWork

_ACCOUNT = ("SELECT staff_number, password_hash, must_change, failures, last_failure_at, not_before, "
            "password_changed_at, revoked_at, revoked_by, revoke_reason FROM accounts WHERE staff_number = %s")


def _row(cur) -> dict | None:
    row = cur.fetchone()
    return None if row is None else dict(zip([c.name for c in cur.description], row))


def account(uow: UnitOfWork, staff_number: str, lock: bool = False) -> dict | None:
    return _row(uow.execute(_ACCOUNT + (" FOR UPDATE" if lock else ""), [staff_number]))


def accounts(uow: UnitOfWork, staff_numbers: list[str]) -> dict[str, dict]:
    """The accounts of these persons that have one, by staff number."""
    cur = uow.execute(_ACCOUNT.replace("staff_number = %s", "staff_number = ANY(%s)"), [staff_numbers])
    names = [c.name for c in cur.description]
    return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}


def ensure_account(uow: UnitOfWork, staff_number: str) -> dict:
    """The account, made (without a password) for a person of the register who has none yet; locked."""
    uow.execute("INSERT INTO accounts (staff_number) VALUES (%s) ON CONFLICT DO NOTHING", [staff_number])
    return account(uow, staff_number, lock=True)


def address_failures(uow: UnitOfWork, address: str, since: dt.datetime) -> int:
    return uow.execute("SELECT count(*) FROM sign_in_failures WHERE address = %s AND at >= %s",
                       [address, since]).fetchone()[0]


def address_failed(uow: UnitOfWork, address: str, at: dt.datetime, window: dt.timedelta) -> None:
    """Count a wrong sign-in against the address, and forget its ones older than the window."""
    uow.execute("DELETE FROM sign_in_failures WHERE address = %s AND at < %s", [address, at - window])
    uow.execute("INSERT INTO sign_in_failures (address, at) VALUES (%s, %s)", [address, at])


def account_failed(uow: UnitOfWork, staff_number: str, at: dt.datetime) -> None:
    uow.execute("UPDATE accounts SET failures = failures + 1, last_failure_at = %s WHERE staff_number = %s",
                [at, staff_number])


def signed_in(uow: UnitOfWork, staff_number: str) -> None:
    uow.execute("UPDATE accounts SET failures = 0, last_failure_at = NULL WHERE staff_number = %s AND failures > 0",
                [staff_number])


def set_password(uow: UnitOfWork, staff_number: str, password_hash: str, must_change: bool, at: dt.datetime) -> None:
    """A new password; a first one (set by county IT) also ends every credential issued before."""
    uow.execute(
        "UPDATE accounts SET password_hash = %s, must_change = %s, failures = 0, last_failure_at = NULL, "
        "password_changed_at = %s, not_before = CASE WHEN %s THEN %s ELSE not_before END WHERE staff_number = %s",
        [password_hash, must_change, at, must_change, at, staff_number])


def unlock(uow: UnitOfWork, staff_number: str) -> None:
    uow.execute("UPDATE accounts SET failures = 0, last_failure_at = NULL WHERE staff_number = %s", [staff_number])


def revoke(uow: UnitOfWork, staff_number: str, by: str, reason: str, at: dt.datetime) -> None:
    uow.execute("UPDATE accounts SET revoked_at = %s, revoked_by = %s, revoke_reason = %s, not_before = %s "
                "WHERE staff_number = %s", [at, by, reason, at, staff_number])


def reinstate(uow: UnitOfWork, staff_number: str) -> None:
    uow.execute("UPDATE accounts SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL "
                "WHERE staff_number = %s", [staff_number])


def marks(uow: UnitOfWork) -> dict[str, tuple[bool, float]]:
    """staff number -> (revoked, credentials not honoured before, seconds since 1970)."""
    rows = uow.execute("SELECT staff_number, revoked_at IS NOT NULL, extract(epoch FROM not_before)::float8 "
                       "FROM accounts").fetchall()
    return {staff: (revoked, not_before) for staff, revoked, not_before in rows}


def change_duty(uow: UnitOfWork, organisation: str, day: dt.date, staff_numbers: list[str], reason: str,
                by: dict, at: dt.datetime) -> None:
    """A centre manager's change of who is on duty (`by`: the manager as contracts.Actor has it)."""
    uow.execute("INSERT INTO duty_changes (organisation, day, staff_numbers, reason, set_by, set_by_name, "
                "set_by_post, set_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [organisation, day, staff_numbers, reason, by["person"], by["name"], by["post"], at])


def duty_change(uow: UnitOfWork, organisation: str, day: dt.date) -> dict | None:
    """The change in force for the day: the latest."""
    return _row(uow.execute("SELECT staff_numbers, reason, set_by, set_by_name, set_by_post, set_at "
                            "FROM duty_changes WHERE organisation = %s AND day = %s ORDER BY id DESC LIMIT 1",
                            [organisation, day]))
