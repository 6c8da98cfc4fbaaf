"""The case history: append-only, each entry carrying the hash of the one before it.

An entry's hash is SHA-256 over the previous hash and the entry's canonical JSON body, and the
case row keeps the last sequence number and hash: an entry edited, removed or inserted anywhere
(the last one included) breaks the chain, and `verify` says where.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    body: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> dict:
        return json.loads(self.body)


def new_entry(case_number: str, seq: int, prev_hash: str, at: str, kind: str, actor: str, detail: dict,
              by: dict | None = None) -> Entry:
    """`actor` is the holder in charge (a clerk's or an agent's code, a department); `by` who did the
    act (contracts.Actor: the signed-in person at a post, or the system by its holder), part of the
    body and so of the hash. An act whose event names no one (before posts were recorded) has none."""
    fields = {"case": case_number, "seq": seq, "at": at, "kind": kind, "actor": actor, "detail": detail}
    if by is not None:
        fields["by"] = by
    body = canonical(fields)
    return Entry(seq, body, prev_hash, chain_hash(prev_hash, body))


def verify(case_number: str, entries: list[Entry], head_seq: int, head_hash: str) -> list[str]:
    """Every break in the chain of one case; empty when the history is intact."""
    problems = []
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (found {entry.seq})")
            break
        try:
            data = entry.data
        except ValueError:
            problems.append(f"entry {entry.seq}: body is not JSON")
            data = {}
        if data.get("case") != case_number or data.get("seq") != entry.seq:
            problems.append(f"entry {entry.seq}: body names another case or position")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq}: does not follow entry {entry.seq - 1}")
        if chain_hash(entry.prev_hash, entry.body) != entry.hash:
            problems.append(f"entry {entry.seq}: content does not match its hash (edited)")
        prev = entry.hash
    if not problems and (len(entries) != head_seq or prev != head_hash):
        problems.append(f"the case records {head_seq} entries ending in {head_hash[:12]}…, "
                        f"the history has {len(entries)} ending in {prev[:12]}…")
    return problems
