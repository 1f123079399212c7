"""The mixer: one tick per 20 ms frame. Sum the admitted voices, encode that common mix once and hand the
same packet to every listener who is not in it; each voice in the mix gets a mix-minus (the mix without
itself), encoded for that listener alone. There are few of those: the floor holder(s) and the hall.

`per_listener_encoding=True` is the naive design (an encoder per listener), kept for the benchmark.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import av
import numpy as np

from signaling.media import codec
from signaling.media.floor_gate import Who


@dataclass(frozen=True)
class TickTrace:
    """What one frame of the mix held: for tests (in frames, not seconds) and for diagnosis."""

    frame: int
    mixed: tuple[Who, ...]  # whose voice was in it
    mix_rms: float


@dataclass
class Listener:
    """The mixer's view of a participant: where their voice comes from and where their ear is."""

    who: Who
    pull: Callable[[], np.ndarray]  # their next 20 ms of voice (only called while admitted)
    idle: Callable[[], None]  # not admitted this frame
    push: Callable[[av.Packet], None]  # their next 20 ms of what they hear


@dataclass
class MixerStats:
    frames: int = 0
    common_encodes: int = 0
    own_encodes: int = 0  # mix-minus, or every listener's in the naive design


@dataclass
class Mixer:
    opus: codec.OpusSettings = field(default_factory=codec.OpusSettings)
    per_listener_encoding: bool = False
    trace_frames: int = 0  # keep this many TickTrace entries (0: none)
    on_common: Callable[[av.Packet, int], None] | None = None  # the recorder

    def __post_init__(self) -> None:
        self.common_encoder = codec.new_encoder(self.opus)
        self.own_encoders: dict[Who, av.AudioCodecContext] = {}
        self.stats = MixerStats()
        self.trace: deque[TickTrace] = deque(maxlen=self.trace_frames or None)

    def tick(self, frame: int, listeners: Iterable[Listener], admits: Callable[[Who], bool]) -> None:
        listeners = list(listeners)
        voices: dict[Who, np.ndarray] = {}
        for listener in listeners:
            if admits(listener.who):
                voices[listener.who] = listener.pull()
            else:
                listener.idle()
        if voices:
            total = np.sum(np.stack(list(voices.values())), axis=0, dtype=np.int32)
            mix = codec.clip16(total)
        else:
            total = None
            mix = codec.SILENCE
        common = codec.encode(self.common_encoder, mix, frame)
        self.stats.common_encodes += 1
        if common is not None and self.on_common is not None:
            self.on_common(common, frame)
        needed: set[Who] = set()
        for listener in listeners:
            own_voice = voices.get(listener.who)
            if own_voice is not None:
                assert total is not None
                hears = codec.clip16(total - own_voice)
            elif self.per_listener_encoding:
                hears = mix
            else:
                if common is not None:
                    listener.push(common)
                continue
            needed.add(listener.who)
            encoder = self.own_encoders.get(listener.who)
            if encoder is None:
                encoder = self.own_encoders[listener.who] = codec.new_encoder(self.opus)
            packet = codec.encode(encoder, hears, frame)
            self.stats.own_encodes += 1
            if packet is not None:
                listener.push(packet)
        for who in [w for w in self.own_encoders if w not in needed]:
            del self.own_encoders[who]  # back to the common mix: its own encoder is no longer needed
        self.stats.frames += 1
        if self.trace_frames:
            self.trace.append(TickTrace(frame, tuple(sorted(voices)), codec.rms(mix)))
