"""Housekeeping: the outbox and inbox tables do not grow for ever.

A published outbox row is needed only until its publication is confirmed, and an inbox mark only
as long as its message could be delivered again (hours at most, when a consumer was down). Both
are kept `ONEWINDOW_RETENTION_DAYS` (30) for inspection, then deleted in batches. Unpublished
rows and the marks of dead-lettered messages are never deleted: they are work or evidence.
Any number of bus processes may prune at once (SKIP LOCKED).
"""
from __future__ import annotations

from psycopg_pool import ConnectionPool

PRUNE = {
    "outbox": "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE published_at < now() - "
              "make_interval(days => %(days)s) LIMIT %(batch)s FOR UPDATE SKIP LOCKED)",
    "inbox": "DELETE FROM inbox WHERE (message_id, handler) IN (SELECT message_id, handler FROM inbox "
             "WHERE outcome = 'done' AND processed_at < now() - make_interval(days => %(days)s) "
             "LIMIT %(batch)s FOR UPDATE SKIP LOCKED)",
}


def prune(pool: ConnectionPool, days: int, batch: int = 5000) -> dict[str, int]:
    """Delete what is older than `days`, `batch` rows per transaction; the rows deleted per table."""
    deleted = dict.fromkeys(PRUNE, 0)
    for table, query in PRUNE.items():
        while True:
            with pool.connection() as conn:
                count = conn.execute(query, {"days": days, "batch": batch}).rowcount
            deleted[table] += count
            if count < batch:
                break
    return deleted
