"""Signed-in persons' credentials, verified by every API process without a call per request.

The identity service signs a short-lived JWT (EdDSA) naming a person and one of their posts. Each
API process keeps the identity service's *trust*: the public keys that verify credentials, and
every post held now by an active, unrevoked person with the time before which that person's
credentials are no longer honoured (a reset password, a revocation). A background thread asks for
it every `refresh_seconds` (an unchanged trust costs one short answer), and at once when a
credential names a key it does not know (a key rotated in). So a person or a post removed from the
register, or revoked by county IT, is refused everywhere within seconds, while a signature check
is all a request costs. While the identity service cannot be reached, the trust last received stays
in force (credentials expire in minutes anyway); before any was received, persons are told to retry.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .access import Caller
from .errors import Unauthenticated, Unavailable

log = logging.getLogger(__name__)

ISSUER, AUDIENCE, ALGORITHM = "onewindow-identity", "onewindow", "EdDSA"
REFRESH_SECONDS = 2.0  # with the identity service's re-reading of the register (5 s), revocation within 10 s
KEY_REFRESH_GAP = 0.5  # an unknown key id (a rotated key, a forger's) asks again at most this often
VERIFIED_KEPT = 10_000  # credentials whose signature was checked, kept until they expire (or this many)
QUIET_OUTAGE_SECONDS = 10.0  # an identity service away for less is not worth a warning (a restart)


@dataclass(frozen=True)
class Trust:
    version: str
    keys: dict[str, object]  # key id -> public key
    holdings: dict[tuple[str, str], float] = field(default_factory=dict)  # (staff, post id) -> not before

    @classmethod
    def from_pem(cls, version: str, keys: dict[str, str], holdings: dict[tuple[str, str], float]) -> Trust:
        return cls(version, {kid: load_pem_public_key(pem.encode()) for kid, pem in keys.items()}, holdings)


class _Verified(NamedTuple):
    expires: float
    caller: Caller
    person: str
    post: str
    issued: float
    key_id: str


Fetch = Callable[[str], "Trust | None"]  # the held version -> a new trust, or None when unchanged


class PersonVerifier:
    """Verifies persons' credentials against the trust, kept current by a background thread.

    `fetch(version)` asks the identity service; `resolve(claims)` turns verified claims into the
    caller they make (the org chart's and the register's business)."""

    def __init__(self, fetch: Fetch, resolve: Callable[[dict], Caller | None],
                 refresh_seconds: float = REFRESH_SECONDS, leeway_seconds: float = 5.0):
        self.fetch, self.resolve = fetch, resolve
        self.refresh_seconds, self.leeway = refresh_seconds, leeway_seconds
        self.trust: Trust | None = None
        self._lock = threading.Lock()
        self._last_key_fetch = 0.0
        # credentials whose signature was checked once; whether their key is still trusted and
        # their post still held is looked up in the trust at every call
        self._verified: dict[str, _Verified] = {}
        self._failing_since: float | None = None
        self._warned = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PersonVerifier:
        self._thread = threading.Thread(target=self._run, name="identity-trust", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.refresh_seconds)

    def refresh(self) -> bool:
        """Ask for the trust now; False when the identity service did not answer."""
        with self._lock:
            try:
                fresh = self.fetch(self.trust.version if self.trust else "")
            except Exception as exc:  # noqa: BLE001 - any failure keeps the trust in force
                self._failed(exc)
                return False
            if self._failing_since is not None:
                log.info("identity service reached again")
                self._failing_since = None
            if fresh is not None:
                self.trust = fresh
            return True

    def _failed(self, exc: Exception) -> None:
        """Said once per outage, and only when it lasts: at start the identity API may not be up yet."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since, self._warned = now, False
        elif not self._warned and now - self._failing_since >= QUIET_OUTAGE_SECONDS:
            self._warned = True
            log.warning("identity service not reached for %.0f s (%s); the trust in force stays",
                        now - self._failing_since, getattr(exc, "details", lambda: exc)())

    def verify(self, credential: str) -> Caller:
        """The caller the credential makes, if it is genuine, unexpired, its key still trusted and its
        post still held by its person since before it was issued."""
        known = self._verified.get(credential)
        if known is None or known.expires <= time.time():  # a credential comes back with every call
            known = self._verify_signed(credential)
        trust = self.trust
        not_before = trust.holdings.get((known.person, known.post)) if trust else None
        if not_before is None or known.issued < not_before or known.key_id not in trust.keys:
            raise Unauthenticated("the credential was revoked: sign in again")
        return known.caller

    def _verify_signed(self, credential: str) -> _Verified:
        try:
            header = jwt.get_unverified_header(credential)
        except jwt.PyJWTError:
            raise Unauthenticated("the credential is not valid") from None
        key_id = header.get("kid", "")
        key = self._trust_with(key_id).keys.get(key_id)
        if key is None:
            raise Unauthenticated("the credential is not valid")
        try:
            claims = jwt.decode(credential, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                leeway=self.leeway, options={"require": ["exp", "iat", "sub", "post"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the credential has expired: sign in again") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the credential is not valid") from None
        caller = self.resolve(claims)
        if caller is None:
            raise Unauthenticated("the credential names a post the org chart does not have")
        verified = _Verified(claims["exp"], caller, claims["sub"], claims["post"], claims["iat"], key_id)
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified[credential] = verified
        return verified

    def _trust_with(self, key_id: str) -> Trust:
        trust = self.trust
        if trust is None or key_id not in trust.keys:
            if time.monotonic() - self._last_key_fetch >= KEY_REFRESH_GAP:  # a rotated key, or a forger's
                self._last_key_fetch = time.monotonic()
                self.refresh()
            trust = self.trust
        if trust is None:
            raise Unavailable("the identity service has not been reached yet: retry")
        return trust
