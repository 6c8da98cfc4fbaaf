"""What the web front's modules share in a real browser: Debian's chromium, and the module's own hall's
web front served over HTTP (each module defines its `hall`)."""
from __future__ import annotations

import socket
import threading

import pytest

from web_front.run import application


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def front(hall):
    """The web front of this module's hall served over HTTP on 127.0.0.1 (uvicorn in a thread, on a
    socket bound before it starts: the first request waits in the socket's queue)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(application(hall.settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()
