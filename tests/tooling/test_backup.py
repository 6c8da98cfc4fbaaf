"""A restore to a point in time (tooling.backup, `onewindow backup` / `onewindow restore`): a server
of its own archives its WAL; a base backup; a first batch of cases concluded; the moment noted; a
second batch; the restore to that moment brings back exactly the first batch, every case's history
chain verifying, every outbox published, every audit log whole."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.clients import Running
from tests.flow_steps import concluded_case
from tests.support import free_port
from tooling import backup
from tooling.inprocess import InProcessHall
from tooling.processes import SERVICES
from tooling.sandbox import PrivatePostgres
from tooling.settings import SystemSettings

FIRST, SECOND = 3, 2


@pytest.fixture
def root():
    root = Path(tempfile.mkdtemp(prefix="onewindow-backup-"))
    os.chmod(root, 0o755)  # the postgres user must reach its data directory
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _numbers(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {n for (n,) in conn.execute("SELECT case_number FROM intake.cases")}


def test_a_restore_to_a_moment_between_two_batches_brings_back_exactly_the_first(root, tmp_path):
    archive = root / "backups"
    server = PrivatePostgres(root, "hall", settings=backup.archive_settings(archive))
    as_postgres = server.as_postgres
    backup.prepare_archive(archive, owner="postgres" if as_postgres else None)
    restored_server = PrivatePostgres(root, "restored")
    server.start()
    try:
        settings = SystemSettings().model_copy(update={
            "database_url": server.url("onewindow"), "intake_port": free_port(), "desk_port": free_port(),
            "supervision_port": free_port(), "identity_port": free_port(),
            "desk_tokens": tmp_path / "desk-tokens.yaml", "signing_keys": tmp_path / "signing-keys.yaml",
            "web_secret": tmp_path / "web-secret.yaml"})
        with InProcessHall(settings) as hall:
            running = Running(settings, hall)
            base = backup.base_backup(settings.database_url, archive, bindir=server.bin, as_user=as_postgres)
            first = {concluded_case(running) for _ in range(FIRST)}
            hall.drain()
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            second = {concluded_case(running) for _ in range(SECOND)}
            running.close()
        backup.archive_now(settings.database_url)
        assert _numbers(settings.database_url) == first | second

        restored_server.make_dir()
        # as county IT gives it to `onewindow backup restore --until`: the hall's wall clock, no zone
        until = backup.moment(f"{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M:%S.%f}")
        used = backup.restore(archive, restored_server.data, until)
        assert used == base
        restored_server.start(wait=False)
        url = restored_server.url("onewindow")
        backup.restored(url, timeout=120)

        assert _numbers(url) == first
        assert backup.check_restored(url) == []  # every history chain, outbox, case's books and audit log
        # then the last hour's events go out again (the inboxes drop those handled before)
        again = sum(backup.republish(url, until - dt.timedelta(hours=1)).values())
        with psycopg.connect(url, autocommit=True) as conn:
            waiting = sum(conn.execute(f"SELECT count(*) FROM {s.name}.outbox WHERE published_at IS NULL").fetchone()[0]
                          for s in SERVICES)
        assert again == waiting > 0
    finally:
        for each in (restored_server, server):
            if (each.data / "postmaster.pid").exists():
                each.stop("immediate")
