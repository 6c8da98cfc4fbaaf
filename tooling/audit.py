"""The books of a run checked against the store: what every service recorded, whatever its
clients saw. Used by `onewindow chaos` after each fault and by the end-to-end tests.

Each check returns findings, `(kind, text)`: `lost` (an accepted case or an effect that never
happened), `duplicate` (an effect that happened twice) or `broken` (anything else: an
unpublished outbox row, a message dead-lettered that should not have been, a history chain that
does not verify). An empty list is a pass. The auditor reads every service's schema, as an
operator would; the services themselves never do.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import kombu
import psycopg

from intake_svc.history import Entry, verify
from services.relay import DEAD_LETTER_QUEUE

from .auditlog import verify_all
from .processes import SERVICES

LOST, DUPLICATE, BROKEN = "lost", "duplicate", "broken"
Finding = tuple[str, str]

CONCLUDED = {"concluded"}
# Ended without a decision, or waiting for the applicant: nothing more is owed by the system.
WAITING = {"supplement_required", "not_accepted", "withdrawn", "waiting_supplement"}
# History entries written once per event; the key tells apart the entries that may repeat.
ONCE = "kind IN ('received', 'accepted', 'routed', 'stage_opened', 'concluded', 'notice_delivered')"
ENTRY_KEY = "kind || ':' || coalesce(body::jsonb #>> '{detail,stage}', '') || ':' || " \
            "coalesce(body::jsonb #>> '{detail,notice}', '') || ':' || coalesce(body::jsonb #>> '{detail,channel}', '')"


class Store:
    """Read-only queries over every service's schema."""

    def __init__(self, database_url: str):
        self.conn = psycopg.connect(database_url, autocommit=True)

    def rows(self, query: str, params: Iterable = ()) -> list[tuple]:
        return self.conn.execute(query, list(params)).fetchall()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def unsettled_cases(store: Store) -> list[tuple[str, str]]:
    """(case number, status) of every case the system still owes something."""
    return store.rows("SELECT case_number, status FROM intake.cases WHERE NOT status = ANY(%s) ORDER BY 1",
                      [sorted(CONCLUDED | WAITING)])


def cases(store: Store) -> list[Finding]:
    """Every accepted case routed once, concluded once in approval, recorded concluded once by
    intake, and known concluded to supervision."""
    found: list[Finding] = [(LOST, f"case {n} is still {s}") for n, s in unsettled_cases(store)]
    accepted = {n for (n,) in store.rows("SELECT case_number FROM intake.cases WHERE accepted_on IS NOT NULL "
                                         "AND status <> 'withdrawn'")}
    routed = Counter(dict(store.rows("SELECT envelope->>'case_number', count(*) FROM routing.outbox "
                                     "WHERE event_type = 'CaseRouted' GROUP BY 1")))
    concluded = Counter(dict(store.rows("SELECT envelope->>'case_number', count(*) FROM approval.outbox "
                                        "WHERE event_type = 'CaseConcluded' GROUP BY 1")))
    recorded = Counter(dict(store.rows("SELECT case_number, count(*) FROM intake.history "
                                       "WHERE body::jsonb->>'kind' = 'concluded' GROUP BY 1")))
    in_approval = dict(store.rows("SELECT case_number, status FROM approval.cases"))
    supervised = dict(store.rows("SELECT case_number, concluded_on IS NOT NULL FROM supervision.cases"))
    for number in sorted(accepted):
        for what, count in (("routed", routed[number]), ("concluded", concluded[number]),
                            ("recorded concluded in intake", recorded[number])):
            if count != 1:
                found.append((LOST if count == 0 else DUPLICATE, f"case {number} {what} {count} times"))
        if in_approval.get(number) != "concluded":
            found.append((LOST, f"case {number} is {in_approval.get(number, 'missing')} in approval"))
        if not supervised.get(number):
            found.append((LOST, f"supervision does not know case {number} concluded"))
    return found


def tasks(store: Store) -> list[Finding]:
    """One task per case, stage, department, role and round; at most one decision per task; no
    task fed to its department as new work twice."""
    found = [(DUPLICATE, f"{n} tasks for {key}") for *key, n in store.rows(
        "SELECT case_number, stage, department, role, round, count(*) FROM approval.tasks "
        "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1")]
    found += [(DUPLICATE, f"task {t} decided {n} times") for t, n in store.rows(
        "SELECT envelope->'payload'->>'task_id', count(*) FROM approval.outbox WHERE event_type = 'TaskDecided' "
        "GROUP BY 1 HAVING count(*) > 1")]
    found += [(DUPLICATE, f"task {t} fed to {d} {n} times as new work") for d, t, n in store.rows(
        "SELECT department, task_id, count(*) FROM approval.feed WHERE reason = 'assigned' "
        "GROUP BY 1, 2 HAVING count(*) > 1")]
    return found


def histories(store: Store) -> list[Finding]:
    """Every case's history chain verifies, and no event was recorded in it twice."""
    entries: dict[str, list[Entry]] = {}
    for number, seq, body, prev, digest in store.rows(
            "SELECT case_number, seq, body, prev_hash, hash FROM intake.history ORDER BY case_number, seq"):
        entries.setdefault(number, []).append(Entry(seq, body, prev, digest))
    found: list[Finding] = []
    for number, head_seq, head in store.rows("SELECT case_number, history_seq, history_head FROM intake.cases"):
        problems = verify(number, entries.get(number, []), head_seq, head)
        found += [(BROKEN, f"history of {number}: {p}") for p in problems]
    found += [(DUPLICATE, f"case {n}: history entry {key} {c} times") for n, key, c in store.rows(
        f"SELECT case_number, {ENTRY_KEY}, count(*) FROM (SELECT case_number, body, body::jsonb->>'kind' AS kind "
        f"FROM intake.history) h WHERE {ONCE} GROUP BY 1, 2 HAVING count(*) > 1")]
    return found


def notices(store: Store, gateway: Counter | Callable[[], Counter] | None = None) -> list[Finding]:
    """No notice planned twice (the same text to the same recipient for one case from two
    events), none dead; with the gateway's record of what reached it, none sent twice and every
    sent one there."""
    found = [(DUPLICATE, f"notice {notice} of {n} by {channel} planned {c} times") for n, notice, channel, c in
             store.rows("SELECT case_number, notice, channel, count(*) FROM notify.deliveries "
                        "GROUP BY case_number, notice, channel, recipient, body HAVING count(*) > 1")]
    found += [(BROKEN, f"notice {notice} of {n} by {channel} is dead: {error}") for n, notice, channel, error in
              store.rows("SELECT case_number, notice, channel, last_error FROM notify.deliveries "
                         "WHERE status = 'dead'")]
    if gateway is not None:  # told by SMS: every accepted case its receipt, every concluded one its decision
        for notice, statuses in (("receipt", "accepted_on IS NOT NULL"), ("decision", "status = 'concluded'")):
            found += [(LOST, f"case {n} got no {notice} notice") for (n,) in store.rows(
                f"SELECT case_number FROM intake.cases WHERE {statuses} AND case_number NOT IN "
                "(SELECT case_number FROM notify.deliveries WHERE notice = %s AND case_number IS NOT NULL)", [notice])]
        sent = store.rows("SELECT recipient, subject, body FROM notify.deliveries "
                          "WHERE status = 'sent' AND channel = 'sms'")
        if callable(gateway):  # read after the rows: a notice marked sent was sent before it was marked
            gateway = gateway()
        found += [(DUPLICATE, f"the gateway received {c} times: {text[:40]}…") for (_, text), c in gateway.items()
                  if c > 1]
        found += [(LOST, f"notice '{subject}' marked sent, not at the gateway") for to, subject, body in sent
                  if (to, f"【{subject}】{body}") not in gateway]
    return found


def warnings(store: Store) -> list[Finding]:
    """No warning raised twice: one WarningRaised per warning row (which is unique per clock and
    colour); no clock left running on a closed case (it would warn of a case long done)."""
    found = [(BROKEN, f"the {step} clock {ref} of closed case {n} still runs") for n, step, ref in store.rows(
        "SELECT c.case_number, c.step, c.ref FROM supervision.clocks c JOIN supervision.cases s USING (case_number) "
        "WHERE s.concluded_on IS NOT NULL AND c.stopped_on IS NULL")]
    return found + [(DUPLICATE, f"{events} WarningRaised for {rows} {colour} warning(s) of {step} in case {n}")
            for n, step, colour, events, rows in store.rows(
                "SELECT e.n, e.step, e.colour, e.c, coalesce(w.c, 0) FROM "
                "(SELECT envelope->>'case_number' AS n, envelope->'payload'->>'step' AS step, "
                " envelope->'payload'->>'colour' AS colour, count(*) AS c FROM supervision.outbox "
                " WHERE event_type = 'WarningRaised' GROUP BY 1, 2, 3) e LEFT JOIN "
                "(SELECT case_number AS n, step, colour, count(*) AS c FROM supervision.warnings GROUP BY 1, 2, 3) w "
                "ON w.n IS NOT DISTINCT FROM e.n AND w.step = e.step AND w.colour = e.colour "
                "WHERE e.c > coalesce(w.c, 0)")]


def outboxes(store: Store) -> list[Finding]:
    return [(BROKEN, f"{service.name}: {n} outbox row(s) unpublished") for service in SERVICES
            for (n,) in store.rows(f"SELECT count(*) FROM {service.name}.outbox WHERE published_at IS NULL") if n]


def inboxes(store: Store, poison: set[str]) -> list[Finding]:
    """Only the poison messages ended otherwise than handled, and each of them dead-lettered."""
    found: list[Finding] = []
    seen = set()
    for service in SERVICES:
        for message_id, handler, outcome, error in store.rows(
                f"SELECT message_id::text, handler, outcome, error FROM {service.name}.inbox WHERE outcome <> 'done'"):
            seen.add(message_id)
            if message_id not in poison:
                found.append((LOST, f"{service.name}.{handler} {outcome} message {message_id}: {error}"))
    found += [(BROKEN, f"poison message {m} not dead-lettered") for m in sorted(poison - seen)]
    return found


def dead_letters(amqp_url: str, poison: set[str]) -> list[Finding]:
    """The dead-letter queue holds exactly the poison messages, each with its error. The
    messages are read without acknowledging them, so they stay."""
    held: dict[str, dict] = {}
    copies: Counter[str] = Counter()
    with kombu.Connection(amqp_url) as conn:
        queue = kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel())
        while (message := queue.get(no_ack=False)) is not None:
            key = message.properties.get("message_id") or str(message.delivery_tag)
            held[key] = message.headers or {}
            copies[key] += 1
    found = [(LOST, f"dead letter {m} from {h.get('x-service')}.{h.get('x-handler')}: {h.get('x-error')}")
             for m, h in held.items() if m not in poison]
    found += [(DUPLICATE, f"dead letter {m} {n} times") for m, n in copies.items() if n > 1]
    found += [(BROKEN, f"poison message {m} not in the dead-letter queue") for m in sorted(poison - set(held))]
    found += [(BROKEN, f"dead letter {m} carries no error") for m, h in held.items() if not h.get("x-error")]
    return found


def audit_logs(database_url: str) -> list[Finding]:
    """Every service's audit log is one unbroken chain (services/auditlog.py)."""
    return [(BROKEN, f"{name}: audit log broken at seq {check.first_bad_seq}: {check.reason}")
            for name, check in verify_all(database_url).items() if not check.ok]


def audit(database_url: str, amqp_url: str, poison: set[str] = frozenset(),
          gateway: Counter | Callable[[], Counter] | None = None) -> list[Finding]:
    """Every check, on a system that has drained."""
    with Store(database_url) as store:
        found = (cases(store) + tasks(store) + histories(store) + notices(store, gateway) + warnings(store)
                 + outboxes(store) + inboxes(store, set(poison)))
    return found + audit_logs(database_url) + dead_letters(amqp_url, set(poison))


def tally(found: list[Finding]) -> dict[str, int]:
    counts = Counter(kind for kind, _ in found)
    return {"lost": counts[LOST], "duplicated": counts[DUPLICATE], "broken": counts[BROKEN]}
