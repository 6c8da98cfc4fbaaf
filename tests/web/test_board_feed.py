"""The board feed: one upstream read per poll however many boards are open, each open board told
of a change once, a board opened after a quiet spell never shown stale counts."""
from __future__ import annotations

import asyncio

from onewindow.intake.v1 import intake_pb2 as ipb

from web_front.board import BoardFeed


class Counts:
    """The intake API's board, as a counter the test moves: each read waits for a tick of the test."""

    def __init__(self, ticked: bool = True):
        self.accepted, self.reads, self.ticked = 0, 0, ticked
        self.ticks: asyncio.Queue = asyncio.Queue()

    async def read(self):
        if self.ticked:
            await self.ticks.get()
        self.reads += 1
        return ipb.Board(day="2026-12-03", as_of=f"t{self.reads}",
                         total=ipb.BoardCounts(accepted_today=self.accepted))


def test_open_boards_share_one_read_and_hear_each_change_once():
    async def play():
        counts = Counts()
        feed = BoardFeed(counts.read, every_seconds=0)
        first, second = feed.changes(), feed.changes()
        waiting = [asyncio.create_task(anext(first)), asyncio.create_task(anext(second))]
        await asyncio.sleep(0)  # both boards open before the first read
        counts.ticks.put_nowait(None)
        assert [(await w).total.accepted_today for w in waiting] == [0, 0] and counts.reads == 1
        waiting = [asyncio.create_task(anext(first)), asyncio.create_task(anext(second))]
        counts.ticks.put_nowait(None)  # the same counts: nothing is sent
        while counts.reads < 2:
            await asyncio.sleep(0)  # let the poll take that read
        assert not any(w.done() for w in waiting)
        counts.accepted = 1
        counts.ticks.put_nowait(None)
        assert [(await w).total.accepted_today for w in waiting] == [1, 1] and counts.reads == 3
        for board in (first, second):
            await board.aclose()
        await feed.stop()

    asyncio.run(play())


def test_a_board_opened_after_a_quiet_spell_reads_afresh():
    async def play():
        counts = Counts(ticked=False)
        feed = BoardFeed(counts.read, every_seconds=0.05)
        assert (await feed.current()).total.accepted_today == 0
        counts.accepted = 3
        assert (await feed.current()).total.accepted_today == 0  # within a poll: the same counts
        await asyncio.sleep(0.06)  # the time rule under test: older than a poll
        assert (await feed.current()).total.accepted_today == 3

    asyncio.run(play())
