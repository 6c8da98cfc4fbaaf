"""The whole system on one host: prepare the store and the broker, start every process, stop them.

`./onewindow up` runs the processes under honcho in the foreground; `demo`, `load` and the
end-to-end tests use `System`, which starts each process as its own OS process with its output in
a log file, waits until the gRPC APIs answer, and stops everything with SIGTERM.
"""
from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc

from .catalogue import load_org
from .config import ROOT, Settings
from .db import drop_database, ensure_database, migrate, service_migrations
from .processes import SERVICES, commands


def prepare(settings: Settings, echo=lambda line: None, scratch: bool = False) -> None:
    """Database, every service's migrations, every handler's queue, and department tokens.

    `scratch`: a throwaway run (demo, load) on a database of its own, recreated empty, whose
    queues start empty too.
    """
    from .bus import declare_queues
    from .grpcutil import SUPERVISION_OFFICE, write_tokens

    if scratch:
        drop_database(settings.database_url)
    ensure_database(settings.database_url)
    for service in SERVICES:
        applied = migrate(settings.database_url, service.name, service_migrations(service.package))
        module, _, cls = service.bus.partition(":")
        queues = declare_queues(settings.amqp_url, service.name, getattr(importlib.import_module(module), cls),
                                purge=scratch)
        echo(f"{service.name}: {len(applied)} migration(s) applied, {len(queues)} queue(s) declared")
    added = write_tokens(settings.desk_tokens, [d.code for d in load_org(settings.org).departments] + [SUPERVISION_OFFICE])
    if added:
        echo(f"tokens for {len(added)} department(s) written to {settings.desk_tokens}")


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    env.update({f"ONEWINDOW_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None})
    env.update(extra)
    return env


class System:
    """Every process of every service, each an OS process, for the lifetime of a `with` block."""

    def __init__(self, settings: Settings, log_dir: Path, metrics_base: int = 0, scratch: bool = False):
        self.settings = settings
        self.scratch = scratch
        self.log_dir = log_dir
        self.metrics_base = metrics_base
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> System:
        prepare(self.settings, scratch=self.scratch)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for i, (name, argv) in enumerate(commands(sys.executable)):
            self.start(name, argv, i)
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, argv: list[str], index: int = 0) -> subprocess.Popen:
        metrics = str(self.metrics_base + index) if self.metrics_base else "0"
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=environment(self.settings, ONEWINDOW_METRICS_PORT=metrics),
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        self.procs[name] = proc
        return proc

    def wait_ready(self, timeout: float = 60) -> None:
        for port in (self.settings.intake_port, self.settings.desk_port, self.settings.supervision_port):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                try:
                    grpc.channel_ready_future(channel).result(timeout=timeout)
                except grpc.FutureTimeoutError:
                    raise RuntimeError(f"no gRPC server on port {port} after {timeout}s; see {self.log_dir}") from None
        dead = [n for n, p in self.procs.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"processes exited at start: {', '.join(dead)}; see {self.log_dir}")

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


def scratch_settings(settings: Settings, name: str) -> Settings:
    """The same settings on a database of its own (`<database>_<name>`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.database_url)
    database = parts.path.lstrip("/") or "onewindow"
    return settings.model_copy(update={"database_url": urlunsplit(parts._replace(path=f"/{database}_{name}"))})
