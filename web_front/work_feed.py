"""New work for the department's worklists: one upstream WatchTasks stream of the desk API per web
process and organisation, fanned out to every open worklist of it (each counts what is work for its
person), resumed from its cursor when it ends or breaks."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
from onewindow.desk.v1 import desk_pb2 as pb

from hall.staff import PostKind

from .apis import ApiError

SIGNERS = {PostKind.APPROVER.value, PostKind.CHECKER.value}
UPSTREAM_SECONDS = 300  # an upstream stream is opened again after this, with a listener's renewed credential
log = logging.getLogger(__name__)


def is_new_for(kind: str, staff_number: str, task: pb.Task) -> bool:
    """Whether an open task of the organisation is work for this person: a handler's own or the
    pool's (not while a proposal waits for sign-off), a signer's when the proposal waits for their post."""
    if kind in SIGNERS:
        return task.HasField("proposal") and task.proposal.awaiting == kind
    return task.holder in ("", staff_number) and not task.HasField("proposal")


NEW_WORK = {"assigned", "moved", "materials_supplied", "co_handling_answered", "awaiting_sign_off"}
LINGER_SECONDS = 60.0  # the upstream stream outlives the last open worklist by this (a page on its way to it)


@dataclass
class _Organisation:
    seq: int = 0  # positions of the new work this process has seen, numbered here
    cursor: int | None = None  # the upstream feed's position to resume from; None: start at its head
    entries: list = field(default_factory=list)  # (seq, task) of new work, the latest 500
    listeners: dict = field(default_factory=dict)  # queue -> (credential, client)
    visitor: tuple = ()  # the credential and client of the latest worklist shown, for a stream before any listener
    seen_at: float = 0.0
    task: asyncio.Task | None = None


class WorkFeed:
    """New work of each organisation, from one upstream WatchTasks stream per web process and
    organisation, fanned out to every open worklist of it (never a gRPC stream per browser: each
    holds a thread of the desk API). The stream resumes from its cursor when it ends (every
    `stream_seconds`, to be opened again with a listener's renewed credential) or breaks."""

    def __init__(self, apis, stream_seconds: float = UPSTREAM_SECONDS, retry_seconds: float = 2.0):
        self.apis, self.stream_seconds, self.retry_seconds = apis, stream_seconds, retry_seconds
        self.orgs: dict[str, _Organisation] = {}
        self.reads = 0  # upstream streams opened (for the tests: one per organisation, not one per browser)

    def mark(self, organisation: str, credential: str, address: str) -> int:
        """The organisation's position now, what a worklist shows; its stream is opened if it is not."""
        org = self.orgs.setdefault(organisation, _Organisation())
        org.visitor, org.seen_at = (credential, address), time.monotonic()
        self._run(organisation, org)
        return org.seq

    def new_since(self, organisation: str, after: int, kind: str, staff_number: str) -> int:
        org = self.orgs.get(organisation)
        return len({t.task_id for seq, t in org.entries if seq > after and is_new_for(kind, staff_number, t)}) \
            if org else 0

    async def changes(self, organisation: str, credential: str, address: str) -> AsyncIterator[None]:
        """Once now, then each time new work arrives, while the credential is good."""
        org = self.orgs.setdefault(organisation, _Organisation())
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        org.listeners[queue] = (credential, address)
        self._run(organisation, org)
        try:
            yield None
            while queue in org.listeners:
                if await queue.get() is False:
                    return  # this browser's credential was refused: it reconnects and renews it
                yield None
        finally:
            org.listeners.pop(queue, None)
            org.seen_at = max(org.seen_at, time.monotonic())
            if not org.listeners:
                asyncio.get_running_loop().call_later(LINGER_SECONDS + 1, self._idle, org)

    def _idle(self, org: _Organisation) -> None:
        """The last worklist closed a while ago: the upstream stream ends now, not at its deadline."""
        if org.task is not None and not self._wanted(org):
            org.task.cancel()

    def _run(self, organisation: str, org: _Organisation) -> None:
        if org.task is None or org.task.done():
            org.task = asyncio.create_task(self._watch(organisation, org), name=f"work-feed-{organisation}")

    def _wanted(self, org: _Organisation) -> bool:
        return bool(org.listeners) or time.monotonic() - org.seen_at < LINGER_SECONDS

    def _credential(self, org: _Organisation) -> tuple[asyncio.Queue | None, tuple]:
        """A listener's credential (they are renewed as browsers reconnect), else the latest visitor's."""
        for queue, held in org.listeners.items():
            return queue, held
        return None, org.visitor

    async def _watch(self, organisation: str, org: _Organisation) -> None:
        while self._wanted(org):
            queue, (credential, address) = self._credential(org)
            self.reads += 1
            request = pb.WatchTasksRequest(after_cursor=org.cursor or 0, from_now=org.cursor is None)
            call = self.apis.desk.WatchTasks(request, metadata=self.apis.metadata(address, credential),
                                             timeout=self.stream_seconds)
            try:
                await self._follow(org, call)
            except asyncio.CancelledError:
                call.cancel()
                raise
            except grpc.aio.AioRpcError as failed:
                error = ApiError.of(failed)
                if error.code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
                    if queue is None:
                        org.visitor, org.seen_at = (), 0.0
                    else:
                        org.listeners.pop(queue, None)
                        _put(queue, False)
                    continue
                if error.code != "DEADLINE_EXCEEDED":  # the stream's own end: reopened at once
                    log.warning("work of %s not followed: %s", organisation, error.code)
                    await asyncio.sleep(self.retry_seconds)

    async def _follow(self, org: _Organisation, call) -> None:
        async for item in call:
            org.cursor = item.cursor
            if item.reason in NEW_WORK:
                org.seq += 1
                org.entries.append((org.seq, item.task))
                del org.entries[:-500]
                for listener in list(org.listeners):
                    _put(listener, True)
            if not self._wanted(org):
                call.cancel()
                return

    async def stop(self) -> None:
        for org in self.orgs.values():
            if org.task is not None:
                org.task.cancel()


def _put(queue: asyncio.Queue, value) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(value)
