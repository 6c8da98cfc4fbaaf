"""The archive of the monthly 通报: the web front renders the month's document (PDF) from the
figures, the assessment, warnings, complaints and rectifications, and the supervision office issues
it here, where it is kept (the web front keeps only sessions).

A month issued again is a new version, the ones before kept: an issued document is corrected by
another, never changed. The same request id again answers the bulletin it issued (a retried call
issues nothing more). A PDF is at most MAX_PDF_BYTES, below the API's message limit, so that a
larger one is refused with a field error rather than by the transport. (The summary, as every text
of the API, is at most services.grpcutil.LONGEST_TEXT characters.)"""
from __future__ import annotations

import datetime as dt

from services.access import Caller
from services.errors import InvalidRequest, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store

MAX_PDF_BYTES = 3 * 1024 * 1024


def issue(uow: UnitOfWork, caller: Caller, request_id: str, month: str, pdf: bytes, summary: str) -> dict:
    v = Violations()
    v.require(request_id, "request_id")
    try:
        first = dt.date.fromisoformat(f"{month}-01") if len(month) == 7 else None
    except ValueError:
        first = None
    if first is None:
        v.add("month", "a month (YYYY-MM)")
    elif first > local_day(uow.time.now()):
        v.add("month", "this month or one before")
    if not pdf.startswith(b"%PDF-"):
        v.add("pdf", "a PDF document")
    elif len(pdf) > MAX_PDF_BYTES:
        v.add("pdf", f"at most {MAX_PDF_BYTES // (1024 * 1024)} MB ({len(pdf)} bytes given)")
    v.check()
    store.take_turn(uow, "bulletin", month)
    if (issued := store.bulletin_by_request(uow, request_id)) is not None:
        if issued["month"] != month:
            raise InvalidRequest([("request_id", f"issued already for {issued['month']}")])
        return issued
    return store.issue_bulletin(uow, request_id, month, pdf, summary, caller.actor())
