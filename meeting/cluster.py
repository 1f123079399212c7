"""Many nodes, one PostgreSQL: each live meeting is run by one node at a time, through a lease row.

A node takes the lease of a meeting when a client arrives and the lease is free or lapsed, renews the
leases of the meetings it serves every third of the lease time, and drops a meeting whose lease another
node has taken. A client that reaches a node which does not hold the lease is sent to the node that does.
The database decides who wins a race (row lock on PostgreSQL, the single writer on SQLite): there is no
consensus of our own. The journal's (meeting, seq) key stays the last line of defence against two writers.
A node that is shutting down (draining) takes no lease any more and releases its own, so that its clients,
reconnecting to another node, move the meeting there at once instead of waiting for the lease to lapse.

Every write to a live meeting's journal goes through its owner: commands over the WebSocket (a client is
redirected before it may send any), over HTTP (`ensure_owner`: 409 `not_owner` with the owner's address),
and the system's own presence records (`owns`). When a node starts serving a meeting (its first claim, after
a start-up or a takeover) it is told through `on_taken`, so the members the journal says are present online
but who never reach this node are recorded gone after the usual grace period.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from meeting.db.models import MeetingLease
from meeting.errors import Rejected
from meeting.service import MeetingService

log = logging.getLogger("chibo.cluster")


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Owner:
    node_id: str
    node_url: str
    expires_at: datetime | None = None  # when its lease lapses unless renewed


def wait_seconds(owner: Owner, now: datetime | None = None) -> int:
    """How long a client should wait before asking again: until the owner's lease would lapse (at least 1 s)."""
    if owner.expires_at is None:
        return 1
    left = (owner.expires_at - (now or datetime.now(UTC))).total_seconds()
    return max(1, math.ceil(left))


class Leases:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        service: MeetingService,
        node_id: str,
        node_url: str,
        lease_seconds: int = 10,
        active: Callable[[], set[int]] = set,
    ) -> None:
        self.sessions = sessions
        self.service = service
        self.node_id = node_id or default_node_id()
        self.node_url = node_url
        self.lease = timedelta(seconds=lease_seconds)
        self.held: set[int] = set()
        self.active = active  # the meetings this node has clients for; the others' leases are left to lapse
        self.on_lost: list[
            Callable[[int], None]
        ] = []  # callbacks(meeting_id) when another node took a meeting we served
        self.on_taken: list[Callable[[int], None]] = []  # callbacks(meeting_id), from the claiming thread
        self.draining = False  # set on the event loop by the drain, read by claims in worker threads
        self._task: asyncio.Task | None = None

    def claim(self, meeting_id: int, now: datetime | None = None) -> Owner | None:
        """Take or keep the meeting's lease; None when we hold it, else the node that does.
        Rejected `node_draining` (503) once this node is shutting down."""
        if self.draining:
            raise Rejected("node_draining", status=503, retry_after=1)
        for _ in range(3):
            try:
                owner = self._claim(meeting_id, now or datetime.now(UTC))
                break
            except IntegrityError:
                continue  # two claims inserted the first lease row at once: the row exists now, look again
        else:
            raise RuntimeError(f"could not settle the lease of meeting {meeting_id}")
        if owner is None and self.draining:  # the drain began during the claim and may have released already
            self.release(meeting_id)
            raise Rejected("node_draining", status=503, retry_after=1)
        return owner

    def _claim(self, meeting_id: int, now: datetime) -> Owner | None:
        with self.sessions.begin() as session:
            lease = session.scalars(
                select(MeetingLease).where(MeetingLease.meeting_id == meeting_id).with_for_update()
            ).first()
            if lease is not None and lease.node_id != self.node_id and lease.expires_at > now:
                return Owner(lease.node_id, lease.node_url, lease.expires_at)
            taken_over = lease is None or lease.node_id != self.node_id
            newly_served = meeting_id not in self.held
            if lease is None:
                session.add(
                    MeetingLease(
                        meeting_id=meeting_id, node_id=self.node_id, node_url=self.node_url, expires_at=now + self.lease
                    )
                )
            else:
                lease.node_id, lease.node_url, lease.expires_at = self.node_id, self.node_url, now + self.lease
        if taken_over:
            # Whatever this node knew of the meeting may be older than the journal another node wrote.
            self.service.forget(meeting_id)
            log.info("node %s now runs meeting %s", self.node_id, meeting_id)
        self.held.add(meeting_id)
        if newly_served:
            for callback in self.on_taken:
                callback(meeting_id)
        return None

    async def ensure_owner(self, meeting_id: int) -> None:
        """Before an HTTP request writes to the meeting's journal: go on if this node runs the meeting (or takes it
        now), else 409 `not_owner` naming the node that does, so the client sends the same request there, or 503
        `lease_pending` when that node has this node's own address (see `at_own_address`)."""
        if meeting_id in self.held:
            return
        owner = await asyncio.to_thread(self.claim, meeting_id)
        if owner is None:
            return
        if self.at_own_address(owner):
            raise Rejected("lease_pending", status=503, retry_after=wait_seconds(owner))
        raise Rejected("not_owner", status=409, node_url=owner.node_url)

    def at_own_address(self, owner: Owner) -> bool:
        """The lease is held under another name at this node's own address: a process that ran here before (before
        an upgrade, or with another CHIBO_NODE_ID), or a second node wrongly given the same CHIBO_NODE_URL. Sending
        the client "there" would send it back here, again and again: it is told to wait until the lease lapses."""
        return owner.node_url.rstrip("/") == self.node_url.rstrip("/")

    def owns(self, meeting_id: int) -> bool:
        """Whether this node may write the meeting's journal now (taking a free lease if need be): the system's
        own records (presence) are written only there. Asks the database even for a meeting held here, since
        those records are timed (a node that stalled past its lease must not learn it from a failed append).
        While draining, only the meetings not yet released: the departures the drain records go there."""
        if self.draining:
            return meeting_id in self.held
        try:
            return self.claim(meeting_id) is None
        except Rejected:  # the drain began during the claim
            return False

    def renew(self, now: datetime | None = None) -> set[int]:
        """Extend our leases; returns the meetings we found taken by another node (we must let go)."""
        now = now or datetime.now(UTC)
        lost: set[int] = set()
        self.held &= self.active()
        if not self.held:
            return lost
        with self.sessions.begin() as session:
            for lease in session.scalars(
                select(MeetingLease).where(MeetingLease.meeting_id.in_(self.held)).with_for_update()
            ):
                if lease.node_id == self.node_id:
                    lease.expires_at = now + self.lease
                else:
                    lost.add(lease.meeting_id)
        for meeting_id in lost:
            self.held.discard(meeting_id)
            self.service.forget(meeting_id)
        return lost

    def release(self, meeting_id: int) -> None:
        """Let go of a meeting nobody here is connected to any more, so another node may take it at once."""
        self.held.discard(meeting_id)
        with self.sessions.begin() as session:
            session.execute(
                delete(MeetingLease).where(MeetingLease.meeting_id == meeting_id, MeetingLease.node_id == self.node_id)
            )

    async def run(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.2)
        while True:
            await asyncio.sleep(interval)
            try:
                lost = await asyncio.to_thread(self.renew)
            except Exception:  # the database is briefly unreachable: try again at the next beat
                log.exception("renewing meeting leases failed")
                continue
            for meeting_id in lost:
                log.warning("meeting %s was taken over by another node", meeting_id)
                for callback in self.on_lost:
                    callback(meeting_id)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self, release: bool = True) -> None:
        """Stop renewing; release every lease we hold unless told not to (then they lapse on their own)."""
        if self._task is not None:
            self._task.cancel()
        if not release:
            self.held.clear()
            return
        for meeting_id in list(self.held):
            try:
                await asyncio.to_thread(self.release, meeting_id)
            except Exception:
                log.exception("releasing the lease of meeting %s failed", meeting_id)
