"""Opus in and out of the media plane, and the PCM arithmetic the mixer needs.

Everything inside the server is mono 16-bit PCM at 48 kHz in 20 ms frames (960 samples): speech needs no
stereo, and a mono Opus stream is valid on the `opus/48000/2` RTP mapping every browser negotiates.
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass

import av
import numpy as np

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


@dataclass(frozen=True)
class OpusSettings:
    """What the server's encoders do. FEC only costs bits when the expected loss is above zero."""

    bitrate: int = 24_000  # modest: clear speech on 3G, about 4 kB/s with headers
    complexity: int = 5  # libopus 0-10; 5 is half the CPU of 10 for speech that few can tell apart
    fec: bool = True  # in-band forward error correction (LBRR)
    expected_loss_percent: int = 10  # tells the encoder how much redundancy FEC should carry


def new_encoder(settings: OpusSettings = OpusSettings()) -> av.AudioCodecContext:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = SAMPLE_RATE
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = settings.bitrate
    encoder.time_base = TIME_BASE
    encoder.options = {
        "application": "voip",
        "frame_duration": "20",
        "fec": "1" if settings.fec else "0",
        "packet_loss": str(settings.expected_loss_percent if settings.fec else 0),
        "compression_level": str(settings.complexity),  # libopus' complexity
    }
    encoder.open()
    return encoder


def new_decoder() -> av.AudioCodecContext:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = SAMPLE_RATE
    decoder.layout = "mono"  # libopus folds a stereo stream down itself
    decoder.format = "s16"
    return decoder


def encode(encoder: av.AudioCodecContext, pcm: np.ndarray, frame_index: int) -> av.Packet | None:
    """One 20 ms frame in, one packet out, stamped with the mixer's frame clock (the codec's own pts starts
    at minus its look-ahead, which would make every stream's timestamps differ)."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = frame_index * FRAME_SAMPLES
    packets = encoder.encode(frame)
    if not packets:
        return None
    packet = packets[-1]
    packet.pts = packet.dts = frame_index * FRAME_SAMPLES
    packet.time_base = TIME_BASE
    return packet


def packet_from_bytes(payload: bytes, frame_index: int) -> av.Packet:
    packet = av.Packet(payload)
    packet.pts = packet.dts = frame_index * FRAME_SAMPLES
    packet.time_base = TIME_BASE
    return packet


def decode(decoder: av.AudioCodecContext, payload: bytes) -> np.ndarray:
    """Mono samples of one Opus packet (10 to 120 ms of audio); empty when the packet is corrupt."""
    try:
        frames = decoder.decode(av.Packet(payload))
    except av.FFmpegError:
        return SILENCE[:0]
    if not frames:
        return SILENCE[:0]
    if len(frames) == 1:
        return frames[0].to_ndarray().reshape(-1)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def rms(pcm: np.ndarray) -> float:
    """Root mean square of 16-bit samples (0 for silence, about 5,700 for a sine at a quarter of full scale)."""
    if pcm.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))


def clip16(samples: np.ndarray) -> np.ndarray:
    return np.clip(samples, -32768, 32767).astype(np.int16)
