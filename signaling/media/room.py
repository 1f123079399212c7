"""A meeting's media room: its participants' peer connections, the floor gate, the mixer on its 20 ms
clock, and the recording. Everything runs on the event loop; journal events reach it from the service's
listener thread through `call_soon_threadsafe` (see `plane.py`).

A gate change takes effect in the first frame mixed after it reached the loop: `changes` keeps that frame
number for each change, and the recording's sidecar its offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from meeting.errors import Rejected
from meeting.journal import RecordedEvent
from signaling.media import codec
from signaling.media.floor_gate import FloorGate, GateChange, Who
from signaling.media.mixer import Listener, Mixer
from signaling.media.peers import MediaPeer
from signaling.media.recorder import Recorder
from signaling.media.video import StageVideo, VideoSettings

log = logging.getLogger("chibo.media")


@dataclass
class RoomSettings:
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    opus: codec.OpusSettings = field(default_factory=codec.OpusSettings)
    jitter_frames: int = 2
    recordings_dir: str | None = None  # None: no recording
    per_listener_encoding: bool = False  # the naive design, for the benchmark only
    video: VideoSettings | None = None  # None: audio only (the default)
    trace_frames: int = 0


@dataclass
class ClockStats:
    ticks: int = 0
    late: int = 0  # ticks that started more than one frame after they were due
    skipped: int = 0  # frames never mixed because the loop stalled for longer than five frames
    worst_lateness_s: float = 0.0
    failed: int = 0  # frames whose mixing raised


class MediaRoom:
    def __init__(
        self,
        meeting_id: int,
        settings: RoomSettings | None = None,
        on_change: Callable[[MediaRoom, GateChange], None] | None = None,
        on_peer_gone: Callable[[MediaRoom, Who], None] | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        self.settings = settings or RoomSettings()
        self.gate = FloorGate()
        self.peers: dict[Who, MediaPeer] = {}
        self.recorder = (
            Recorder(self.settings.recordings_dir, meeting_id) if self.settings.recordings_dir is not None else None
        )
        self.mixer = Mixer(
            opus=self.settings.opus,
            per_listener_encoding=self.settings.per_listener_encoding,
            trace_frames=self.settings.trace_frames,
            on_common=self.recorder.write if self.recorder else None,
        )
        self.video = StageVideo(self.settings.video, self._stage) if self.settings.video else None
        self.frame = 0  # the next frame to mix
        self.changes: list[tuple[int, GateChange]] = []  # (first frame it applied to, change)
        self.clock = ClockStats()
        self.on_change = on_change
        self.on_peer_gone = on_peer_gone
        self.closed = False
        self._listeners: dict[Who, Listener] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._pending: list[RecordedEvent] | None = []  # events that arrive before the gate's first state

    # -- the gate ----------------------------------------------------------------------------------------------
    def start_from(self, holders: Iterable[int], seq: int, muted: Iterable[Who] = ()) -> None:
        """The floor and the chair's mutes as the journal had them at `seq`; then the events that arrived
        meanwhile, in order."""
        self.gate.holders = set(holders)
        self.gate.muted = set(muted)
        self.gate.last_seq = seq
        pending, self._pending = self._pending or [], None
        self.apply(pending)

    def apply(self, recorded: Iterable[RecordedEvent]) -> None:
        if self._pending is not None:
            self._pending.extend(recorded)
            return
        for event in recorded:
            change = self.gate.apply(event)
            if change is not None:
                self._changed(change)

    def _changed(self, change: GateChange) -> None:
        self.changes.append((self.frame, change))
        if self.recorder is not None:
            self.recorder.mark(change, self.frame)
        if self.on_change is not None:
            self.on_change(self, change)

    # -- participants ------------------------------------------------------------------------------------------
    async def join(self, who: Who, offer_sdp: str) -> str:
        """Connect a participant (replacing their earlier connection); the SDP answer for them."""
        if self.closed:
            raise Rejected("meeting_ended", status=409)
        earlier = self.peers.pop(who, None)
        self._listeners.pop(who, None)
        if earlier is not None:
            await earlier.close()
        if self.video is not None:
            await self.video.remove(who)
        peer = MediaPeer(
            who, self.settings.ice_servers, self.settings.jitter_frames, self._peer_gone, video=self.video is not None
        )
        try:
            answer = await peer.answer(offer_sdp)
        except BaseException:
            await peer.close()
            raise
        if self.closed:  # the meeting ended while the answer was being made
            await peer.close()
            raise Rejected("meeting_ended", status=409)
        concurrent = self.peers.get(who)
        if concurrent is not None:  # a second offer from the same participant overtook this one: the last wins
            await self.leave(who)
        self.peers[who] = peer
        self._listeners[who] = Listener(who, peer.inbound.pull, peer.inbound.idle, peer.outbound.push)
        if self.video is not None:
            if peer.video_in is not None:
                self.video.add_source(who, *peer.video_in)
            if peer.video_out is not None:
                self.video.add_viewer(who, peer.video_out, peer.video_sender)
        self._ensure_clock()
        return answer

    def _stage(self, cameras: set[Who]) -> Who | None:
        """Who is on the video stage: a floor holder with a camera, else the hall's camera, else nobody."""
        for member_id in sorted(self.gate.holders):
            if Who.member(member_id) in cameras:
                return Who.member(member_id)
        return next((who for who in sorted(cameras) if who.kind == "hall"), None)

    def peer(self, who: Who) -> MediaPeer:
        peer = self.peers.get(who)
        if peer is None:
            raise Rejected("media_not_joined", status=409)
        return peer

    async def leave(self, who: Who) -> None:
        peer = self.peers.pop(who, None)
        self._listeners.pop(who, None)
        if self.video is not None:
            await self.video.remove(who)
        if peer is not None:
            await peer.close()

    def _peer_gone(self, peer: MediaPeer) -> None:
        """The connection failed or closed underneath us (ICE consent lost: the phone is gone)."""
        if self.peers.get(peer.who) is not peer:
            return
        del self.peers[peer.who]
        self._listeners.pop(peer.who, None)
        task = asyncio.get_running_loop().create_task(self._forget(peer))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        if self.on_peer_gone is not None:
            self.on_peer_gone(self, peer.who)

    async def _forget(self, peer: MediaPeer) -> None:
        if self.video is not None and peer.who not in self.peers:
            await self.video.remove(peer.who)
        await peer.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        peers = list(self.peers.values())
        self.peers.clear()
        self._listeners.clear()
        if self.video is not None:
            await self.video.close()
        await asyncio.gather(*(peer.close() for peer in peers), *self._closing, return_exceptions=True)
        if self.recorder is not None:
            self.recorder.close()

    # -- the clock ---------------------------------------------------------------------------------------------
    def _ensure_clock(self) -> None:
        if self._task is None and not self.closed:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"media-room-{self.meeting_id}")

    def tick(self) -> None:
        """Mix one frame (the clock calls this every 20 ms; tests may call it themselves)."""
        self.mixer.tick(self.frame, self._listeners.values(), self.gate.admits)
        self.frame += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = codec.FRAME_SECONDS
        due = loop.time()
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness = loop.time() - due
            if lateness > period:
                self.clock.late += 1
                self.clock.worst_lateness_s = max(self.clock.worst_lateness_s, lateness)
                if lateness > 5 * period:  # a long stall: skip ahead rather than burst a backlog of frames
                    skipped = int(lateness / period)
                    self.clock.skipped += skipped
                    self.frame += skipped
                    due += skipped * period
            try:
                self.tick()
            except Exception:  # one bad frame must not silence the meeting (nor flood the log: 50 frames/s)
                self.clock.failed += 1
                if self.clock.failed % 500 == 1:
                    log.exception("mixing frame %s of meeting %s failed", self.frame, self.meeting_id)
                self.frame += 1
            self.clock.ticks += 1
            due += period
