"""Helpers for tests that drive real processes: waiting on conditions, reading /metrics."""
from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from tooling.sandbox import free_port, free_port_block  # noqa: F401  (below the ephemeral range)

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 30, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def metric(port: int, name: str, **labels: str) -> float | None:
    """The value of one sample on a process's /metrics, or None if absent or unreachable."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return None
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            sample, _, value = line.rpartition(" ")
            got = sample[len(name):].strip("{}")
            if ",".join(sorted(got.split(","))) == want:
                return float(value)
    return None


def stop(proc: subprocess.Popen, timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
