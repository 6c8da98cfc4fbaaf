"""Who may call each method of the supervision API."""
from __future__ import annotations

from services.access import Role

D, C, S = Role.DEPARTMENT, Role.CLERK, Role.SUPERVISOR

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListWarnings": {D, S},
    "Instruct": {S},  # 督办: the office acts on a warning
    "ReplyToInstruction": {D},
    "ListFaults": {D, S},
    "Rate": {C, S},  # the rating device at the window, the online hall, a follow-up call
    "ListRectifications": {D, S},
    "Rectify": {D},
    "FollowUp": {D, S},  # 回访: the department calls, the office may too
    "Appeal": {D},
    "ReviewAppeal": {S},
    "Complain": {C, S},  # the online form through its hall; phone, letter, mailbox by the office
    "AnswerComplaint": {D, S},
    "ListComplaints": {D, S},
    "GetFigures": {D, S},
}.items()}
