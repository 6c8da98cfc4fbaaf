"""A small bus service used by the reliability tests: it posts ledger entries from events.

It is built only from the kernel (Kernel, a handler table, the registry), as every real service is.
"""
from __future__ import annotations

from pathlib import Path

from services.bus import Handler, Kernel, subscribe
from services.contracts import REGISTRY, Payload, event
from services.db import KERNEL_MIGRATIONS

MIGRATIONS = [KERNEL_MIGRATIONS, Path(__file__).parent / "ledger_migrations"]

if ("EntryPosted", 1) not in REGISTRY:

    @event("EntryPosted", "ledger", "test only: an amount to post")
    class EntryPosted(Payload):
        amount: int
        poison: bool = False


def post(_use_cases, uow, envelope):
    if envelope.payload["poison"]:
        raise ValueError(f"entry {envelope.payload['amount']} cannot be posted")
    uow.execute("INSERT INTO entries (message_id, amount) VALUES (%s, %s)",
                [envelope.id, envelope.payload["amount"]])


HANDLERS = (Handler("ledger", "EntryPosted", "post", post),)


@subscribe(HANDLERS)
class LedgerService:
    name = "ledger"
    kernel = Kernel(lambda settings: None)
