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
import os
import secrets
import tempfile
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
    """The holders of the tokens file, as callers; tokens are kept and compared as digests."""

    def __init__(self, tokens: dict[str, str], org: OrgChart):
        self._by_digest: dict[bytes, Caller] = {}
        for holder, token in tokens.items():
            caller = holder_role(holder, org)
            if caller is not None:  # a holder gone from the org chart has no rights left
                self._by_digest[_digest(token)] = caller

    def caller(self, metadata) -> Caller:
        """The caller of a call with this metadata; PUBLIC without an authorization header."""
        header = dict(metadata or ()).get("authorization")
        if header is None:
            return PUBLIC
        token = header[7:] if header.startswith("Bearer ") else ""
        found = self._by_digest.get(_digest(token)) if token else None
        if found is None:
            raise Unauthenticated("the token is not known (authorization: Bearer <token>)")
        return found


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
