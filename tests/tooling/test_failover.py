"""What a committed case needs (docs/operations.md, section 7a), on a PostgreSQL primary with two
standbys and synchronous commit to any one of them (tooling.clusters, as the production overlay):
the primary killed while a pool of the kernel commits, the most advanced standby promoted, every
commit that returned is on it, and the pool writes on through the multi-host URL without a new
setting; the old primary then rejoins as a standby. The broker's faults and the whole system's run
in `./onewindow chaos --fault postgres-failover` and the other cluster faults."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from services.db import open_pool
from tests.support import wait_until
from tooling.clusters import PostgresCluster


@pytest.fixture
def cluster():
    root = Path(tempfile.mkdtemp(prefix="onewindow-failover-"))
    os.chmod(root, 0o755)  # the postgres user must reach its data directory
    servers = PostgresCluster(root)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def test_every_commit_that_returned_survives_the_primary_and_the_pool_finds_the_new_one(cluster):
    url = cluster.url("postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE receipts (n int PRIMARY KEY, at_port int NOT NULL)")
        # the guarantee's settings: a commit returns once one of the two standbys has flushed it
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall() == [("quorum",)] * 2
    pool = open_pool(url, "public", max_size=2, name="failover-test")
    acknowledged: list[tuple[int, int]] = []  # (n, the port of the server that took it)
    stop = threading.Event()

    def accept():
        n = 0
        while not stop.is_set():
            try:
                with pool.connection(timeout=5) as conn:
                    port = conn.info.port
                    conn.execute("INSERT INTO receipts VALUES (%s, %s)", [n, port])
                acknowledged.append((n, port))  # the commit returned: a receipt would go out now
                n += 1
            except psycopg.OperationalError:  # the primary gone: the pool reconnects
                n += 1  # a number whose commit did not return is never reused

    writer = threading.Thread(target=accept, daemon=True)
    writer.start()
    try:
        wait_until(lambda: len(acknowledged) >= 200, timeout=30, what="commits on the first primary")
        old = cluster.kill_primary()
        new = cluster.promote()
        assert new is not old and cluster.primary is new
        wait_until(lambda: any(port == new.port for _, port in acknowledged[-50:]), timeout=60,
                   what="commits on the promoted standby through the same URL")
    finally:
        stop.set()
        writer.join(10)
        pool.close()

    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.info.port == new.port
        stored = {n for (n,) in conn.execute("SELECT n FROM receipts")}
    before = [n for n, port in acknowledged if port == old.port]
    assert len(before) >= 200
    assert [n for n, _ in acknowledged if n not in stored] == []  # not one acknowledged commit lost

    assert cluster.rebuild(old) in ("pg_rewind", "pg_basebackup")
    assert old.name in cluster.streaming()
