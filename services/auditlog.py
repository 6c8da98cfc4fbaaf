"""The audit log: who did what through the APIs, every sign-in and its failures, every view of
personal data; append-only and hash-chained, one chain per service schema.

One chain per writing service, not one for the hall: every act locks its chain's head row until it
commits, and a global head would make every act of every service wait on one lock.

An entry's hash is SHA-256 over its canonical body (`canonical`: every field with `seq`, `at` in
UTC and `prev_hash`, as compact JSON with sorted keys), so an entry edited, removed, inserted or
moved breaks the chain where it happened. `audit_head` holds the chain's end (so a removed last
entry shows too) and its anchor, the last entry pruned, from which the remaining chain starts.
The chain shows tampering by someone who can write the tables; someone who can also rewrite every
later hash and the head is caught only by comparing with a copy kept elsewhere (`export`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta

from psycopg import Connection
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

GENESIS = "0" * 64
MIN_KEEP_DAYS = 183  # entries are kept at least six months
STATUS_NAMES = frozenset({
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"})  # grpc.StatusCode's names


@dataclass(frozen=True)
class AuditEntry:
    """One act as recorded; '' where a field does not apply (no person for a system token …)."""
    action: str  # `desk.Claim`, `identity.SignIn`, …
    result: str = "OK"  # `OK` or a gRPC status name (`PERMISSION_DENIED` …)
    person: str = ""  # staff number
    post: str = ""  # `zhangqiao-desk/acceptance_clerk/1`
    organisation: str = ""
    holder: str = ""  # the system token's holder code, when no person
    client: str = ""  # client address
    target: str = ""  # case number, task id, staff number …
    detail: str = ""

    def __post_init__(self):
        if not self.action:
            raise ValueError("an audit entry names its action")
        if self.result not in STATUS_NAMES:
            raise ValueError(f"result {self.result!r} is not OK or a gRPC status name")


FIELDS = tuple(f.name for f in fields(AuditEntry))
COLUMNS = ("seq", "at", *FIELDS, "prev_hash", "hash")


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str = ""


def utc_iso(at: datetime) -> str:
    """`at` as hashed and exported: UTC, microseconds (what timestamptz keeps)."""
    if at.tzinfo is None:
        raise ValueError("an audit time has a time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(entry: dict) -> str:
    """The hash of an entry given as exported (`at` a UTC ISO string; `hash` and other keys ignored)."""
    body = {name: entry[name] for name in COLUMNS if name != "hash"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


# The entry's canonical body is written here with these two stand-ins, which PostgreSQL replaces by
# the head's values in the statement that locks the head, writes the entry and moves the head: the
# hash is the same SHA-256 of the same bytes (`entry_hash`), and the head's lock, which every act of
# the service takes in turn, is held for this one round trip and the commit. A stand-in cannot occur
# inside a value: a quote within a JSON string is escaped, so `"seq":` is only ever the key.
_SEQ, _PREV = '"seq":0', '"prev_hash":""'
APPEND = (
    "WITH head AS (SELECT last_seq + 1 AS seq, last_hash FROM audit_head FOR UPDATE), "
    "body AS (SELECT seq, last_hash, replace(replace(%(canonical)s, %(seq_mark)s, '\"seq\":' || seq), "
    "%(prev_mark)s, '\"prev_hash\":\"' || last_hash || '\"') AS canonical FROM head), "
    f"entry AS (INSERT INTO audit_log ({', '.join(COLUMNS)}) "
    f"SELECT seq, %(at)s::timestamptz, {', '.join(f'%({c})s' for c in FIELDS)}, last_hash, "
    "encode(sha256(convert_to(canonical, 'UTF8')), 'hex') FROM body RETURNING seq, hash) "
    "UPDATE audit_head SET last_seq = entry.seq, last_hash = entry.hash FROM entry RETURNING entry.seq")


def append(conn: Connection, entry: AuditEntry, at: datetime) -> int:
    """Record `entry` in the caller's open transaction (the act and its entry commit together, or
    neither); its seq. One round trip: lock the head, write the entry with its hash and move the
    head in one statement. The head stays locked until the caller commits, so call this last."""
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        raise RuntimeError("append needs the caller's transaction: the head's lock would not last")
    row = {"at": utc_iso(at), **asdict(entry)}
    template = canonical({**row, "seq": 0, "prev_hash": ""})
    (seq,) = conn.execute(APPEND, {**row, "canonical": template, "seq_mark": _SEQ, "prev_mark": _PREV}).fetchone()
    return seq


def check_entries(entries: Iterable[dict], prev_seq: int | None = None, prev_hash: str | None = None) -> ChainCheck:
    """Check a run of entries (dicts as `export` gives them, in seq order) that follows entry
    `prev_seq` with hash `prev_hash`; by default the run starts where its first entry says, which
    checks an exported period on its own. Only the first break is reported; all entries are counted."""
    count, bad, reason = 0, None, ""
    for entry in entries:
        count += 1
        if bad is not None:
            continue
        seq = entry["seq"]
        if prev_seq is None:
            prev_seq, prev_hash = seq - 1, entry["prev_hash"]
        if seq != prev_seq + 1:
            bad, reason = prev_seq + 1, (f"entry {prev_seq + 1} is missing (next is {seq})" if seq > prev_seq + 1
                                         else f"entry {seq} comes after entry {prev_seq}")
        elif entry["prev_hash"] != prev_hash:
            bad, reason = seq, f"entry {seq} does not follow entry {prev_seq} (its prev_hash differs)"
        elif entry_hash(entry) != entry["hash"]:
            bad, reason = seq, f"entry {seq} does not match its hash (edited)"
        prev_seq, prev_hash = seq, entry["hash"]
    return ChainCheck(count, bad is None, bad, reason)


@contextmanager
def _snapshot(conn: Connection) -> Iterator[None]:
    """A transaction for reading the head and streaming the entries: a named (server-side) cursor
    needs one, and when the connection was idle it is REPEATABLE READ, so that the head and the
    entries agree even while appends and pruning go on."""
    fresh = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if fresh:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _stream(conn: Connection, query: str, params: dict | None = None, name: str = "audit_log") -> Iterator[dict]:
    with conn.cursor(name) as cur:
        cur.itersize = 2000
        cur.execute(query, params)
        for row in cur:
            entry = dict(zip(COLUMNS, row))
            entry["at"] = utc_iso(entry["at"])
            yield entry


def verify(conn: Connection) -> ChainCheck:
    """Recompute the whole chain from its anchor, streaming the entries in seq order: an edited
    field, a missing or re-ordered entry, and a missing last entry (the head records more) show, with
    the seq where the chain first breaks."""
    with _snapshot(conn):
        last_seq, last_hash, anchor_seq, anchor_hash = conn.execute(
            "SELECT last_seq, last_hash, anchor_seq, anchor_hash FROM audit_head").fetchone()
        seen = {"seq": anchor_seq, "hash": anchor_hash}

        def rows():
            for entry in _stream(conn, f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq"):
                seen.update(seq=entry["seq"], hash=entry["hash"])
                yield entry

        check = check_entries(rows(), anchor_seq, anchor_hash)
    if check.ok and (seen["seq"], seen["hash"]) != (last_seq, last_hash):
        first = min(seen["seq"], last_seq) + 1
        return ChainCheck(check.entries, False, first, f"the head records entry {last_seq} ({last_hash[:12]}…), "
                                                        f"the chain ends at entry {seen['seq']} ({seen['hash'][:12]}…)")
    return check


def export(conn: Connection, since: datetime, until: datetime) -> Iterator[dict]:
    """The entries of [since, until) as JSON-ready dicts (seq, at in UTC ISO, fields, prev_hash,
    hash): an unbroken run of seq from the first entry at or after `since` to the last one before
    `until`, which `check_entries` verifies on its own. (`at` comes from the callers and may step
    back a little between concurrent acts: a run, not a filter on `at`, so no entry is left out.)"""
    query = (f"SELECT {', '.join(COLUMNS)} FROM audit_log "
             "WHERE seq >= (SELECT min(seq) FROM audit_log WHERE at >= %(since)s) "
             "AND seq <= (SELECT max(seq) FROM audit_log WHERE at < %(until)s) ORDER BY seq")
    with _snapshot(conn):
        yield from _stream(conn, query, {"since": since, "until": until}, "audit_export")


PRUNE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('onewindow.audit_prune.' || current_schema()))"
# The last entry of the oldest `batch` entries before the first one not older than the cutoff: only
# a run from the start of the chain may go, never an old entry after a younger one.
PRUNE_END = ("WITH batch AS (SELECT seq, at, hash FROM audit_log ORDER BY seq LIMIT %(batch)s) "
             "SELECT seq, hash FROM batch WHERE seq < (SELECT coalesce(min(seq), 9223372036854775807) "
             "FROM batch WHERE at >= %(cutoff)s) ORDER BY seq DESC LIMIT 1")


@contextmanager
def _transaction(conn_or_pool: Connection | ConnectionPool) -> Iterator[Connection]:
    if isinstance(conn_or_pool, ConnectionPool):
        with conn_or_pool.connection() as conn:
            yield conn
    else:
        with conn_or_pool.transaction():
            yield conn_or_pool


def prune(conn_or_pool: Connection | ConnectionPool, keep_days: int, now: datetime, batch: int = 5000) -> int:
    """Delete the entries older than `keep_days` (at least MIN_KEEP_DAYS), oldest first, `batch` per
    transaction, each moving the anchor to the last entry it deleted so that the rest still
    verifies; the number deleted. One prune per schema at a time (an advisory lock); appends go on,
    waiting only for a batch's last statement. A connection is given idle: each batch commits."""
    if keep_days < MIN_KEEP_DAYS:
        raise ValueError(f"the audit log is kept at least {MIN_KEEP_DAYS} days, not {keep_days}")
    cutoff = now - timedelta(days=keep_days)
    deleted = 0
    while True:
        with _transaction(conn_or_pool) as conn:
            conn.execute(PRUNE_LOCK)
            end = conn.execute(PRUNE_END, {"batch": batch, "cutoff": cutoff}).fetchone()
            if end is None:
                return deleted
            conn.execute("SELECT set_config('onewindow.audit_prune', 'on', true)")
            count = conn.execute("DELETE FROM audit_log WHERE seq <= %s", [end[0]]).rowcount
            conn.execute("UPDATE audit_head SET anchor_seq = %s, anchor_hash = %s", end)
        deleted += count
        if count < batch:
            return deleted
