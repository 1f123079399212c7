"""Presence feeds the attendance log.

A remote member's first connection checks them in as remote (as the system, with the time). Their last
connection closing starts a grace period, so a network blip on a phone is not an absence: only when it
runs out is the departure recorded; coming back later is a new check-in, which the journal marks as a
return. A raised hand keeps its place longer before the system lowers it. Members who connect before the
journal is opened are checked in when it opens.

A node that is shutting down (draining) records no departure for the connections it closes: their members
reconnect to another node, which finds them still present. Departures already waiting out their grace are
recorded at once instead, since no other node knows of them. The node that takes a meeting on (after a drain,
a crash, or its own restart) gives every member the journal says is present online a grace period to reach it
(`adopt`); whoever does not is recorded gone, as if their last connection had closed at the takeover.
Presence writes only to meetings this node runs (`owns`): a departure timed on a node that has since lost the
meeting is the new owner's to record.

Everything runs on the event loop. Each member's presence actions are serialised by a lock, so a return
that races a departure is recorded after it, never lost before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import AttendanceMode, AttendanceStatus
from meeting.errors import Rejected
from meeting.journal import RecordedEvent
from meeting.service import MeetingService

log = logging.getLogger("chibo.presence")
Key = tuple[int, int]  # (meeting id, member id)


class Presence:
    def __init__(
        self,
        service: MeetingService,
        leave_grace_s: float = 20.0,
        hand_grace_s: float = 120.0,
        owns: Callable[[int], bool] | None = None,
    ) -> None:
        self.service = service
        self.owns = owns  # blocking (a lease claim): whether this node may write the meeting's journal; None: always
        self.leave_grace_s = leave_grace_s
        self.hand_grace_s = max(hand_grace_s, leave_grace_s)  # a hand is never lowered before its member left
        self.connections: dict[Key, int] = {}  # open presence connections per member
        self.timers: dict[Key, asyncio.Task] = {}  # a departure waiting out its grace period
        self._locks: dict[Key, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.draining = False

    # -- what the endpoint tells us ----------------------------------------------------------------------------
    def connected(self, meeting_id: int, member_id: int) -> None:
        key = (meeting_id, member_id)
        self.connections[key] = self.connections.get(key, 0) + 1
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()  # back within the grace period: nothing happened
        if self.connections[key] == 1:
            self._spawn(self._arrive(key))

    def disconnected(self, meeting_id: int, member_id: int) -> None:
        """Exactly once for each `connected`."""
        key = (meeting_id, member_id)
        remaining = self.connections.get(key, 0) - 1
        if remaining > 0:
            self.connections[key] = remaining
            return
        self.connections.pop(key, None)
        if not self.draining:  # a connection the drain closes is a member moving to another node, not leaving
            self.timers[key] = self._spawn(self._depart(key))

    def on_events(self, meeting_id: int, recorded: Sequence[RecordedEvent]) -> None:
        """A hub observer: when a meeting's journal opens, the members already waiting are checked in."""
        if any(r.event.type == "journal_opened" for r in recorded):
            for key in [key for key in self.connections if key[0] == meeting_id]:
                self._spawn(self._arrive(key))

    def taken(self, meeting_id: int) -> None:
        """This node has begun to run the meeting (a lease callback, from the claiming thread): see `adopt`."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: self._spawn(self.adopt(meeting_id)))

    async def adopt(self, meeting_id: int) -> None:
        """Start a departure's grace period for each member present online by the journal who has no connection
        here: they were connected to the node that ran the meeting before (or to this one before a restart).
        Those who reconnect in time cancel it, as after any blip."""
        if self.draining:
            return
        try:
            state, _ = await asyncio.to_thread(self.service.state, meeting_id)
        except Rejected:  # no such meeting (any more)
            return
        for member_id in state.roster:
            key = (meeting_id, member_id)
            if key in self.connections or key in self.timers or self.draining:
                continue
            record = state.attendance_of(member_id)
            if record.status == AttendanceStatus.PRESENT and record.mode == AttendanceMode.REMOTE:
                self.timers[key] = self._spawn(self._depart(key))

    def drain(self) -> None:
        """The node is shutting down: from now on closings are not departures, and the departures waiting out
        their grace are recorded now (a raised hand waiting for its own grace is left to the chair)."""
        self.draining = True
        for key, timer in list(self.timers.items()):
            timer.cancel()
            self._spawn(self._leave(key))  # does nothing if the departure was recorded already
        self.timers.clear()

    async def settle(self) -> None:
        """Until every presence action under way has been recorded (the drain bounds the wait)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.timers.clear()

    # -- the actions -------------------------------------------------------------------------------------------
    async def _arrive(self, key: Key) -> None:
        async with self._lock(key):
            if key not in self.connections:
                return  # gone again before we got here: the departure's timer takes over
            state, _ = await asyncio.to_thread(self.service.state, key[0])
            if not state.opened or key[1] not in state.roster:
                return  # not open yet (checked in when it opens), or not on this meeting's roster
            if state.attendance_of(key[1]).status == AttendanceStatus.PRESENT:
                return  # already here, in the room or online
            await self._run(key[0], c.CheckIn(member_id=key[1], mode=AttendanceMode.REMOTE))

    async def _depart(self, key: Key) -> None:
        """The grace period of a departure; cancelled when the member comes back."""
        await asyncio.sleep(self.leave_grace_s)
        # Past the grace period the recording itself runs as its own task, never cancelled half-way.
        self._spawn(self._leave(key))
        await asyncio.sleep(self.hand_grace_s - self.leave_grace_s)  # the raised hand keeps its place meanwhile
        self._spawn(self._lower_hand(key))
        if self.timers.get(key) is asyncio.current_task():
            del self.timers[key]

    async def _leave(self, key: Key) -> None:
        async with self._lock(key):
            if key in self.connections:
                return
            state, _ = await asyncio.to_thread(self.service.state, key[0])
            record = state.attendance_of(key[1])
            # Someone checked in at the door by the clerk stays present when their phone goes quiet.
            if record.status == AttendanceStatus.PRESENT and record.mode == AttendanceMode.REMOTE:
                await self._run(key[0], c.Leave(member_id=key[1]))

    async def _lower_hand(self, key: Key) -> None:
        async with self._lock(key):
            if key in self.connections:
                return
            state, _ = await asyncio.to_thread(self.service.state, key[0])
            if not state.is_present(key[1]) and any(hand.member_id == key[1] for hand in state.queue()):
                await self._run(key[0], c.LowerHand(member_id=key[1]))

    async def _run(self, meeting_id: int, command: c.Command) -> None:
        if self.owns is not None and not await asyncio.to_thread(self.owns, meeting_id):
            log.info("presence %s for meeting %s left to the node that runs it", command.type, meeting_id)
            return
        try:
            await self.service.execute_async(meeting_id, command, Actor.system())
        except Rejected as exc:  # the meeting ended, or the clerk got there first: nothing to record
            log.debug("presence %s for meeting %s not recorded: %s", command.type, meeting_id, exc.code)

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("presence action failed", exc_info=task.exception())
