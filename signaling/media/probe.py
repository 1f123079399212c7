"""Client peers made with aiortc, for the tests and the benchmark: a member's phone in miniature.

`ToneSource` sends a 440 Hz sine (or silence) in real time; `ProbeClient` offers, keeps the server's answer,
and measures what it hears frame by frame, keyed by the RTP timestamp so a test can count in frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling.media import codec

TONE_HZ = 440.0
TONE_AMPLITUDE = 8000  # a quarter of full scale: RMS about 5,657
HEARD_RMS = 1000.0  # a frame louder than this carries sound; Opus noise of silence is far below
TONE_HEARD = 2000.0  # a tone's amplitude after two Opus passes is about 5,000
TONE_ABSENT = 800.0  # well above what a neighbouring tone leaks into this frequency


class ToneSource(MediaStreamTrack):
    """A microphone that plays a sine while `on` (a 440 Hz tone), silence otherwise, paced at 20 ms."""

    kind = "audio"

    def __init__(self, on: bool = True, hz: float = TONE_HZ) -> None:
        super().__init__()
        self.on = on
        self.hz = hz
        self.sent = 0
        self._start: float | None = None
        self._phase = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self.sent * codec.FRAME_SECONDS
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        n = np.arange(self._phase, self._phase + codec.FRAME_SAMPLES)
        self._phase += codec.FRAME_SAMPLES
        if self.on:
            pcm = (np.sin(2 * math.pi * self.hz * n / codec.SAMPLE_RATE) * TONE_AMPLITUDE).astype(np.int16)
        else:
            pcm = codec.SILENCE
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = codec.SAMPLE_RATE
        frame.pts = self.sent * codec.FRAME_SAMPLES
        frame.time_base = codec.TIME_BASE
        self.sent += 1
        return frame


class ColourCamera(MediaStreamTrack):
    """A camera that films a plain colour (so a viewer can tell whose picture it gets), 10 frames a second."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], fps: int = 10) -> None:
        super().__init__()
        self.picture = np.empty((240, 320, 3), dtype=np.uint8)
        self.picture[:] = rgb
        self.fps = fps
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self.sent / self.fps
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        frame = av.VideoFrame.from_ndarray(self.picture, format="rgb24")
        frame.pts = self.sent * 90_000 // self.fps
        frame.time_base = fractions.Fraction(1, 90_000)
        self.sent += 1
        return frame


@dataclass(frozen=True)
class Heard:
    """One decoded 20 ms frame as the client heard it."""

    pts: int  # RTP timestamp relative to the first packet this client received (samples)
    samples: np.ndarray  # mono

    @property
    def rms(self) -> float:
        return codec.rms(self.samples)

    def tone(self, hz: float = TONE_HZ) -> float:
        return tone_level(self.samples, hz)


def tone_level(samples: np.ndarray, hz: float) -> float:
    """Amplitude of the `hz` component of a frame (one Hann-windowed Fourier bin): which tone is in it.
    The window keeps a neighbouring tone's leakage under 1 % (a plain sum over 20 ms leaks about 7 %)."""
    if samples.size == 0:
        return 0.0
    n = np.arange(samples.size)
    window = np.hanning(samples.size)
    angle = 2 * math.pi * hz * n / codec.SAMPLE_RATE
    x = samples.astype(np.float64) * window
    return float(2 * math.hypot(np.dot(x, np.sin(angle)), np.dot(x, np.cos(angle))) / window.sum())


class ProbeClient:
    """One participant's browser, played by aiortc on loopback."""

    def __init__(
        self,
        tone: bool = False,
        hz: float = TONE_HZ,
        send_audio: bool = True,
        camera: tuple[int, int, int] | None = None,
        watch: bool = False,
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.source = ToneSource(on=tone, hz=hz)
        self.camera = ColourCamera(camera) if camera is not None else None
        self.heard: list[Heard] = []
        self.seen: list[tuple[int, int, int]] = []  # the average colour of each video frame received
        self._readers: list[asyncio.Task[None]] = []
        if send_audio:
            self.pc.addTrack(self.source)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        if self.camera is not None or watch:
            direction = {True: "sendrecv", False: "sendonly"}[watch] if self.camera else "recvonly"
            self.pc.addTransceiver(self.camera or "video", direction=direction)
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        reader = self._read(track) if track.kind == "audio" else self._watch(track)
        self._readers.append(asyncio.get_running_loop().create_task(reader))

    async def _watch(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                picture = (await track.recv()).to_ndarray(format="rgb24")
                self.seen.append(tuple(int(v) for v in picture.reshape(-1, 3).mean(axis=0)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().reshape(-1)
                if frame.layout.nb_channels == 2:  # aiortc decodes to interleaved stereo
                    samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
                self.heard.append(Heard(int(frame.pts), samples))

    async def connect(self, answer_for: Callable[[str], Awaitable[str]]) -> None:
        """Offer (with every candidate gathered), let `answer_for` reach the server, apply its answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await answer_for(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def wait_heard(self, frames: int, timeout: float = 10.0) -> None:
        """Until `frames` more frames have been heard."""
        target = len(self.heard) + frames
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.heard) < target:
            if loop.time() > deadline:
                raise TimeoutError(f"heard {len(self.heard)} frames, expected {target}")
            await asyncio.sleep(0.02)

    def loud_frames(self, since: int = 0) -> int:
        return sum(1 for h in self.heard[since:] if h.rms > HEARD_RMS)

    def hears(self, hz: float, frames: int = 10) -> bool:
        """Whether the tone `hz` is clearly in most of the last `frames` frames."""
        recent = self.heard[-frames:]
        return len(recent) == frames and sum(h.tone(hz) > TONE_HEARD for h in recent) > frames * 0.8

    def silent_to(self, hz: float, frames: int = 10) -> bool:
        """Whether the tone `hz` is absent from every one of the last `frames` frames."""
        recent = self.heard[-frames:]
        return len(recent) == frames and all(h.tone(hz) < TONE_ABSENT for h in recent)

    async def close(self) -> None:
        self.source.stop()
        if self.camera is not None:
            self.camera.stop()
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
