"""Who may call each method of the supervision API."""
from __future__ import annotations

from services.access import Role

D, C, S, M, L = Role.DEPARTMENT, Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.LEADER

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListWarnings": {D, S, L},
    "Instruct": {S},  # 督办: the office acts on a warning
    "ReplyToInstruction": {D},
    "ListFaults": {D, S, L},
    "Rate": {C, S},  # the rating device at the window, the online hall, a follow-up call
    # a rectification item is its department's; a centre's (its manager, C for its system) for an
    # acceptance desk, centre or village room, which have no department; the use case checks the
    # item is the caller's
    "ListRectifications": {D, C, S, M, L},
    "Rectify": {D, C, M},
    "FollowUp": {D, C, S, M},  # 回访: whoever answers for the item calls, the office may too
    "Appeal": {D, C, M},
    "ReviewAppeal": {S},
    "Complain": {C, S},  # the online form through its hall; phone, letter, mailbox by the office
    "AnswerComplaint": {D, S},
    "ListComplaints": {D, S, L},
    "GetFigures": {D, S, M, L},  # leaders read figures (考核); managers their halls'
}.items()}

# Methods whose answered calls are not recorded in the audit log (lists and figures); every other call
# is, and every refused one.
QUIET = frozenset({"ListWarnings", "ListFaults", "ListRectifications", "ListComplaints", "GetFigures"})
