"""Who may call what on the gRPC APIs: callers, their roles, and the one table of every method.

A caller presents `authorization: Bearer <token>`. The tokens file maps a holder's code to its
token, and the org chart says what the code is:
- a department (承办单位): its own tasks on the desk, its own warnings, rectifications, complaints;
- an organisation (a window, acceptance desk, village room or centre; the online hall submits as
  the organisation it files into): its acceptance clerks (受理员), the cases accepted there;
- an agent (代办员): the cases the agent carries, at the agent's own organisation;
- `supervision`, the supervision office (电子监察): reads everything, instructs on warnings (督办),
  rectifications, appeals and complaints.
`Track` is public: the case number and the applicant's phone digits are the credential, and
failed guesses are limited (intake_svc.tracking). Which row of a role a caller may touch (its own
task, its organisation's case) is checked by the use case, with the caller in hand.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import RootModel, StringConstraints

from .catalogue import OrgChart
from .errors import Forbidden, Unauthenticated
from .yamlfile import Document

SUPERVISION_OFFICE = "supervision"  # the tokens file's name for the supervision office
RECHECK_SECONDS = 5.0  # how often an API looks whether the tokens file has changed
log = logging.getLogger(__name__)


class Role(StrEnum):
    DEPARTMENT = "department"
    CLERK = "clerk"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    PUBLIC = "public"  # no credentials


@dataclass(frozen=True)
class Caller:
    role: Role
    code: str = ""  # the holder: department, organisation or agent code, or `supervision`
    organisation: str = ""  # where a clerk or an agent takes applications in

    def __str__(self) -> str:
        return f"{self.role.value} {self.code}" if self.code else self.role.value


PUBLIC = Caller(Role.PUBLIC)
D, C, A, S, P = Role.DEPARTMENT, Role.CLERK, Role.AGENT, Role.SUPERVISOR, Role.PUBLIC

# Every method of every API and the roles that may call it; a method missing here is refused.
POLICY: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "intake.Submit": {C, A},
    "intake.SupplyMaterials": {C, A},
    "intake.Withdraw": {C, A},  # at the applicant's request, who proves it with the phone digits
    "intake.GetCase": {C, A, S},
    "intake.Track": {P, C, A, D, S},
    "desk.ListTasks": {D},
    "desk.WatchTasks": {D},
    "desk.GetProgress": {D, S},
    "desk.Claim": {D},
    "desk.RequestSupplement": {D},
    "desk.StartSpecialProcedure": {D},
    "desk.EndSpecialProcedure": {D},
    "desk.Suspend": {D},
    "desk.Resume": {D},
    "desk.RequestCoHandling": {D},
    "desk.Decide": {D},
    "supervision.ListWarnings": {D, S},
    "supervision.Instruct": {S},  # 督办: the office acts on a warning
    "supervision.ReplyToInstruction": {D},
    "supervision.ListFaults": {D, S},
    "supervision.Rate": {C, S},  # the rating device at the window, the online hall, a follow-up call
    "supervision.ListRectifications": {D, S},
    "supervision.Rectify": {D},
    "supervision.FollowUp": {D, S},  # 回访: the department calls, the office may too
    "supervision.Appeal": {D},
    "supervision.ReviewAppeal": {S},
    "supervision.Complain": {C, S},  # the online form through its hall; phone, letter, mailbox by the office
    "supervision.AnswerComplaint": {D, S},
    "supervision.ListComplaints": {D, S},
    "supervision.GetFigures": {D, S},
}.items()}


class Credentials:
    """The holders of the tokens file, as callers; tokens are kept and compared as digests.

    The file is read at start (a bad file stops the process there) and again whenever it has
    changed, looked at no more often than every `recheck_seconds`: a token is rotated or revoked by
    rewriting the file (or updating its Kubernetes Secret), without a restart. A file gone missing
    or changed into a bad one is logged, and the tokens in force stay in force."""

    def __init__(self, path: Path, org: OrgChart, recheck_seconds: float = RECHECK_SECONDS):
        self.path, self.org, self.recheck_seconds = path, org, recheck_seconds
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._by_digest = self._index(read_tokens(path))
        self._next_check = time.monotonic() + recheck_seconds

    def _index(self, tokens: dict[str, str]) -> dict[bytes, Caller]:
        by_digest = {}
        for holder, token in tokens.items():
            caller = holder_role(holder, self.org)
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

    def caller(self, metadata) -> Caller:
        """The caller of a call with this metadata; PUBLIC without an authorization header."""
        header = dict(metadata or ()).get("authorization")
        if header is None:
            return PUBLIC
        token = header[7:] if header.startswith("Bearer ") else ""
        found = self._current().get(_digest(token)) if token else None
        if found is None:
            raise Unauthenticated("the token is not known (authorization: Bearer <token>)")
        return found


def _stamp(path: Path) -> bytes | None:
    """The file's digest (it is small), None while it is missing: it changes with any rewrite,
    however soon after the last one and whatever the file system's timestamps."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return None


def holder_role(holder: str, org: OrgChart) -> Caller | None:
    if holder == SUPERVISION_OFFICE:
        return Caller(Role.SUPERVISOR, holder)
    if org.department(holder) is not None:
        return Caller(Role.DEPARTMENT, holder)
    if org.organisation(holder) is not None:
        return Caller(Role.CLERK, holder, holder)
    agent = org.agent(holder)
    return Caller(Role.AGENT, holder, agent.organisation) if agent is not None else None


def holders(org: OrgChart) -> list[str]:
    """Everyone who gets a token: departments, organisations, agents and the supervision office."""
    return ([d.code for d in org.departments] + [o.code for o in org.organisations]
            + [a.code for a in org.agents] + [SUPERVISION_OFFICE])


def authorize(caller: Caller, method: str) -> None:
    """Raise Forbidden unless the caller's role may call `method` ("api.Method")."""
    if caller.role not in POLICY.get(method, ()):
        if caller.role == Role.PUBLIC:
            raise Unauthenticated(f"{method} needs credentials (authorization: Bearer <token>)")
        raise Forbidden(f"a {caller.role.value} may not call {method}")


def may_submit(caller: Caller, organisation: str, agent: str | None) -> None:
    """A clerk files into its own organisation; an agent files its own proxy cases there too."""
    if caller.role == Role.CLERK and organisation != caller.organisation:
        raise Forbidden(f"clerks of {caller.organisation} submit to {caller.organisation} only")
    if caller.role == Role.AGENT and (agent != caller.code or organisation != caller.organisation):
        raise Forbidden(f"agent {caller.code} submits its own proxy cases to {caller.organisation} only")


def may_see_case(caller: Caller, organisation: str, agent: str | None) -> None:
    """A case accepted at an organisation is its clerks'; a proxy case its agent's too; all the
    supervision office's."""
    if caller.role == Role.SUPERVISOR or (caller.role == Role.CLERK and organisation == caller.organisation) \
            or (caller.role == Role.AGENT and agent == caller.code):
        return
    raise Forbidden(f"{caller} may not see or act on a case accepted at {organisation}")


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
