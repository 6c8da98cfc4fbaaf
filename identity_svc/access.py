"""Who may call each method of the identity API."""
from __future__ import annotations

from services.access import Role

P, ADMIN, HALL, MANAGER = Role.PUBLIC, Role.ADMIN, Role.HALL, Role.MANAGER
PERSONS = {Role.CLERK, Role.DEPARTMENT, Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.LEADER, Role.ADMIN}

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "SignIn": {P},
    "ChangePassword": {P},  # the current password proves the person
    "Refresh": PERSONS,  # the use case checks the caller is a person, not a system's token
    "WhoAmI": PERSONS,
    "GetAccount": {ADMIN},
    "ResetPassword": {ADMIN},
    "Unlock": {ADMIN},
    "Revoke": {ADMIN},
    "Reinstate": {ADMIN},
    "Trust": {HALL},
    # the duty rota: read by the hall's people and systems and the web front; a centre's manager
    # changes it (the use case checks it is their centre)
    "GetDuty": PERSONS | {Role.FRONT},
    "SetDuty": {MANAGER},
    # the register: county IT reads and changes it; a centre's manager reads their centre's posts,
    # the supervision office and leaders any centre's (the use case checks the manager's centre)
    "ListPersons": {ADMIN},
    "GetCentre": {ADMIN, MANAGER, Role.SUPERVISOR, Role.LEADER},
    "SetPosts": {ADMIN},
}.items()}

# Methods whose answered calls are not recorded in the audit log (a person's own posts; the APIs'
# trust every 2 s; who is on duty, shown in the hall; a centre's posts and holders, as the hall's
# notice board shows them); every other call is, and every refused one.
QUIET = frozenset({"WhoAmI", "Trust", "GetDuty", "GetCentre"})
