"""The hall board's live feed: one upstream read of the board counts per web process, however many
boards are open, fanned out to each open board's event stream."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


def _counts(board) -> tuple:
    """What a board shows, without the moment it was read."""
    return (board.day, board.total.SerializeToString(deterministic=True),
            tuple(r.SerializeToString(deterministic=True) for r in [*board.centres, *board.windows]))


class BoardFeed:
    def __init__(self, read: Callable[[], Awaitable], every_seconds: float):
        self._read, self.every = read, every_seconds
        self.latest = None
        self._read_at = 0.0  # monotonic time of the latest read
        self._listeners: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None

    async def current(self):
        """The board as last read, read again first if that is older than a poll."""
        if self.latest is None or time.monotonic() - self._read_at > self.every:
            self._keep(await self._read())
        return self.latest

    def _keep(self, board) -> None:
        """Hold a board read now; every open board gets it if its counts changed."""
        changed = self.latest is None or _counts(board) != _counts(self.latest)
        self.latest, self._read_at = board, time.monotonic()
        if changed:
            for queue in list(self._listeners):
                if queue.full():
                    queue.get_nowait()  # a slow board skips to the newest counts
                queue.put_nowait(board)

    async def changes(self) -> AsyncIterator:
        """The board as it is, then each time its counts change, for as long as the caller listens."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        self._listeners.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="board-feed")
        try:
            if self.latest is not None:
                yield self.latest
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def _poll(self) -> None:
        failing = False
        while self._listeners:
            try:
                board = await self._read()
            except Exception as exc:  # noqa: BLE001 - an API away: the boards keep the last counts
                if not failing:
                    log.warning("board counts not read: %s", exc)
                failing = True
            else:
                failing = False
                self._keep(board)
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
