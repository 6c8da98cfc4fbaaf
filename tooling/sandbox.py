"""A PostgreSQL server and a RabbitMQ node of a run's own, in a temporary directory.

`onewindow chaos` restarts its database server and its broker on purpose; doing that to the
machine's shared ones would disturb everything else using them. So the run starts its own: a
PostgreSQL cluster made with initdb (run as the `postgres` user when we are root, since initdb
and pg_ctl refuse root) and a RabbitMQ node with its own name, ports, data, logs and no plugins,
controlled with `rabbitmqctl -n <node>`. Both listen on 127.0.0.1 only, on free ports, and are
stopped and deleted at the end. `Gateway` stands in for the SMS gateway the notices go to.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Ports for the private servers: below the ephemeral range (so that no client connection takes
# one meanwhile) and away from RabbitMQ's CLI range (35672-35682) and the shared node's 25672.
PORT_RANGE = (21000, 29000)


_HANDED_OUT: set[int] = set()  # a port handed out once is not handed out again: it may not be bound yet


def free_port() -> int:
    """A port free now, below the ephemeral range, never one this process handed out before."""
    for _ in range(200):
        port = random.randrange(*PORT_RANGE)
        if port not in _HANDED_OUT and _free(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def free_port_block(n: int) -> int:
    """The first of `n` consecutive ports free now (handed out together)."""
    for _ in range(200):
        base = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - n)
        block = range(base, base + n)
        if not _HANDED_OUT.intersection(block) and all(_free(p) for p in block):
            _HANDED_OUT.update(block)
            return base
    raise RuntimeError(f"no block of {n} free ports in {PORT_RANGE}")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _until(ready, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready in {timeout:.0f}s")
        time.sleep(0.2)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class PrivatePostgres:
    """A PostgreSQL cluster of its own: `start`, `stop(mode)`, `url(database)`. `name` names its
    directory and is its cluster_name (the application name it streams under as a standby)."""

    def __init__(self, root: Path, name: str = "postgres", settings: dict[str, str] | None = None):
        self.bin = self._bindir()
        self.name = name
        self.settings = settings or {}  # more server settings (WAL archiving), written at initdb
        self.dir = root / name
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _bindir() -> Path:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if versions:
            return versions[-1].parent
        found = shutil.which("initdb")
        if not found:
            raise RuntimeError("PostgreSQL's initdb is not installed (apt-get install postgresql)")
        return Path(found).parent

    def _run(self, tool: str, *args: str) -> str:
        try:
            return subprocess.run([*self.as_postgres, str(self.bin / tool), *args], check=True, capture_output=True,
                                  timeout=120, cwd="/", text=True).stdout
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"{tool} {' '.join(args)}: {exc.stderr.strip() or exc.stdout.strip()}") from None

    def make_dir(self) -> None:
        self.dir.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def start(self, wait: bool = True) -> None:
        if not self.dir.exists():
            self.make_dir()
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
            with open(self.data / "postgresql.conf", "a") as f:
                f.write("".join(f"{k} = {v}\n" for k, v in self.settings.items()))
        # room for every process's pools (docs/operations.md) and the checks
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   f"-c cluster_name={self.name}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options,
                  *(["-w", "-t", "60"] if wait else ["-W"]), "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` rolls back the sessions and shuts down cleanly; `immediate` is a crash: no
        checkpoint, recovery from the WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and _answers(self.port)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class PrivateRabbit:
    """A RabbitMQ node of its own: `start`, `stop_app`/`start_app` (the broker inside the running
    node), `stop`, `url`."""

    def __init__(self, root: Path, name: str = "rabbitmq", cookie: str | None = None):
        self.dir = root / name
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"ow-chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.cookie = cookie  # the nodes of one cluster share theirs
        self.server, self.ctl = self._scripts()
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def _scripts() -> tuple[str, str]:
        # Debian's /usr/sbin wrappers switch to the rabbitmq user and its home (and cookie); the
        # scripts behind them run as whoever starts them, with the home we give.
        inner = Path("/usr/lib/rabbitmq/bin")
        if (inner / "rabbitmq-server").exists():
            return str(inner / "rabbitmq-server"), str(inner / "rabbitmqctl")
        server, ctl = shutil.which("rabbitmq-server"), shutil.which("rabbitmqctl")
        if not server or not ctl:
            raise RuntimeError("RabbitMQ is not installed (apt-get install rabbitmq-server)")
        return server, ctl

    def _env(self) -> dict[str, str]:
        d = self.dir
        return {**os.environ, "HOME": str(d), "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
                "RABBITMQ_LOG_BASE": str(d / "log"), "RABBITMQ_PID_FILE": str(d / "rabbit.pid"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"), "ERL_EPMD_ADDRESS": "127.0.0.1"}

    def start(self) -> None:
        self.boot()
        self.await_startup()

    def boot(self) -> None:
        """The node's files written and its VM started, not waited for."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")  # not the machine's /etc/rabbitmq/rabbitmq-env.conf
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        cookie = self.dir / ".erlang.cookie"
        if self.cookie and not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        with open(self.dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen([self.server], env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)

    def await_startup(self) -> None:
        try:
            self.ctl_run("await_startup", "--timeout", "90", timeout=120, attempts=30)
        except Exception:
            self.stop()
            raise

    def ctl_run(self, *args: str, timeout: float = 60, attempts: int = 1) -> str:
        """rabbitmqctl against this node, its output; `attempts` for what may fail while the node
        comes up."""
        for attempt in range(attempts):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the RabbitMQ node exited; see {self.dir / 'server.log'}")
            done = subprocess.run([self.ctl, "-s", "-n", self.node, *args], env=self._env(), capture_output=True,
                                  timeout=timeout, text=True)
            if done.returncode == 0:
                return done.stdout
            if attempt == attempts - 1:
                raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
            time.sleep(1)
        return ""

    def queue_depths(self) -> dict[str, int]:
        """Messages in each queue, those delivered and not yet acknowledged included."""
        depths = {}
        for line in self.ctl_run("list_queues", "name", "messages").splitlines():
            name, _, count = line.rpartition("\t")
            if name and count.strip().isdigit():
                depths[name] = int(count)
        return depths

    def stop_app(self) -> None:
        self.ctl_run("stop_app")
        _until(lambda: not _answers(self.port), 30, "the AMQP listener to close")

    def start_app(self) -> None:
        # the listening socket of the stopped broker may linger a moment: start_app fails until it is gone
        self.ctl_run("start_app", attempts=30)
        _until(lambda: _answers(self.port), 30, "the AMQP listener")

    def kill(self) -> None:
        """`kill -9` of the node's VM: its connections drop, its queue replicas go with it."""
        pid = int((self.dir / "rabbit.pid").read_text().split()[0])
        os.kill(pid, 9)
        if self.proc is not None:
            self.proc.wait(30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.ctl_run("stop", timeout=60)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"


class Gateway(ThreadingHTTPServer):
    """Stands in for the SMS gateway: accepts every message and counts each (phone, text) it
    passes on. Like a gateway with idempotent requests, it passes a message on once per
    `Idempotency-Key`; a request repeating a key (a sender killed before it recorded the send,
    sending again) is answered 200 and counted in `repeated`."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.received: Counter[tuple[str, str]] = Counter()
        self.keys: set[str] = set()
        self.repeated = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, name="sms-gateway", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/sms"

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.received)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a sender killed with its connection open (the fault suite does it): nothing to report
        super().handle_error(request, client_address)


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the sender's connection open, as a gateway on the internet does

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key")
        with self.server.lock:
            if key and key in self.server.keys:
                self.server.repeated += 1
            else:
                self.server.received[(body["to"], body["text"])] += 1
                self.server.keys.add(key)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def sandbox(logs: Path | None = None, cluster: bool = False, postgres_settings: dict[str, str] | None = None):
    """A private PostgreSQL and RabbitMQ, started; stopped and deleted afterwards, their logs
    copied to `logs` first if given. `cluster`: three RabbitMQ nodes and a PostgreSQL primary with
    two standbys instead (tooling.clusters), which offer the single servers' interface."""
    from .clusters import PostgresCluster, RabbitCluster

    root = Path(tempfile.mkdtemp(prefix="onewindow-sandbox-"))
    os.chmod(root, 0o755)  # the postgres user must reach its data directory
    if cluster:
        postgres, rabbit = PostgresCluster(root, settings=postgres_settings), RabbitCluster(root)
    else:
        postgres, rabbit = PrivatePostgres(root, settings=postgres_settings), PrivateRabbit(root)
    try:
        postgres.start()
        rabbit.start()
        yield postgres, rabbit
    finally:
        rabbit.stop()
        with contextlib.suppress(Exception):
            postgres.stop_all() if cluster else postgres.stop("fast")
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            for log in [*root.glob("*/server.log"), *root.glob("*/log/*.log")]:
                with contextlib.suppress(OSError):
                    shutil.copy(log, logs / f"{log.parent.name}-{log.name}")
        shutil.rmtree(root, ignore_errors=True)
