"""A RabbitMQ cluster of three nodes and a PostgreSQL primary with two standbys, on this machine.

What the production overlay runs (k8s/overlays/production), built from the sandbox's servers
(tooling.sandbox) so that `onewindow chaos` can take one node away at a time:

- `RabbitCluster`: three nodes, each with its own node name, ports, data and logs, sharing one
  Erlang cookie; the second and third `join_cluster` the first. The processes get the three
  AMQP URLs joined by `;` and declare quorum queues (`ONEWINDOW_QUEUE_TYPE=quorum`).
- `PostgresCluster`: a primary and two streaming standbys made with `pg_basebackup -R`, each
  streaming under its cluster_name, and `synchronous_standby_names = 'ANY 1 (...)'` on every
  server: a commit returns once one standby has flushed it, so a promoted standby (the one that
  received the most) holds every commit a client saw. The processes get every server in one
  libpq URL with `target_session_attrs=read-write`, which finds whichever is primary.

Both offer what the chaos run asks of a single server (`url`, `stop`/`start`, `queue_depths`,
`stop_app`/`start_app`), so every fault also runs against a cluster.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import psycopg

from .sandbox import PrivatePostgres, PrivateRabbit, _answers, _until

SIZE = 3


def _in_parallel(calls) -> None:
    """Run the calls in threads; the first error is raised once all have ended."""
    errors: list[BaseException] = []

    def guarded(call):
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(c,), daemon=True) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


class RabbitCluster:
    """Three RabbitMQ nodes in one cluster: `start`, `stop`, `kill(node)`, `restart(node)`,
    `busiest()`, and a single node's interface over the whole cluster."""

    def __init__(self, root: Path, size: int = SIZE):
        cookie = secrets.token_hex(16).upper()
        run = uuid.uuid4().hex[:8]
        self.nodes = [PrivateRabbit(root, f"rabbitmq-{i}", cookie) for i in range(1, size + 1)]
        for i, node in enumerate(self.nodes, 1):
            node.node = f"ow-chaos-{run}-{i}@localhost"
        self.down: set[str] = set()  # nodes taken away by a fault and not yet back

    @property
    def port(self) -> str:
        return ",".join(str(n.port) for n in self.nodes)

    @property
    def node(self) -> str:
        return ", ".join(n.node for n in self.nodes)

    def start(self) -> None:
        try:
            for node in self.nodes:  # started here, so that an interruption finds every VM to stop
                node.boot()
            _in_parallel([n.await_startup for n in self.nodes])
            for node in self.nodes[1:]:
                node.ctl_run("stop_app")
                node.ctl_run("join_cluster", self.nodes[0].node, timeout=120)
                node.ctl_run("start_app", timeout=120)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        _in_parallel([n.stop for n in self.nodes])

    def url(self) -> str:
        """Every node, in order: kombu connects to the first that answers."""
        return ";".join(n.url() for n in self.nodes)

    def live(self) -> PrivateRabbit:
        return next(n for n in self.nodes if n.node not in self.down)

    def ctl_run(self, *args: str, timeout: float = 60) -> str:
        return self.live().ctl_run(*args, timeout=timeout)

    def queue_depths(self) -> dict[str, int]:
        return self.live().queue_depths()

    def leaders(self) -> dict[str, int]:
        """node → the weight of the quorum queues it leads (each queue 1 plus its messages)."""
        weights: dict[str, int] = {n.node: 0 for n in self.nodes}
        for line in self.ctl_run("list_queues", "name", "type", "leader", "messages").splitlines():
            fields = line.split("\t")
            if len(fields) == 4 and fields[1] == "quorum" and fields[2] in weights:
                weights[fields[2]] += 1 + (int(fields[3]) if fields[3].isdigit() else 0)
        return weights

    def most_connected(self) -> PrivateRabbit:
        """The node most client connections are on (the processes take the first node that answers)."""
        counts = {n.node: 0 for n in self.nodes}
        for line in self.ctl_run("list_connections", "pid").splitlines():  # <node.1.2.3>
            node = line.strip().lstrip("<").rsplit(".", 3)[0]
            if node in counts:
                counts[node] += 1
        return max((n for n in self.nodes if n.node not in self.down), key=lambda n: counts[n.node])

    def busiest(self) -> PrivateRabbit:
        weights = self.leaders()
        return max(self.nodes, key=lambda n: weights[n.node])

    def kill(self, node: PrivateRabbit) -> None:
        self.down.add(node.node)
        node.kill()

    def restart(self, node: PrivateRabbit) -> None:
        """A killed node started again: it rejoins from its own data, its queue replicas catch up."""
        node.start()
        self.down.discard(node.node)

    def stop_node_app(self, node: PrivateRabbit) -> None:
        self.down.add(node.node)
        node.stop_app()

    def start_node_app(self, node: PrivateRabbit) -> None:
        node.start_app()
        self.down.discard(node.node)

    def stop_app(self) -> None:
        """The whole broker away: every node's broker stopped, the last one first."""
        for node in reversed(self.nodes):
            node.stop_app()
        self.down = {n.node for n in self.nodes}

    def start_app(self) -> None:
        _in_parallel([n.start_app for n in self.nodes])  # each waits for the others' tables
        self.down.clear()

    def logs(self) -> list[Path]:
        return [p for n in self.nodes for p in [n.dir / "server.log", *(n.dir / "log").glob("*.log")]]


def _lsn(text: str | None) -> int:
    if not text:
        return -1
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _process_tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


class PostgresCluster:
    """A primary and two streaming standbys, synchronous commit to any one of them: `start`,
    `kill_primary`, `promote`, `rebuild`, and a single server's `stop(mode)`/`start`/`url`, which
    act on the primary."""

    def __init__(self, root: Path, size: int = SIZE, settings: dict[str, str] | None = None):
        self.nodes = [PrivatePostgres(root, f"pg{i}") for i in range(1, size + 1)]
        self.primary = self.nodes[0]
        self.settings = settings or {}  # more server settings (WAL archiving)
        self.started = False

    @property
    def port(self) -> str:
        return ",".join(str(n.port) for n in self.nodes)

    @property
    def standbys(self) -> list[PrivatePostgres]:
        return [n for n in self.nodes if n is not self.primary]

    def start(self) -> None:
        """The cluster made and started; later (the `postgres` fault), the servers that are down
        started again."""
        if self.started:
            for node in self.nodes:
                if not node.running():
                    node.start()
            return
        primary = self.primary
        primary.make_dir()
        primary._run("initdb", "-D", str(primary.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                     "--locale=C.UTF-8", "--no-sync")
        names = ", ".join(n.name for n in self.nodes)
        conf = {"wal_log_hints": "on",  # pg_rewind turns a failed primary into a standby
                "wal_keep_size": "'512MB'", "synchronous_standby_names": f"'ANY 1 ({names})'", **self.settings}
        with open(primary.data / "postgresql.conf", "a") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in conf.items()))
        primary.start()
        self.started = True
        for standby in self.standbys:
            standby.make_dir()
            standby._run("pg_basebackup", "-D", str(standby.data), "-h", "127.0.0.1", "-p", str(primary.port),
                         "-U", "postgres", "-X", "stream", "-R", "-c", "fast", "--no-sync")
            standby.start()
            self.point(standby)
        _until(lambda: len(self.streaming()) == len(self.standbys), 60, "the standbys to stream")

    def url(self, database: str) -> str:
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def _connect(self, node: PrivatePostgres) -> psycopg.Connection:
        return psycopg.connect(f"host=127.0.0.1 port={node.port} user=postgres dbname=postgres", autocommit=True,
                               connect_timeout=3)

    def streaming(self) -> list[str]:
        """The application names streaming from the primary and counted in its synchronous commit's
        quorum (a walsender reports 'async' for a moment after it starts streaming: a test asserting
        the quorum right after `start` failed on it)."""
        with self._connect(self.primary) as conn:
            return [n for (n,) in conn.execute("SELECT application_name FROM pg_stat_replication "
                                               "WHERE state = 'streaming' AND sync_state IN ('quorum', 'sync')")]

    def point(self, standby: PrivatePostgres) -> None:
        """`standby` streams from the current primary (primary_conninfo is reloaded, no restart)."""
        conninfo = f"host=127.0.0.1 port={self.primary.port} user=postgres application_name={standby.name}"
        with self._connect(standby) as conn:
            conn.execute(f"ALTER SYSTEM SET primary_conninfo = '{conninfo}'")
            conn.execute("SELECT pg_reload_conf()")

    def kill_primary(self) -> PrivatePostgres:
        """`kill -9` of the primary's postmaster and every backend (a machine lost)."""
        victim = self.primary
        pid = int((victim.data / "postmaster.pid").read_text().split()[0])
        tree = _process_tree(pid)
        for p in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        _until(lambda: not _answers(victim.port), 30, "the killed primary to stop answering")
        # Until they are reaped, the killed processes count as alive to a postmaster starting in
        # their place, which then refuses to start beside their lock files.
        wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in tree), 10)
        for lock in (victim.data / "postmaster.pid", victim.dir / f".s.PGSQL.{victim.port}.lock"):
            lock.unlink(missing_ok=True)
        return victim

    def _received(self, standby: PrivatePostgres) -> int | None:
        """How far `standby` has WAL on its disk, once it has replayed all of it. The receive
        position alone will not do: a walreceiver trying to reconnect to the lost primary resets it
        to the start of its segment."""
        last, steady = None, 0
        deadline = time.monotonic() + 10
        try:
            with self._connect(standby) as conn:
                while steady < 3 and time.monotonic() < deadline:
                    received, replayed = conn.execute("SELECT pg_last_wal_receive_lsn()::text, "
                                                      "pg_last_wal_replay_lsn()::text").fetchone()
                    now = max(_lsn(received), _lsn(replayed))
                    steady = steady + 1 if now == last else 0
                    last = now
                    time.sleep(0.05)
        except psycopg.OperationalError:
            return None
        return last

    def promote(self) -> PrivatePostgres:
        """The standby with the most WAL promoted; the others follow it."""
        received = {s.name: lsn for s in self.standbys if (lsn := self._received(s)) is not None}
        chosen = max((s for s in self.standbys if s.name in received), key=lambda s: received[s.name])
        chosen._run("pg_ctl", "-D", str(chosen.data), "-w", "-t", "60", "promote")
        self.primary = chosen
        for standby in self.standbys:
            if standby.name in received:
                self.point(standby)
        return chosen

    def rebuild(self, old: PrivatePostgres) -> str:
        """The failed primary made a standby of the new one: pg_rewind (its data rewound to where
        the timelines parted), or a fresh base backup if that fails. Returns which."""
        how = "pg_rewind"
        with self._connect(self.primary) as conn:  # pg_rewind reads the new timeline from the control file
            conn.execute("CHECKPOINT")
        try:
            old._run("pg_rewind", "--target-pgdata", str(old.data), "--write-recovery-conf", "--no-sync",
                     "--source-server", f"host=127.0.0.1 port={self.primary.port} user=postgres dbname=postgres")
        except RuntimeError:
            how = "pg_basebackup"
            shutil.rmtree(old.data)
            old._run("pg_basebackup", "-D", str(old.data), "-h", "127.0.0.1", "-p", str(self.primary.port),
                     "-U", "postgres", "-X", "stream", "-R", "-c", "fast", "--no-sync")
        old.start()
        self.point(old)
        _until(lambda: old.name in self.streaming(), 60, f"{old.name} to stream from the new primary")
        return how

    def stop(self, mode: str = "fast") -> None:
        """The primary stopped (`immediate`: a crash); its standbys wait for it."""
        self.primary.stop(mode)

    def stop_all(self) -> None:
        for node in [*self.standbys, self.primary]:
            with contextlib.suppress(Exception):
                if (node.data / "postmaster.pid").exists():
                    node.stop("fast" if node.running() else "immediate")

    def logs(self) -> list[Path]:
        return [n.dir / "server.log" for n in self.nodes]


def wait_until(ready, timeout: float) -> bool:
    """Whether `ready()` became true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
