"""Who may call each method of the department desk API."""
from __future__ import annotations

from services.access import Role

D, S = Role.DEPARTMENT, Role.SUPERVISOR

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListTasks": {D},
    "WatchTasks": {D},
    "GetProgress": {D, S},
    "Claim": {D},
    "RequestSupplement": {D},
    "StartSpecialProcedure": {D},
    "EndSpecialProcedure": {D},
    "Suspend": {D},
    "Resume": {D},
    "RequestCoHandling": {D},
    "Decide": {D},
}.items()}
