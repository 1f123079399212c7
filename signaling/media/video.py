"""The stage: the floor holder's camera, else the hall's, encoded once (VP8) and packed for every viewer.

Off by default (CHIBO_MEDIA_VIDEO=on turns it on): phones on weak links join audio-only and cost no video
work at all. Only the stage's camera is received and decoded; every other camera's packets are dropped on
arrival (its receiver is disabled), and when the stage changes the newly enabled receiver asks its browser
for a keyframe by itself (aiortc sends a PLI when it cannot decode). Each new viewer, and each viewer that
reports a lost picture (PLI/FIR), makes the next stage frame a keyframe, for everyone: there is one encoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling.media.floor_gate import Who
from signaling.media.peers import EncodedTrack

log = logging.getLogger("chibo.media")

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


@dataclass(frozen=True)
class VideoSettings:
    width: int = 640
    height: int = 360
    fps: int = 15
    bitrate: int = 300_000  # modest: a 3G link that carries it still leaves room for the audio
    keyframe_every_s: int = 10  # a viewer whose loss report never arrives still recovers


class CameraSource:
    """One participant's camera as the server receives it; frames arrive only while it is on stage."""

    def __init__(self, receiver: Any, track: MediaStreamTrack) -> None:
        self.receiver = receiver
        self.track = track
        self.latest: av.VideoFrame | None = None
        self.frames = 0
        self.receiver._enabled = False
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                self.latest = await self.track.recv()
                self.frames += 1

    def on_stage(self, on: bool) -> None:
        self.receiver._enabled = on
        if not on:
            self.latest = None  # a stale picture must not come back when this camera returns to the stage

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class StageVideo:
    def __init__(self, settings: VideoSettings, choose: Callable[[set[Who]], Who | None]) -> None:
        self.settings = settings
        self.choose = choose  # given who has a camera, who is on stage (the room knows the floor)
        self.sources: dict[Who, CameraSource] = {}
        self.viewers: dict[Who, EncodedTrack] = {}
        self.stage: Who | None = None
        self.encoder: av.VideoCodecContext | None = None
        self.want_keyframe = True
        self.frame_index = 0
        self.encoded = 0
        self.keyframes = 0
        self._last_frame: av.VideoFrame | None = None
        self._task: asyncio.Task[None] | None = None

    # -- who sends, who watches --------------------------------------------------------------------------------
    def add_source(self, who: Who, receiver: Any, track: MediaStreamTrack) -> None:
        self.sources[who] = CameraSource(receiver, track)
        if self.stage == who:
            self.stage = None  # a reconnected camera: switch to it afresh
        self._ensure_running()

    def add_viewer(self, who: Who, track: EncodedTrack, sender: Any) -> None:
        """A viewer's sender: a new viewer needs a keyframe, and so does one that reports a lost picture."""
        self.viewers[who] = track
        self.want_keyframe = True
        original = sender._send_keyframe

        def keyframe_for_everyone() -> None:
            self.want_keyframe = True
            original()

        sender._send_keyframe = keyframe_for_everyone
        self._ensure_running()

    async def remove(self, who: Who) -> None:
        self.viewers.pop(who, None)
        source = self.sources.pop(who, None)
        if source is not None:
            await source.close()
        if self.stage == who:
            self.stage = None

    # -- the stage clock ---------------------------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-stage-video")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1 / self.settings.fps
        due = loop.time()
        while True:
            due = max(due + period, loop.time())
            await asyncio.sleep(due - loop.time())
            try:
                self.tick()
            except Exception:
                log.exception("stage video frame %s failed", self.frame_index)

    def tick(self) -> None:
        stage = self.choose(set(self.sources))
        if stage != self.stage:
            if self.stage in self.sources:
                self.sources[self.stage].on_stage(False)
            if stage is not None:
                self.sources[stage].on_stage(True)
            self.stage = stage
            self.want_keyframe = True
        if stage is None or not self.viewers:
            return  # no camera on stage, or nobody watching: no video work at all
        frame = self.sources[stage].latest
        if frame is None or (frame is self._last_frame and not self.want_keyframe):
            return  # waiting for the camera's first (key)frame, or no new picture
        self._last_frame = frame
        packet = self._encode(frame)
        if packet is not None:
            for track in list(self.viewers.values()):
                track.push(packet)

    def _encode(self, frame: av.VideoFrame) -> av.Packet | None:
        settings = self.settings
        if self.encoder is None:
            encoder = av.CodecContext.create("libvpx", "w")
            encoder.width, encoder.height = settings.width, settings.height
            encoder.pix_fmt = "yuv420p"
            encoder.bit_rate = settings.bitrate
            encoder.framerate = fractions.Fraction(settings.fps, 1)
            encoder.time_base = fractions.Fraction(1, settings.fps)
            encoder.gop_size = settings.fps * settings.keyframe_every_s
            encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "error-resilient": "1"}
            self.encoder = encoder
        scaled = frame.reformat(width=settings.width, height=settings.height, format="yuv420p")
        scaled.pts = self.frame_index
        scaled.time_base = self.encoder.time_base
        if self.want_keyframe:
            scaled.pict_type = av.video.frame.PictureType.I
            self.want_keyframe = False
        packets = self.encoder.encode(scaled)
        index = self.frame_index
        self.frame_index += 1
        if not packets:
            return None
        data = b"".join(bytes(p) for p in packets)
        packet = av.Packet(data)
        packet.pts = packet.dts = index * VIDEO_CLOCK // settings.fps
        packet.time_base = VIDEO_TIME_BASE
        self.encoded += 1
        if any(p.is_keyframe for p in packets):
            self.keyframes += 1
        return packet

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for who in list(self.sources):
            await self.remove(who)
        self.viewers.clear()
        self.encoder = None
