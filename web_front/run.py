"""Entry point of the web front: `python -m web_front.run` (`onewindow run web`).

uvicorn serves the pages on `ONEWINDOW_WEB_PORT` (HTTPS with `ONEWINDOW_WEB_TLS_CERT`/`_KEY`);
/livez, /readyz and /metrics are served on `ONEWINDOW_METRICS_PORT` like every process's. SIGTERM:
readiness turns false at once, the server stops accepting, requests in flight and open board
streams get STOP_GRACE_SECONDS."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import sys
from pathlib import Path

import uvicorn
from onewindow.intake.v1 import intake_pb2 as intake

from hall.catalogue import load_org
from services import logs
from services.access import read_tokens
from services.config import ConfigError, load_settings
from services.health import Health, database_check, migrations_check

from .apis import Apis
from .app import Front, build
from .board import BoardFeed
from .links import LINK_KEY, RatingLinks
from .pads import Pads
from .sessions import Sessions
from .settings import WebSettings

STOP_GRACE_SECONDS = 5
PRUNE_EVERY_SECONDS = 600
MIGRATIONS = Path(__file__).parent / "migrations"


def link_key(settings: WebSettings) -> str:
    key = read_tokens(settings.web_secret).get(LINK_KEY)
    if not key:
        raise ConfigError(f"no {LINK_KEY} in {settings.web_secret} (run `onewindow migrate`)")
    return key


def listening_socket(port: int) -> socket.socket:
    """The server's socket, shared by every copy of the process on this host (SO_REUSEPORT, as the
    gRPC servers do): two copies of the hall on one host serve one port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(256)
    sock.set_inheritable(True)
    return sock


def front_of(settings: WebSettings) -> Front:
    """The front's parts from its settings; channels and pool open with the server."""
    apis = Apis(settings)
    sessions = Sessions(settings.database_url, settings.web_db_pool_size,
                        dt.timedelta(minutes=settings.session_idle_minutes), dt.timedelta(hours=settings.session_hours))
    links = RatingLinks(link_key(settings), settings.public_url, settings.rating_link_days)

    async def read_board():
        return await apis.call(apis.intake.GetBoard, intake.GetBoardRequest(), "web-board")

    board = BoardFeed(read_board, settings.board_poll_seconds)
    return Front(apis, sessions, links, board, load_org(settings.org), Pads(lambda: sessions.pool),
                 settings.public_url)


def application(settings: WebSettings, health: Health | None = None):
    """The ASGI application with its parts; they open and close with the server's event loop."""
    log = logging.getLogger("web")
    front = front_of(settings)
    pruning: list[asyncio.Task] = []

    async def prune_sessions():
        while True:
            try:
                pruned = await front.sessions.prune(front.now())
                if pruned:
                    log.info("%d timed-out session(s) deleted", pruned)
            except Exception as exc:  # noqa: BLE001 - the database away: next time
                log.warning("sessions not pruned: %s", exc)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def on_start():
        front.apis.open()
        await front.sessions.connect()
        pruning.append(asyncio.create_task(prune_sessions()))
        if health:
            health.started = True

    async def on_stop():
        if health:
            health.stopping = True
        for task in pruning:
            task.cancel()
        await front.apis.close()
        await front.sessions.disconnect()

    return build(front, settings.trusted_proxies(), on_start, on_stop)


def main(argv: list[str]) -> int:
    logs.configure()
    log = logging.getLogger("web")
    try:
        settings = load_settings(WebSettings)
        health = Health({"database": database_check(settings.database_url),
                         "migrations:web_front": migrations_check(settings.database_url, "web_front", [MIGRATIONS])})
        app = application(settings, health)
    except (ConfigError, RuntimeError) as exc:
        log.error("%s", exc)
        return 2
    logs.configure_from(settings)
    if settings.metrics_port:
        log.info("/metrics, /livez, /readyz on port %d", health.serve(settings.metrics_port))
    config = uvicorn.Config(app, host="0.0.0.0", port=settings.web_port, proxy_headers=False, server_header=False,
                            ssl_certfile=str(settings.web_tls_cert) if settings.web_tls_cert else None,
                            ssl_keyfile=str(settings.web_tls_key) if settings.web_tls_key else None,
                            timeout_graceful_shutdown=STOP_GRACE_SECONDS, log_config=None, access_log=False)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            health.stopping = True  # not ready at once, before the open connections are drained
            super().handle_exit(sig, frame)
            # uvicorn raises the signal again once stopped, and the process would end killed by
            # it; a clean stop ends with exit code 0, as every process's does
            self._captured_signals.clear()

    server = Server(config)
    scheme = "https" if settings.web_tls_cert else "http"
    log.info("web front on %s://0.0.0.0:%d (public address %s)", scheme, settings.web_port, settings.public_url)
    server.run(sockets=[listening_socket(settings.web_port)])
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
