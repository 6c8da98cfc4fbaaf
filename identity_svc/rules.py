"""The sign-in rules, free of the store and the transport: passwords, back-off, the address limit.

A wrong password makes the account back off: after `after` wrong passwords in a row each attempt
must wait, `first` doubling with every further wrong one up to `longest`; a right password, an
unlock or a reset clears it. The back-off never locks for good: a guesser can keep a clerk waiting
at most `longest` at a time, and the limit per client address (the person's own, behind the web
front) stops one address from guessing on after `per_address` wrong sign-ins in the window.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()  # Argon2id, the library's current recommended parameters
# Compared against when there is no account, so that an unknown staff number costs the same time.
_NOBODY = HASHER.hash(secrets.token_urlsafe(16))
_FIRST_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
MIN_LENGTH = 10


@dataclass(frozen=True)
class Backoff:
    after: int
    first: dt.timedelta
    longest: dt.timedelta

    def until(self, failures: int, last_failure_at: dt.datetime | None) -> dt.datetime | None:
        """When the account may try again; None when it does not back off."""
        if failures < self.after or last_failure_at is None:
            return None
        wait = min(self.first * 2 ** min(failures - self.after, 30), self.longest)
        return last_failure_at + wait


@dataclass(frozen=True)
class AddressLimit:
    per_address: int
    window: dt.timedelta


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _NOBODY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def first_password() -> str:
    """A first password to hand over on paper: 12 characters nobody misreads."""
    return "".join(secrets.choice(_FIRST_PASSWORD_ALPHABET) for _ in range(12))


def password_problems(new: str, current: str, staff_number: str) -> list[str]:
    """Why a new password will not do (empty: it will)."""
    problems = []
    if len(new) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(new) > 200:
        problems.append("at most 200 characters")
    if not any(c.isalpha() for c in new) or not any(c.isdigit() for c in new):
        problems.append("letters and digits both")
    if staff_number and staff_number.lower() in new.lower():
        problems.append("must not contain the staff number")
    if new == current:
        problems.append("must differ from the current password")
    return problems
