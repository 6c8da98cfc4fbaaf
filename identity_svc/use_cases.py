"""Identity's use cases over a unit of work: sign-in, password change, refresh, county IT's acts on
accounts, and the trust every API process verifies credentials with. The rules are in `rules`.

Who a person is and which posts they hold is the staff register's (a reference file county IT
keeps); this service keeps only their secrets and sign-in state. A refusal that must be remembered
(a wrong password) is returned, not raised, so that the caller commits it and then answers."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import jwt

from hall.catalogue import OrgChart
from hall.staff import Holding, Person, Staff
from services.access import Caller
from services.errors import (
    DomainError,
    Forbidden,
    InvalidRequest,
    NotAllowedNow,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from services.persons import ALGORITHM, AUDIENCE, ISSUER
from services.uow import UnitOfWork
from services.watched import WatchedFile

from . import store
from .keys import SigningKeys
from .rules import AddressLimit, Backoff, first_password, hash_password, password_matches, password_problems

SOURCE = "identity"
REFUSED = "sign-in refused: wrong staff number or password, or too many attempts (wait and try again)"


@dataclass(frozen=True)
class Issued:
    credential: str
    expires_at: dt.datetime
    person: Person
    holding: Holding


@dataclass(frozen=True)
class TrustView:
    version: str
    keys: dict[str, str]  # key id -> PEM public key
    holdings: list[tuple[str, str, float]]  # staff number, post id, not before (seconds since 1970)


def _refused(why: str) -> Unauthenticated:
    """The one answer to every refused sign-in; why it was refused is noted for the audit log only."""
    refusal = Unauthenticated(REFUSED)
    refusal.add_note(why)
    return refusal


class Identity:
    def __init__(self, staff: Staff, keys: WatchedFile[SigningKeys], org: OrgChart, credential_life: dt.timedelta,
                 backoff: Backoff, limit: AddressLimit):
        self.staff, self.keys, self.org = staff, keys, org
        self.credential_life, self.backoff, self.limit = credential_life, backoff, limit

    # --- persons ------------------------------------------------------------------------------

    def sign_in(self, uow: UnitOfWork, staff_number: str, password: str, post_id: str,
                client: str) -> Issued | DomainError:
        checked = self._check_password(uow, staff_number, password, client)
        if isinstance(checked, DomainError):
            return checked
        person, account = checked
        if account["must_change"]:
            return NotAllowedNow("the first password must be changed before signing in (ChangePassword)")
        holding = self._post(person, post_id)
        store.signed_in(uow, person.staff_number)
        return self._issue(person, holding, uow.time.now())

    def change_password(self, uow: UnitOfWork, staff_number: str, current: str, new: str, post_id: str,
                        client: str) -> Issued | DomainError:
        checked = self._check_password(uow, staff_number, current, client)
        if isinstance(checked, DomainError):
            return checked
        person, _ = checked
        if problems := password_problems(new, current, person.staff_number):
            raise InvalidRequest([("new_password", "; ".join(problems))])
        holding = self._post(person, post_id)
        now = uow.time.now()
        store.set_password(uow, person.staff_number, hash_password(new), must_change=False, at=now)
        return self._issue(person, holding, now)

    def refresh(self, caller: Caller, now: dt.datetime) -> Issued:
        """A fresh credential for the person and post of a valid one (the API verified it)."""
        person = self._signed_in(caller)
        holding = self.staff.register.holding(person.staff_number, caller.post)
        if holding is None:
            raise Unauthenticated("the post is no longer held: sign in again")
        return self._issue(person, holding, now)

    def who_am_i(self, caller: Caller) -> Person:
        return self._signed_in(caller)

    def _check_password(self, uow: UnitOfWork, staff_number: str, password: str,
                        client: str) -> tuple[Person, dict] | DomainError:
        """The person and their account (locked) when the password is right; else the refusal,
        with the wrong password counted against the account and the client's address."""
        now = uow.time.now()
        if store.address_failures(uow, client, now - self.limit.window) >= self.limit.per_address:
            return TooManyAttempts("too many wrong sign-ins from this address: wait and try again")
        person = self.staff.register.person(staff_number) if staff_number else None
        account = store.account(uow, staff_number, lock=True) if person is not None else None
        waiting = account is not None and self.backoff.until(account["failures"], account["last_failure_at"])
        if waiting and waiting > now:  # no guess is checked while the account backs off
            store.address_failed(uow, client, now, self.limit.window)
            return _refused(f"backing off until {waiting.isoformat()} after {account['failures']} wrong passwords")
        if not password_matches(account["password_hash"] if account else None, password):
            if account is not None:
                store.account_failed(uow, staff_number, now)
            store.address_failed(uow, client, now, self.limit.window)
            if person is None:
                return _refused("no such person in the register")
            if account is None or account["password_hash"] is None:
                return _refused("no password set yet")
            return _refused(f"wrong password ({account['failures'] + 1} in a row)")
        if not person.active or account["revoked_at"] is not None:
            return _refused("inactive in the register" if not person.active else "revoked by county IT")
        return person, account

    def _post(self, person: Person, post_id: str) -> Holding:
        if not post_id and len(person.posts) == 1:
            return person.posts[0]
        for holding in person.posts:
            if holding.post_id == post_id:
                return holding
        choices = ", ".join(h.post_id for h in person.posts)
        raise InvalidRequest([("post_id", f"one of your posts: {choices}")])

    def _signed_in(self, caller: Caller) -> Person:
        if not caller.person:
            raise Forbidden("a system's token signs nobody in: only a person's credential may")
        person = self.staff.register.person(caller.person)
        if person is None or not person.active:
            raise Unauthenticated("the person is no longer in the register: sign in again")
        return person

    def _issue(self, person: Person, holding: Holding, now: dt.datetime) -> Issued:
        key_id, key = self.keys.current.signing_key()
        expires = now + self.credential_life
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": person.staff_number, "iat": now.timestamp(),
                  "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex, "name": person.name,
                  "post": holding.post_id, "kind": holding.post.value, "org": holding.at, "holder": holding.holder,
                  "agent": holding.agent or ""}
        return Issued(jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_id}), expires, person, holding)

    # --- county IT ----------------------------------------------------------------------------

    def account(self, uow: UnitOfWork, staff_number: str) -> tuple[Person, dict | None]:
        person = self.staff.register.person(staff_number)
        if person is None:
            raise NotFound(f"no person {staff_number!r} in the staff register")
        return person, store.account(uow, staff_number)

    def reset_password(self, uow: UnitOfWork, staff_number: str) -> tuple[str, Person, dict]:
        """A first password for the person (to be changed at first sign-in); their credentials end."""
        person, _ = self.account(uow, staff_number)
        store.ensure_account(uow, staff_number)
        password = first_password()
        store.set_password(uow, staff_number, hash_password(password), must_change=True, at=uow.time.now())
        return password, person, store.account(uow, staff_number)

    def unlock(self, uow: UnitOfWork, staff_number: str) -> tuple[Person, dict]:
        person, _ = self.account(uow, staff_number)
        store.ensure_account(uow, staff_number)
        store.unlock(uow, staff_number)
        return person, store.account(uow, staff_number)

    def revoke(self, uow: UnitOfWork, by: Caller, staff_number: str, reason: str) -> tuple[Person, dict]:
        """The person's credentials end at once (within seconds in every API) and they may not sign in."""
        if not reason.strip() or len(reason) > 500:
            raise InvalidRequest([("reason", "required, at most 500 characters")])
        if staff_number == by.person:
            raise NotAllowedNow("county IT does not revoke its own account")
        person, _ = self.account(uow, staff_number)
        store.ensure_account(uow, staff_number)
        store.revoke(uow, staff_number, by.person or by.code, reason, uow.time.now())
        return person, store.account(uow, staff_number)

    def reinstate(self, uow: UnitOfWork, staff_number: str) -> tuple[Person, dict]:
        person, _ = self.account(uow, staff_number)
        store.ensure_account(uow, staff_number)
        store.reinstate(uow, staff_number)
        return person, store.account(uow, staff_number)

    def active(self, person: Person, account: dict | None) -> bool:
        return person.active and (account is None or account["revoked_at"] is None)

    def locked_until(self, account: dict | None) -> dt.datetime | None:
        return None if account is None else self.backoff.until(account["failures"], account["last_failure_at"])

    # --- the API processes' trust -------------------------------------------------------------

    def trust(self, uow: UnitOfWork, held_version: str) -> TrustView | None:
        """The keys and the posts held now by active, unrevoked persons; None when `held_version`
        is still current."""
        marks = store.marks(uow)
        holdings = sorted((staff, post, marks.get(staff, (False, 0.0))[1])
                          for staff, post in self.staff.register.active_holdings()
                          if not marks.get(staff, (False, 0))[0])
        keys = self.keys.current.public_pems()
        version = hashlib.sha256(json.dumps([sorted(keys.items()), holdings]).encode()).hexdigest()[:16]
        return None if version == held_version else TrustView(version, keys, holdings)
