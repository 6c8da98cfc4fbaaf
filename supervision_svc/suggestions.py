"""督办建议 (监察建议): a department with repeated red warnings in a month gets a supervision
suggestion (raised by the scan, use_cases.py); the supervision office reviews it and closes it with
a note of what was reviewed and decided. A suggestion is closed once."""
from __future__ import annotations

from services.access import Caller
from services.errors import NotAllowedNow, NotFound, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store

NOTE_CHARS = 2000


def close_suggestion(uow: UnitOfWork, caller: Caller, suggestion_id: int, note: str) -> dict:
    """Close a suggestion with the office's note, by the caller, today; a closed one is not closed
    again (NotAllowedNow: the first closing stands)."""
    v = Violations()
    v.require(suggestion_id, "suggestion_id")
    v.require(note, "note", max_len=NOTE_CHARS)
    v.check()
    found = store.suggestion(uow, suggestion_id, lock=True)
    if found is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if found["closed_on"] is not None:
        raise NotAllowedNow(f"suggestion {suggestion_id} was closed on {found['closed_on']}")
    store.close_suggestion(uow, suggestion_id, note, local_day(uow.time.now()), caller.actor())
    return store.suggestion(uow, suggestion_id)
