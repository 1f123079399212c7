"""The process's media plane: one MediaRoom per meeting that someone has joined, kept in step with the
journal. The service tells its listeners about every append from whichever thread appended; the events
are handed to the event loop in order and applied to the meeting's room before its next frame is mixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from meeting.domain.model import MeetingStatus
from meeting.errors import Rejected
from meeting.journal import RecordedEvent
from meeting.service import MeetingService
from signaling.media.floor_gate import HALL, GateChange, Who
from signaling.media.room import MediaRoom, RoomSettings
from signaling.media.settings import MediaSettings, restrict_host_addresses, server_ice
from signaling.media.video import VideoSettings

log = logging.getLogger("chibo.media")

ChangeListener = Callable[[int, GateChange], None]
GoneListener = Callable[[int, Who], None]


class MediaPlane:
    def __init__(self, service: MeetingService, settings: MediaSettings | None = None) -> None:
        self.service = service
        self.settings = settings or MediaSettings()
        self.rooms: dict[int, MediaRoom] = {}
        self.on_change: list[ChangeListener] = []  # told of every gate change of an open room (floor, mutes, end)
        self.on_peer_gone: list[GoneListener] = []  # a participant's connection failed under them
        self.loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.settings.host_addresses:
            restrict_host_addresses(self.settings.host_addresses)
        self.service.listeners.append(self._on_append)

    async def stop(self) -> None:
        if self._on_append in self.service.listeners:
            self.service.listeners.remove(self._on_append)
        rooms = list(self.rooms.values())
        self.rooms.clear()
        await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- rooms ------------------------------------------------------------------------------------------------
    def room_settings(self) -> RoomSettings:
        return RoomSettings(
            ice_servers=server_ice(self.settings.ice_servers),
            opus=self.settings.opus,
            jitter_frames=self.settings.jitter_frames,
            recordings_dir=self.settings.recordings_dir,
            video=VideoSettings() if self.settings.video else None,
        )

    async def room(self, meeting_id: int) -> MediaRoom:
        """The meeting's room, opened on first use with the floor and the chair's mutes as the journal has them."""
        room = self.rooms.get(meeting_id)
        if room is not None:
            return room
        async with self._opening:
            room = self.rooms.get(meeting_id)
            if room is not None:
                return room
            # Registered before the state is read: events appended meanwhile wait in the room, and those the
            # state already reflects are recognised by their sequence number.
            room = MediaRoom(meeting_id, self.room_settings(), self._changed, self._peer_gone)
            self.rooms[meeting_id] = room
            try:
                state, seq = await asyncio.to_thread(self.service.state, meeting_id)
                if state.status == MeetingStatus.ENDED:
                    raise Rejected("meeting_ended", status=409)
            except BaseException:
                self.rooms.pop(meeting_id, None)
                await room.close()
                raise
            muted = {Who.member(member_id) for member_id in state.muted} | ({HALL} if state.hall_muted else set())
            room.start_from([state.floor.member_id] if state.floor else [], seq, muted)
            return room

    async def join(self, meeting_id: int, who: Who, offer_sdp: str) -> str:
        room = await self.room(meeting_id)
        try:
            return await room.join(who, offer_sdp)
        except BaseException:
            self._close_if_empty(room)  # a refused first offer leaves no empty room (nor recording) behind
            raise

    async def leave(self, meeting_id: int, who: Who) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        await room.leave(who)
        self._close_if_empty(room)

    def _close_if_empty(self, room: MediaRoom) -> None:
        if not room.peers and self.rooms.get(room.meeting_id) is room:
            self._close_room(room)  # the recording segment ends with the last participant

    def _close_room(self, room: MediaRoom) -> None:
        self.rooms.pop(room.meeting_id, None)
        self.background(room.close())

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Teardown that need not be awaited by its caller, but is awaited by `stop` (nothing leaks)."""
        task = asyncio.get_running_loop().create_task(work)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- the journal ------------------------------------------------------------------------------------------
    def _on_append(self, meeting_id: int, recorded: list[RecordedEvent]) -> None:
        """From the service, inside the meeting's lock, on any thread: hand over to the loop, in order."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, meeting_id, recorded)

    def _deliver(self, meeting_id: int, recorded: list[RecordedEvent]) -> None:
        room = self.rooms.get(meeting_id)
        if room is not None:
            room.apply(recorded)

    def _changed(self, room: MediaRoom, change: GateChange) -> None:
        for listener in list(self.on_change):
            with contextlib.suppress(Exception):
                listener(room.meeting_id, change)
        if change.kind == "meeting_ended" and self.rooms.get(room.meeting_id) is room:
            self._close_room(room)

    def _peer_gone(self, room: MediaRoom, who: Who) -> None:
        for listener in list(self.on_peer_gone):
            with contextlib.suppress(Exception):
                listener(room.meeting_id, who)
        self._close_if_empty(room)
