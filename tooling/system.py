"""The whole system on one host: prepare the store and the broker, start every process, stop them.

`./onewindow up` runs the processes under honcho in the foreground; `demo`, `load` and the
end-to-end tests use `System`, which starts each process as its own OS process with its output in
a log file, waits until the gRPC APIs answer, and stops everything with SIGTERM.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc

from services.config import ROOT
from services.db import drop_database, ensure_database, migrate, service_migrations
from services.grpcutil import api_channel

from .processes import SERVICES, WEB_FRONT, WEB_MIGRATIONS, commands
from .settings import SystemSettings


def prepare(settings: SystemSettings, echo=lambda line: None, scratch: bool = False, tokens: bool = True) -> None:
    """Database, every service's migrations, every handler's queue, API tokens and a signing key,
    once the reference files (org chart, catalogue, calendar, staff register, duty rota) have been
    read whole: a bad one stops it before anything is written.

    `scratch`: a throwaway run (demo, load) on a database of its own, recreated empty, whose
    queues start empty too. `tokens=False`: the tokens file is managed elsewhere (a Kubernetes
    Secret); holders without a token are only named.
    """
    from hall.holders import holders
    from hall.reference import load_reference
    from hall.rota import load_rota
    from hall.staff import load_staff
    from identity_svc.keys import rotate
    from services.access import read_tokens, write_tokens
    from services.bus import declare_queues
    from web_front.links import LINK_KEY

    reference = load_reference(settings)
    load_rota(settings.rota, reference.org, load_staff(settings.staff, reference.org), reference.calendar)
    if scratch:
        refuse_a_busy_broker(settings)
        drop_database(settings.database_url)
    ensure_database(settings.database_url)
    for service in SERVICES:
        applied = migrate(settings.database_url, service.name, service_migrations(service.package))
        queues = declare_queues(settings.amqp_url, service.name, service.bus_class(), purge=scratch,
                                queue_type=settings.queue_type) if service.bus else []
        echo(f"{service.name}: {len(applied)} migration(s) applied, {len(queues)} queue(s) declared")
    applied = migrate(settings.database_url, WEB_FRONT, [WEB_MIGRATIONS])
    echo(f"web front: {len(applied)} migration(s) applied")
    everyone = holders(reference.org)
    if not tokens:
        missing = [h for h in everyone if h not in read_tokens(settings.desk_tokens)]
        if missing:
            echo(f"warning: no token in {settings.desk_tokens} for: {', '.join(missing)}")
        return
    added = write_tokens(settings.desk_tokens, everyone)
    if added:
        echo(f"tokens for {len(added)} holder(s) written to {settings.desk_tokens}")
    if write_tokens(settings.web_secret, [LINK_KEY]):
        echo(f"the web front's link key written to {settings.web_secret}")
    if not settings.signing_keys.exists():
        echo(f"signing key {rotate(settings.signing_keys)} written to {settings.signing_keys}")


class BrokerInUse(RuntimeError):
    """A scratch run would empty queues that another system's processes consume."""


def refuse_a_busy_broker(settings: SystemSettings) -> None:
    """A scratch run empties every handler's queue and starts consumers of its own on them: beside
    a running system on the same broker (`./onewindow up`), the two would take each other's
    messages, and the running one would lose those purged. Refuse before anything is touched."""
    from services.bus import consumed_queues

    busy = {name: n for service in SERVICES if service.bus
            for name, n in consumed_queues(settings.amqp_url, service.name, service.bus_class(),
                                           settings.queue_type).items()}
    if busy:
        first = sorted(busy)[0]
        raise BrokerInUse(f"another system consumes this broker's queues ({len(busy)} of them, {first} among them, "
                          f"{busy[first]} consumer(s)): stop it (`./onewindow up`?) or point ONEWINDOW_AMQP_URL "
                          "at a virtual host of this run's own")


def instances(procs: list[tuple[str, list[str]]], replicas: int) -> list[tuple[str, list[str]]]:
    """Every process `replicas` times: `intake-bus`, then `intake-bus.2`, … (the names of their logs)."""
    return [(name if k == 1 else f"{name}.{k}", argv) for name, argv in procs for k in range(1, replicas + 1)]


def environment(settings: SystemSettings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    env.update({f"ONEWINDOW_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None})
    env.update(extra)
    return env


class System:
    """Every process of every service, each an OS process, for the lifetime of a `with` block."""

    def __init__(self, settings: SystemSettings, log_dir: Path, metrics_base: int = 0, scratch: bool = False,
                 replicas: int = 1):
        self.settings = settings
        self.scratch = scratch
        self.log_dir = log_dir
        self.metrics_base = metrics_base
        self.replicas = replicas
        self.argv = dict(instances(commands(sys.executable), replicas))
        self.metrics_ports = {name: metrics_base + i if metrics_base else 0 for i, name in enumerate(self.argv)}
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> System:
        prepare(self.settings, scratch=self.scratch)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name in self.argv:
                self.start(name)
            self.wait_ready()
        except BaseException:  # not ready in time, or interrupted: nothing is left running
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str) -> subprocess.Popen:
        """Start (or restart) the process `name`, its output appended to its log."""
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(self.argv[name],
                                env=environment(self.settings, ONEWINDOW_METRICS_PORT=str(self.metrics_ports[name])),
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        self.procs[name] = proc
        return proc

    def wait_ready(self, timeout: float = 60, names: list[str] | None = None) -> None:
        """Until every process (or those named) is ready: its /readyz answers 200 where it serves
        one; the gRPC APIs' health is SERVING."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + timeout
        names = names or list(self.procs)
        for port in (self.settings.intake_port, self.settings.desk_port, self.settings.supervision_port,
                     self.settings.identity_port):
            with api_channel(self.settings, port) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                self._until(deadline, f"gRPC health of port {port}", lambda: stub.Check(
                    health_pb2.HealthCheckRequest(), timeout=2, wait_for_ready=True).status
                    == health_pb2.HealthCheckResponse.SERVING)
        for name in names:
            if self.metrics_ports[name]:
                self._until(deadline, f"/readyz of {name}", lambda: urllib.request.urlopen(
                    f"http://127.0.0.1:{self.metrics_ports[name]}/readyz", timeout=2).status == 200)
        dead = [n for n in names if self.procs[n].poll() is not None]
        if dead:
            raise RuntimeError(f"processes exited at start: {', '.join(dead)}; see {self.log_dir}")

    def _until(self, deadline: float, what: str, ready) -> None:
        while True:
            try:
                if ready():
                    return
            except (grpc.RpcError, OSError):  # not up yet, or 503 (urllib's HTTPError is an OSError)
                pass
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"processes exited at start: {', '.join(dead)}; see {self.log_dir}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not ready in time; see {self.log_dir}")
            time.sleep(0.2)

    def stop(self, timeout: float = 15) -> dict[str, int]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")


def scratch_settings(settings: SystemSettings, name: str) -> SystemSettings:
    """The same settings on a database of its own (`<database>_<name>`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.database_url)
    database = parts.path.lstrip("/") or "onewindow"
    return settings.model_copy(update={"database_url": urlunsplit(parts._replace(path=f"/{database}_{name}"))})
