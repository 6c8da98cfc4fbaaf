"""Health of a process: liveness, readiness, and the HTTP endpoint that serves them with /metrics.

Every process serves, on `ONEWINDOW_METRICS_PORT`:
- `/livez`: 200 while the process answers at all (in a bus process the server runs on the eventlet
  hub, so a blocked hub fails it). Kubernetes restarts a process that stops answering.
- `/readyz`: 200 with the checks as JSON once the broker (bus processes), the database and the
  service's migrations are ready, and until the process starts stopping; 503 with the failing
  checks otherwise. Kubernetes sends no work to a process that is not ready.
- `/metrics`: Prometheus.
The gRPC processes also serve the standard `grpc.health.v1.Health` service from the same checks.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2

Check = Callable[[], None]  # raises when not ready; the message says why


def database_check(url: str) -> Check:
    def check() -> None:
        import psycopg

        with psycopg.connect(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
            conn.execute("SELECT 1")
    return check


def migrations_check(url: str, schema: str, sources: list[Path]) -> Check:
    """Ready once no migration of the service is pending; remembered, since they are never undone."""
    from .db import pending_migrations

    applied = threading.Event()

    def check() -> None:
        if applied.is_set():
            return
        pending = pending_migrations(url, schema, sources)
        if pending:
            raise RuntimeError(f"{len(pending)} migration(s) of {schema} not applied (run `onewindow migrate`): "
                               + ", ".join(pending))
        applied.set()
    return check


def broker_check(url: str) -> Check:
    def check() -> None:
        import kombu

        with kombu.Connection(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1)
    return check


def process_health(settings, packages: list[str], broker: bool) -> Health:
    """The checks of a process running the services of `packages` (`intake_svc` …): broker (bus
    processes), database, migrations."""
    from .db import schema_of, service_migrations

    checks = {"broker": broker_check(settings.amqp_url)} if broker else {}
    checks["database"] = database_check(settings.database_url)
    for package in packages:
        checks[f"migrations:{schema_of(package)}"] = migrations_check(settings.database_url, schema_of(package),
                                                                      service_migrations(package))
    return Health(checks)


class Health:
    """The named readiness checks of a process, and whether it has started and not begun stopping."""

    def __init__(self, checks: dict[str, Check]):
        self.checks = checks
        self.started = False
        self.stopping = False

    def readiness(self) -> tuple[bool, dict[str, str]]:
        results = {"process": "stopping" if self.stopping else "ok" if self.started else "starting"}
        for name, check in self.checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready, and says why
                results[name] = f"{type(exc).__name__}: {exc}".strip()
        return all(v == "ok" for v in results.values()), results

    def wsgi_app(self):
        metrics = make_wsgi_app()

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "/")
            if path == "/livez":
                return _reply(start_response, 200, {"status": "alive"})
            if path == "/readyz":
                ready, results = self.readiness()
                return _reply(start_response, 200 if ready else 503, results)
            return metrics(environ, start_response)
        return app

    def serve(self, port: int, addr: str = "0.0.0.0") -> int:
        """Serve /livez, /readyz and /metrics on `port` (0 picks a free one) in a daemon thread."""
        server = make_server(addr, port, self.wsgi_app(), ThreadingWSGIServer, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
        return server.server_port


def _reply(start_response, status: int, body: dict) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    start_response(f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
                   [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # probes every few seconds would drown the log
        pass


class GrpcHealth:
    """`grpc.health.v1.Health` on a gRPC server, SERVING while `health` is ready."""

    def __init__(self, health: Health, server, interval: float = 5.0):
        from grpc_health.v1 import health as grpc_health
        from grpc_health.v1 import health_pb2_grpc

        self.health, self.interval = health, interval
        self.servicer = grpc_health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)
        self._stop = threading.Event()
        self._set(False)

    def _set(self, ready: bool) -> None:
        from grpc_health.v1 import health_pb2

        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        self.servicer.set("", status)  # the server as a whole: what Kubernetes' gRPC probe asks

    def start(self) -> None:
        threading.Thread(target=self._watch, name="grpc-health", daemon=True).start()

    def _watch(self) -> None:
        was = None
        while not self._stop.is_set():
            ready, results = self.health.readiness()
            if ready != was:
                (log.info if ready else log.warning)("readiness: %s", json.dumps(results, ensure_ascii=False))
                self._set(ready)
                was = ready
            self._stop.wait(self.interval if ready else 1.0)

    def stop(self) -> None:
        """Tell the load balancers first: every service NOT_SERVING, for good."""
        self._stop.set()
        self.servicer.enter_graceful_shutdown()
