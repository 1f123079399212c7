"""Media tests run real aiortc peers on loopback only: host candidates are 127.0.0.1 and no STUN server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from meeting.domain import events as ev
from meeting.journal import RecordedEvent
from signaling.media.floor_gate import Who
from signaling.media.probe import ProbeClient
from signaling.media.room import MediaRoom, RoomSettings
from signaling.media.settings import restrict_host_addresses


@pytest.fixture(autouse=True)
def loopback_only():
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses(None)


def recorded(seq: int, event: ev.Event, meeting_id: int = 1) -> RecordedEvent:
    return RecordedEvent(meeting_id, seq, "member:1", None, event, "0" * 64, f"{seq:064x}")


def granted(seq: int, member_id: int) -> RecordedEvent:
    return recorded(
        seq, ev.FloorGranted(at="2026-11-23T08:00:00+00:00", member_id=member_id, item_id="i1", deadline=None)
    )


def ended(seq: int, member_id: int, reason: str = "revoked") -> RecordedEvent:
    return recorded(seq, ev.FloorEnded(at="2026-11-23T08:00:00+00:00", member_id=member_id, reason=reason))


def muted(seq: int, member_id: int | None = None, on: bool = True) -> RecordedEvent:
    """The chair's mute (`on`) or unmute of a member's microphone, or of the hall's when `member_id` is None."""
    kind = ev.MicrophoneMuted if on else ev.MicrophoneUnmuted
    return recorded(seq, kind(at="2026-11-23T08:00:00+00:00", member_id=member_id, hall=member_id is None, by=1))


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait for a condition (the test's pace, not an assertion about speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.02)


class Rooms:
    """Rooms and probe clients made by a test, all closed at its end."""

    def __init__(self) -> None:
        self.rooms: list[MediaRoom] = []
        self.clients: list[ProbeClient] = []

    def room(self, holders: tuple[int, ...] = (), **settings) -> MediaRoom:
        room = MediaRoom(1, RoomSettings(trace_frames=3000, **settings))
        room.start_from(holders, 0)
        self.rooms.append(room)
        return room

    async def join(self, room: MediaRoom, who: Who, **client) -> ProbeClient:
        probe = ProbeClient(**client)
        self.clients.append(probe)
        await probe.connect(lambda sdp: room.join(who, sdp))
        return probe

    async def close(self) -> None:
        for probe in self.clients:
            await probe.close()
        for room in self.rooms:
            await room.close()


@pytest.fixture
async def rooms() -> AsyncIterator[Rooms]:
    made = Rooms()
    yield made
    await made.close()
