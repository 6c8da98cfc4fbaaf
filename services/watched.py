"""A file read at start and again whenever it changes, so an edit takes effect without a restart.

Reference files that people edit while the hall is open (the staff register, the tokens file) must
take effect within seconds, and a slip in an edit must not take the hall down: a bad file at start
stops the process there, where someone is watching; a bad edit later is logged once and the last
good version stays in force until the file is mended.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
RECHECK_SECONDS = 5.0
log = logging.getLogger(__name__)


class WatchedFile(Generic[T]):
    """`load(path)`'s value, re-read when the file's content has changed.

    The file is looked at no more often than every `recheck_seconds`, by whichever caller comes
    first; the others meanwhile get the value in force rather than wait (the lock is not waited
    for), so a slow disk never holds up a request."""

    def __init__(self, path: Path | str, load: Callable[[Path], T], recheck_seconds: float = RECHECK_SECONDS):
        self.path, self.recheck_seconds = Path(path), recheck_seconds
        self._load = load
        self._lock = threading.Lock()
        # The stamp is taken before the read: a change in between is seen at the next look.
        self._stamp = _stamp(self.path)
        self._value = load(self.path)  # a bad file raises here, and the process refuses to start
        self._next_check = time.monotonic() + recheck_seconds

    @property
    def current(self) -> T:
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = time.monotonic() + self.recheck_seconds
                self._recheck()
            finally:
                self._lock.release()
        return self._value

    def _recheck(self) -> None:
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is reported once, and read again when it changes
        if isinstance(stamp, str):
            log.error("%s %s; the version in force stays in force", self.path, stamp)
            return
        try:
            value = self._load(self.path)
        except Exception as exc:  # whatever is wrong with the new file, the old version serves on
            expected = isinstance(exc, ValueError | OSError)  # a bad file, not a bug: no traceback
            log.error("%s not re-read, the version in force stays in force: %s", self.path, exc,
                      exc_info=not expected)
        else:
            self._value = value
            log.info("%s re-read", self.path)


def _stamp(path: Path) -> bytes | str:
    """The file's digest (reference files are small), or why it cannot be read: the digest changes
    with any rewrite, however soon after the last one and whatever the file system's timestamps."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return "is gone"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
