"""Housekeeping on the real PostgreSQL: old published outbox rows and old inbox marks go; unpublished
rows, recent rows and the marks of dead-lettered messages stay."""
from __future__ import annotations

import uuid

import pytest

from services.db import open_pool
from services.housekeeping import prune


@pytest.fixture
def pool(database_url, schema):
    pool = open_pool(database_url, schema, max_size=2)
    yield pool
    pool.close()


def test_prune_keeps_work_and_evidence(pool):
    with pool.connection() as conn:
        for event, published in [("OldPublished", "now() - interval '40 days'"),
                                 ("RecentPublished", "now() - interval '10 days'"), ("OldUnpublished", "NULL")]:
            conn.execute(f"INSERT INTO outbox (id, event_type, envelope, created_at, published_at) "
                         f"VALUES (%s, %s, '{{}}', now() - interval '40 days', {published})", [uuid.uuid4(), event])
        for handler, outcome, age in [("old_done", "done", 40), ("recent_done", "done", 10),
                                      ("old_dead", "dead_lettered", 40)]:
            conn.execute("INSERT INTO inbox (message_id, handler, event_type, outcome, processed_at) "
                         "VALUES (%s, %s, 'E', %s, now() - make_interval(days => %s))",
                         [uuid.uuid4(), handler, outcome, age])
    assert prune(pool, days=30, batch=1) == {"outbox": 1, "inbox": 1}
    with pool.connection() as conn:
        assert {r[0] for r in conn.execute("SELECT event_type FROM outbox")} == {"RecentPublished", "OldUnpublished"}
        assert {r[0] for r in conn.execute("SELECT handler FROM inbox")} == {"recent_done", "old_dead"}
    assert prune(pool, days=30) == {"outbox": 0, "inbox": 0}
