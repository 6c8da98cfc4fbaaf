"""Entry point of an API process: `python -m services.apirun intake_svc.grpc_api`.

A plain grpcio server (no eventlet). The module names its settings class (`SETTINGS`) and its
port setting (`PORT_SETTING`), and provides `build(settings, server)`, which adds its servicers
and returns what to close at the end.
It serves the standard gRPC health service, and /livez, /readyz and /metrics over HTTP
(`services.health`). SIGTERM stops it: health turns NOT_SERVING at once, new calls are refused,
calls in flight get STOP_GRACE_SECONDS to finish.
"""
from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

from services import logs
from services.config import ConfigError, load_settings
from services.health import GrpcHealth, process_health

STOP_GRACE_SECONDS = 8


def main(argv: list[str]) -> int:
    logs.configure()
    log = logging.getLogger("apirun")
    (module_name,) = argv
    module = importlib.import_module(module_name)
    try:
        settings = load_settings(module.SETTINGS)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    logs.configure_from(settings)
    limit = settings.grpc_max_message_bytes
    server = grpc.server(ThreadPoolExecutor(settings.grpc_workers, thread_name_prefix="grpc"),
                         options=[("grpc.max_receive_message_length", limit),
                                  ("grpc.max_send_message_length", limit)])
    # The port first: building the API opens database connections, and an outgoing connection may
    # be given the API's port as its own local port while nothing is bound to it yet.
    address = f"0.0.0.0:{getattr(settings, module.PORT_SETTING)}"
    if settings.tls_cert and settings.tls_key:
        credentials = grpc.ssl_server_credentials([(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    api = module.build(settings, server)
    health = process_health(settings, [module_name.partition(".")[0]], broker=False)
    grpc_health = GrpcHealth(health, server)
    server.start()
    health.started = True
    grpc_health.start()
    log.info("%s listening on port %d", module_name, port)
    if settings.metrics_port:
        log.info("/metrics, /livez, /readyz on port %d", health.serve(settings.metrics_port))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    log.info("stopping")
    health.stopping = True
    grpc_health.stop()
    api.close()  # ends watch streams so that they do not hold the grace period
    server.stop(grace=STOP_GRACE_SECONDS).wait()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
