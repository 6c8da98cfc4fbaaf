"""Who calls a gRPC API: callers and their roles, the tokens file, and the check of a method's roles.

A caller presents `authorization: Bearer <token>`: a signed-in person's short-lived credential
(a JWT from the identity service, verified by `services.persons`), or a system's long-lived token
from the tokens file (a department's or a county system's, the supervision office's, the web
front's, the hall's own processes'). What a holder code is, and what a post makes a person, is the
org chart's and the register's business (`hall.holders`), handed in as `resolve` functions.
Each API names the roles allowed on each of its methods in its service's `access.py` (`ROLES`);
a method missing there is refused. Which row of a role a caller may touch (its own task, its
organisation's case) is checked by the use case, with the caller in hand.

The client's address is the peer's, except behind the trusted front: a call that carries the
front's own token in `x-onewindow-front` may name the real client in `x-onewindow-client`; from
anyone else that header is ignored. Limits that count guesses per address count that address.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Callable, Protocol

import yaml
from pydantic import RootModel, StringConstraints

from .errors import Forbidden, Unauthenticated
from .yamlfile import Document

RECHECK_SECONDS = 5.0  # how often an API looks whether the tokens file has changed
log = logging.getLogger(__name__)


class Role(StrEnum):
    DEPARTMENT = "department"  # a department's system; a handler, approver or checker at its window or office
    CLERK = "clerk"  # an organisation's acceptance and window clerks (受理员), or its system
    AGENT = "agent"  # a proxy agent (代办员)
    SUPERVISOR = "supervisor"  # the supervision office (电子监察)
    MANAGER = "manager"  # a centre's manager (中心主任)
    LEADER = "leader"  # a leader (带班领导): reads
    ADMIN = "admin"  # county IT: accounts and posts
    FRONT = "front"  # the trusted web front: may name the real client, acts only as the person it carries
    HALL = "hall"  # the hall's own API processes (the identity service's trust)
    PUBLIC = "public"  # no credentials


FRONT_HEADER, CLIENT_HEADER = "x-onewindow-front", "x-onewindow-client"


@dataclass(frozen=True)
class Caller:
    role: Role
    code: str = ""  # the holder: department, organisation or agent code, `supervision`, …
    organisation: str = ""  # where the caller works: a clerk's or agent's organisation, a person's post's
    person: str = ""  # a signed-in person's staff number; empty for a system's token
    post: str = ""  # the person's post id (organisation/kind/seat)
    name: str = ""  # the person's name, for the record
    client: str = ""  # the client's address (the real one behind the trusted front)

    def actor(self) -> dict:
        """This caller as an event and the case history name whoever did an act (contracts.Actor)."""
        return {"person": self.person, "name": self.name, "post": self.post, "organisation": self.organisation,
                "holder": self.code}

    def __str__(self) -> str:
        if self.person:
            return f"{self.name}（{self.person}）{self.post}"
        return f"{self.role.value} {self.code}" if self.code else self.role.value


PUBLIC = Caller(Role.PUBLIC)


class PersonCredentials(Protocol):
    def verify(self, credential: str) -> Caller: ...


class Credentials:
    """The holders of the tokens file, as callers; tokens are kept and compared as digests.

    The file is read at start (a bad file stops the process there) and again whenever it has
    changed, looked at no more often than every `recheck_seconds`: a token is rotated or revoked by
    rewriting the file (or updating its Kubernetes Secret), without a restart. A file gone missing
    or changed into a bad one is logged, and the tokens in force stay in force."""

    def __init__(self, path: Path, resolve: Callable[[str], Caller | None],
                 recheck_seconds: float = RECHECK_SECONDS, persons: PersonCredentials | None = None):
        self.path, self.resolve, self.recheck_seconds = path, resolve, recheck_seconds
        self.persons = persons
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._by_digest = self._index(read_tokens(path))
        self._next_check = time.monotonic() + recheck_seconds

    def _index(self, tokens: dict[str, str]) -> dict[bytes, Caller]:
        by_digest = {}
        for holder, token in tokens.items():
            caller = self.resolve(holder)
            if caller is not None:  # a holder gone from the org chart has no rights left
                by_digest[_digest(token)] = caller
        return by_digest

    def _current(self) -> dict[bytes, Caller]:
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = time.monotonic() + self.recheck_seconds
                self._recheck()
            finally:
                self._lock.release()
        return self._by_digest

    def _recheck(self) -> None:
        try:
            stamp = _stamp(self.path)
        except OSError as exc:
            log.error("tokens file %s cannot be read (%s); the tokens in force stay in force", self.path, exc)
            return
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is reported once, and read again when it changes
        if stamp is None:
            log.error("tokens file %s is gone; the tokens in force stay in force", self.path)
            return
        try:
            self._by_digest = self._index(read_tokens(self.path))
        except (OSError, ValueError) as exc:
            log.error("tokens file not re-read, the tokens in force stay in force: %s", exc)
        else:
            log.info("tokens file %s re-read: %d holder(s)", self.path, len(self._by_digest))

    def caller(self, metadata, peer: str = "") -> Caller:
        """The caller of a call with this metadata from `peer`; PUBLIC without an authorization header."""
        headers = dict(metadata or ())
        client = self.client(headers, peer)
        header = headers.get("authorization")
        if header is None:
            return replace(PUBLIC, client=client)
        token = header[7:] if header.startswith("Bearer ") else ""
        if self.persons is not None and token.count(".") == 2:  # a JWT; system tokens have no dots
            return replace(self.persons.verify(token), client=client)
        found = self._current().get(_digest(token)) if token else None
        if found is None:
            raise Unauthenticated("the token is not known (authorization: Bearer <token>)")
        return replace(found, client=client)

    def client(self, headers: dict, peer: str) -> str:
        """The real client's address when the trusted front names it, else the peer's."""
        named = headers.get(CLIENT_HEADER)
        if named is None:
            return peer
        front = headers.get(FRONT_HEADER, "")
        caller = self._current().get(_digest(front)) if front else None
        if caller is None or caller.role != Role.FRONT:
            log.debug("%s from an untrusted caller at %s ignored", CLIENT_HEADER, peer)
            return peer
        return named[:100]


def _stamp(path: Path) -> bytes | None:
    """The file's digest (it is small), None while it is missing: it changes with any rewrite,
    however soon after the last one and whatever the file system's timestamps."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return None


def authorize(caller: Caller, method: str, roles: dict[str, frozenset[Role]]) -> None:
    """Raise Forbidden unless the caller's role may call `method` ("api.Method") by its API's `roles`
    table (method name -> roles)."""
    if caller.role not in roles.get(method.rpartition(".")[2], ()):
        if caller.role == Role.PUBLIC:
            raise Unauthenticated(f"{method} needs credentials (authorization: Bearer <token>)")
        raise Forbidden(f"a {caller.role.value} may not call {method}")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class _TokensFile(RootModel[dict[str, Annotated[str, StringConstraints(min_length=16)]]]):
    """holder code -> token of 16 characters or more"""


def read_tokens(path: Path) -> dict[str, str]:
    """The secrets file's holder -> token mapping; empty while the file does not exist or is empty.
    A bad file raises ConfigFileError naming its line (never the token)."""
    if not path.exists():
        return {}
    document = Document(path)
    return {} if document.data is None else document.validate(_TokensFile, secret=True).root


def write_tokens(path: Path, holders: list[str]) -> list[str]:
    """Give every holder without a token in the secrets file a fresh random one (a new file for a
    local install; a department or organisation added to the org chart later gets its own)."""
    tokens = read_tokens(path)
    added = [h for h in holders if h not in tokens]
    if not added:
        return []
    tokens.update({h: secrets.token_urlsafe(24) for h in added})
    path.parent.mkdir(parents=True, exist_ok=True)
    # a new file beside it, then renamed: a crash leaves the old tokens or the new ones, never half
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(yaml.safe_dump(tokens, sort_keys=True))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return added
