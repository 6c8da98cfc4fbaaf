"""Who may call each method of the supervision API."""
from __future__ import annotations

from services.access import Role

D, C, A, S, M, L = Role.DEPARTMENT, Role.CLERK, Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.LEADER
F, P = Role.FRONT, Role.PUBLIC

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListWarnings": {D, S, L},
    "CountWarnings": {D, S, L},  # the warning board: the office's, leaders', a department its own
    "Instruct": {S},  # 督办: the office acts on a warning
    "ReplyToInstruction": {D},
    "ListFaults": {D, S, L},
    # the rating device at the window, the online hall, a follow-up call; the web front online, and
    # on site for its rating pad paired to one window (the use case checks the act is that window's)
    "Rate": {C, S, F},
    # a rectification item is its department's; a centre's (its manager, C for its system) for an
    # acceptance desk, centre or village room, which have no department; the use case checks the
    # item is the caller's
    "ListRectifications": {D, C, S, M, L},
    "Rectify": {D, C, M},
    "FollowUp": {D, C, S, M},  # 回访: whoever answers for the item calls, the office may too
    "Appeal": {D, C, M},
    "ReviewAppeal": {S},
    # the online form through its hall or the web front (online only, limited per client); phone,
    # letter, mailbox by the office
    "Complain": {C, S, F},
    "AnswerComplaint": {D, S},
    "ListComplaints": {D, S, L},
    "GetFigures": {D, S, M, L},  # leaders read figures (考核); managers their halls'
    # the cases behind a number: a department its own, a manager its centre's (the use case selects)
    "ListFigureCases": {D, S, M, L},
    "GetAssessment": {S, M, L},  # 月度考核, 红旗窗口: the office and leaders; a manager their centre's windows
    # the complainant: the number and the phone's last 4 digits are the credential, as for intake's Track
    "LookUpComplaint": {P, F, C, A, D, S},
    "ListSuggestions": {D, S, L},  # 督办建议: the office's, a department its own, leaders read
    "CloseSuggestion": {S},
    # 当日汇总: read by the office, leaders and a centre's manager (its own); signed by a leader of the
    # centre (the use case checks which): a leader's only act in this API
    "GetDaySummary": {S, M, L},
    "SignDaySummary": {L},
    # the monthly 通报: issued by the office, read by the office and leaders
    "IssueBulletin": {S},
    "ListBulletins": {S, L},
    "GetBulletin": {S, L},
    # 代办制 (seeds/004): a township's agents against quota, read by its manager (their own), the office, leaders;
    # 抽查 drawn and recorded by the township's manager; 回访 chosen and recorded by the office
    "GetAgentQuotas": {S, M, L},
    "DrawSpotChecks": {M},
    "RecordSpotCheck": {M},
    "ListSpotChecks": {S, M, L},
    "SuggestFollowUps": {S},
    "SelectFollowUps": {S},
    "RecordFollowUpCall": {S},
    "ListFollowUpCalls": {S},
}.items()}

# Methods whose answered calls are not recorded in the audit log (lists and figures; the public lookup
# has its own limits); every other call is, and every refused one.
QUIET = frozenset({"ListWarnings", "CountWarnings", "ListFaults", "ListRectifications", "ListComplaints",
                   "GetFigures", "ListFigureCases", "GetAssessment", "LookUpComplaint", "ListSuggestions",
                   "GetDaySummary", "ListBulletins", "GetBulletin", "GetAgentQuotas", "ListSpotChecks",
                   "SuggestFollowUps", "ListFollowUpCalls"})
