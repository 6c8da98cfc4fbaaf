"""Base backups, WAL archiving and a restore to a point in time, for PostgreSQL on one host.

One directory holds a hall's backups (on another disk, or a mount of another machine):

    <backups>/wal/            every WAL segment, copied there by the server's archive_command
    <backups>/base/<stamp>/   a base backup (pg_basebackup, plain format), one per night

`archive_settings(backups)` are the server settings that fill `wal/`; `onewindow backup` takes a
base backup (a timer runs it nightly); `onewindow restore` makes a new data directory that
PostgreSQL, started on it, replays to a moment and then opens as a primary. With the newest base
backup before that moment and every WAL segment since, any moment after the first base backup
can be had back (docs/operations.md, "Backups and a restore to a point in time").

In Kubernetes, CloudNativePG does the same into object storage (k8s/overlays/production).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from services.db import primary_url

STAMP = "%Y%m%dT%H%M%SZ"


def archive_settings(backups: Path) -> dict[str, str]:
    """postgresql.conf settings that copy every finished WAL segment into `<backups>/wal` (never
    over a segment already there) and finish a segment at least every 5 minutes."""
    wal = backups / "wal"
    return {"archive_mode": "on", "archive_command": f"'test ! -f {wal}/%f && cp %p {wal}/%f'",
            "archive_timeout": "300"}


def prepare_archive(backups: Path, owner: str | None = None) -> None:
    """The backups directory and its `wal` and `base` folders, owned by the server's OS user."""
    for path in (backups, backups / "wal", backups / "base"):
        path.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(path, owner, owner)


def _tool(name: str, bindir: Path | None) -> str:
    return str(bindir / name) if bindir else name


def base_backup(database_url: str, backups: Path, *, bindir: Path | None = None, as_user: list[str] = (),
                now: dt.datetime | None = None) -> Path:
    """A base backup of the primary into `<backups>/base/<UTC stamp>`; returns its directory."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime(STAMP)
    target = backups / "base" / stamp
    subprocess.run([*as_user, _tool("pg_basebackup", bindir), "-d", primary_url(database_url), "-D", str(target),
                    "-X", "stream", "-c", "fast", "--label", f"onewindow {stamp}"],
                   check=True, capture_output=True, text=True, timeout=3600, cwd="/")
    return target


def archive_now(database_url: str, timeout: float = 60) -> str:
    """Finish the current WAL segment and wait until the archive has it: what was committed until now
    can be restored. Returns the segment's name."""
    with psycopg.connect(primary_url(database_url), autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            archived = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            if archived is not None and archived >= segment:
                return segment
            if time.monotonic() > deadline:
                raise RuntimeError(f"WAL segment {segment} not archived in {timeout:.0f}s (see archive_command)")
            time.sleep(0.1)


def backups_before(backups: Path, until: dt.datetime) -> list[Path]:
    """The base backups that finished before `until`, newest first."""
    found = []
    for base in (backups / "base").glob("*"):
        try:
            taken = dt.datetime.strptime(base.name, STAMP).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
        if taken < until and (base / "backup_manifest").exists():  # a finished backup has its manifest
            found.append((taken, base))
    return [base for _, base in sorted(found, reverse=True)]


def restore(backups: Path, data: Path, until: dt.datetime, *, base: Path | None = None) -> Path:
    """A new data directory `data` (which must not exist) from the newest base backup before `until`
    (or `base`), set to replay the archived WAL up to `until` and then open as a primary. Start
    PostgreSQL on it; returns the base backup used."""
    if until.tzinfo is None:
        raise ValueError("the moment to restore to needs its time zone (e.g. 2026-03-02T10:30:00+08:00)")
    if data.exists():
        raise ValueError(f"{data} exists: restore into a new directory")
    if base is None:
        candidates = backups_before(backups, until)
        if not candidates:
            raise ValueError(f"no base backup in {backups / 'base'} finished before {until.isoformat()}")
        base = candidates[0]
    shutil.copytree(base, data, symlinks=True)
    owner = base.stat()
    for path in [data, *data.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
    data.chmod(0o700)
    (data / "standby.signal").unlink(missing_ok=True)
    signal = data / "recovery.signal"
    signal.touch()
    wal = backups / "wal"
    settings = {"restore_command": f"'cp {wal}/%f %p'", "recovery_target_time": f"'{until.isoformat()}'",
                "recovery_target_action": "'promote'", "recovery_target_timeline": "'latest'"}
    auto = data / "postgresql.auto.conf"
    with open(auto, "a") as f:
        f.write("# onewindow restore\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    for path in (signal, auto):
        os.chown(path, owner.st_uid, owner.st_gid)
    return base


def restored(database_url: str, timeout: float = 300) -> None:
    """Wait until the restored server has replayed to its target and opened as a primary."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(database_url, autocommit=True, connect_timeout=2) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the restored server is still recovering after {timeout:.0f}s; see its log")
        time.sleep(0.2)


def check_restored(database_url: str) -> list[str]:
    """What the audit finds wrong in a restored database: every case's history chain, the outboxes,
    the cases' and tasks' books, every audit log chain. Empty: the restore is whole."""
    from .audit import Store, audit_logs, cases, histories, outboxes, tasks

    with Store(database_url) as store:
        found = histories(store) + outboxes(store) + cases(store) + tasks(store)
    return [f"{kind}: {text}" for kind, text in found + audit_logs(database_url)]


def moment(text: str) -> dt.datetime:
    """An ISO date and time; without a zone, the hall's (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def republish(database_url: str, since: dt.datetime) -> dict[str, int]:
    """Every outbox row published after `since` marked unpublished, so that the relays publish it
    again: after a restore, the events of the last moments before it may have been published but
    taken from their queues only later. Consumers' inboxes drop those already handled."""
    from .processes import SERVICES

    with psycopg.connect(primary_url(database_url), autocommit=True) as conn, conn.transaction():
        return {s.name: conn.execute(f"UPDATE {s.name}.outbox SET published_at = NULL WHERE published_at > %s",
                                     [since]).rowcount for s in SERVICES}
