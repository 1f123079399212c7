"""One participant's peer connection to the server, and the two adapters that put it on the mixer's clock.

Out: `EncodedAudioTrack` yields `av.Packet`s that are already Opus. aiortc's `RTCRtpSender` asks its track
for the next frame and, when it gets a packet instead of a raw frame, only packs it into RTP (the codec's
`pack`) without encoding, so the one common mix encoded per 20 ms is shared by every listener's sender.

In: the receiver's RTP handler is replaced by `InboundAudio.on_rtp`, which keeps the Opus payloads for the
mixer instead of aiortc's decoder thread and its 80 ms prefetching jitter buffer. Packets are decoded by
the mixer, and only while the floor gate admits their sender (see LIMITS.md for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket
from aiortc.sdp import candidate_from_sdp

from meeting.errors import Rejected
from signaling.media import codec
from signaling.media.floor_gate import Who

log = logging.getLogger("chibo.media")


class EncodedTrack(MediaStreamTrack):
    """A listener's outgoing media: the server pushes one encoded packet per frame, the sender takes it.

    A sender that falls behind (its task starved) finds at most `backlog` packets waiting; older ones are
    dropped and counted, so a stuck listener never holds memory or delays the mixer."""

    def __init__(self, kind: str, backlog: int = 3) -> None:
        super().__init__()
        self.kind = kind
        self.backlog = backlog
        self._packets: deque[av.Packet] = deque()
        self._waiter: asyncio.Future[av.Packet] | None = None
        self.dropped = 0
        self.taken = 0
        self.first_pts: int | None = None  # the mixer's pts of the first packet sent to this listener
        self.on_taken: Callable[[av.Packet], None] | None = None  # the benchmark's latency probe

    def push(self, packet: av.Packet) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(packet)
            return
        if len(self._packets) >= self.backlog:
            self._packets.popleft()
            self.dropped += 1
        self._packets.append(packet)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._packets:
            packet = self._packets.popleft()
        else:
            self._waiter = asyncio.get_running_loop().create_future()
            packet = await self._waiter
        if self.first_pts is None:
            self.first_pts = packet.pts
        self.taken += 1
        if self.on_taken is not None:
            self.on_taken(packet)
        return packet

    def stop(self) -> None:
        super().stop()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(MediaStreamError())
        self._packets.clear()


class EncodedAudioTrack(EncodedTrack):
    def __init__(self, backlog: int = 3) -> None:
        super().__init__("audio", backlog)


class InboundAudio:
    """What one participant sends: Opus payloads in sequence order, turned into 20 ms of PCM per tick.

    While the gate does not admit the sender only the newest `depth` packets are kept (nothing is decoded),
    so on a grant the mixer starts from audio already here and the speaker is heard in the very next frame.
    While admitted, playout waits until `depth` frames are buffered (a small jitter buffer), and packets
    piling up beyond that (clock drift, a burst after a stall) are dropped from the oldest."""

    MAX_BUFFER = 25  # half a second
    BURST = 4  # frames beyond `depth` dropped at once
    WINDOW = 50  # pulls (one second) over which the surplus is judged

    def __init__(self, depth: int = 2) -> None:
        self.depth = max(depth, 1)
        self.packets: deque[tuple[int, bytes, float]] = deque()  # (extended sequence number, payload, arrival)
        self.decoder: av.AudioCodecContext | None = None
        self.pcm = codec.SILENCE[:0]
        self.playing = False
        self.received = 0
        self.decoded = 0
        self.underruns = 0
        self.level_dbov: int | None = None  # the sender's own audio level (RFC 6464 header), no decoding needed
        self.last_arrival: float | None = None  # arrival of the newest packet whose audio went into the last pull
        self._highest: int | None = None
        self._played: int | None = None  # extended sequence number of the last packet decoded
        self._lowest = self.MAX_BUFFER  # fewest packets waiting at a pull in the current window
        self._pulls = 0

    # -- from the network ------------------------------------------------------------------------------
    def add(self, sequence_number: int, payload: bytes, arrival: float) -> None:
        if not payload:
            return  # padding only
        extended = self._extend(sequence_number)
        if self._played is not None and extended <= self._played:
            return  # late: its turn has passed
        packets = self.packets
        if not packets or extended > packets[-1][0]:
            packets.append((extended, payload, arrival))
        else:  # reordered: put it in its place, unless it is a duplicate
            position = len(packets)
            while position > 0 and packets[position - 1][0] > extended:
                position -= 1
            if position > 0 and packets[position - 1][0] == extended:
                return
            packets.insert(position, (extended, payload, arrival))
        self.received += 1
        while len(packets) > self.MAX_BUFFER:
            packets.popleft()

    def _extend(self, sequence_number: int) -> int:
        """A 16-bit RTP sequence number made monotonic across wrap-arounds."""
        if self._highest is None:
            self._highest = sequence_number
            return sequence_number
        base = self._highest & ~0xFFFF
        candidate = base | sequence_number
        if candidate - self._highest > 0x8000:
            candidate -= 0x10000
        elif self._highest - candidate > 0x8000:
            candidate += 0x10000
        self._highest = max(self._highest, candidate)
        return candidate

    # -- from the mixer, once per tick -------------------------------------------------------------------
    def _trim(self) -> None:
        """Keep the delay at `depth`: a burst (a sender catching up after a stall) would otherwise leave extra
        packets waiting for good. When even the emptiest moment of the last second had more than `depth`
        packets waiting, the surplus was never needed and is dropped; a pile-up far beyond goes at once."""
        waiting = len(self.packets)
        while waiting > self.depth + self.BURST:
            self.packets.popleft()
            waiting -= 1
        self._lowest = min(self._lowest, waiting)
        self._pulls += 1
        if self._pulls >= self.WINDOW:
            for _ in range(max(self._lowest - self.depth, 0)):
                self.packets.popleft()
            self._pulls, self._lowest = 0, self.MAX_BUFFER

    def idle(self) -> None:
        """Not admitted: keep only the newest packets, decode nothing, and start afresh on the next grant."""
        while len(self.packets) > self.depth:
            self.packets.popleft()
        if self.playing or self.pcm.size:
            self.playing = False
            self.pcm = codec.SILENCE[:0]
            self.decoder = None  # a fresh decoder for the next turn: its old state belongs to old audio

    def pull(self) -> np.ndarray:
        """The next 20 ms of this participant's voice (silence while their buffer refills)."""
        frame = codec.FRAME_SAMPLES
        if not self.playing:
            if len(self.packets) < self.depth and self.pcm.size < frame:
                return codec.SILENCE
            self.playing = True
        self._trim()
        while self.pcm.size < frame and self.packets:
            extended, payload, arrival = self.packets.popleft()
            if self.decoder is None:
                self.decoder = codec.new_decoder()
            samples = codec.decode(self.decoder, payload)
            self._played = extended
            self.last_arrival = arrival
            self.decoded += 1
            self.pcm = samples if not self.pcm.size else np.concatenate((self.pcm, samples))
        if self.pcm.size < frame:
            self.underruns += 1
            self.playing = False  # silence (or DTX): wait for `depth` frames again before playing on
            out = np.concatenate((self.pcm, codec.SILENCE[: frame - self.pcm.size]))
            self.pcm = codec.SILENCE[:0]
            return out
        out, self.pcm = self.pcm[:frame], self.pcm[frame:]
        return out


def tap_receiver(receiver: Any, inbound: InboundAudio, opus_payload_types: set[int]) -> None:
    """Route the receiver's RTP to `inbound`. Receiver statistics are still kept, so the RTCP receiver
    reports (loss, jitter) that the browser's sender adapts to keep flowing."""
    streams: dict[int, StreamStatistics] | None = getattr(receiver, "_RTCRtpReceiver__remote_streams", None)
    loop = asyncio.get_running_loop()

    async def on_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if packet.payload_type not in opus_payload_types:
            return
        if streams is not None:
            stats = streams.get(packet.ssrc)
            if stats is None:
                stats = streams[packet.ssrc] = StreamStatistics(codec.SAMPLE_RATE)
            stats.add(packet)
        level = packet.extensions.audio_level
        if level is not None:
            inbound.level_dbov = -level[1]
        inbound.add(packet.sequence_number, packet.payload, loop.time())

    receiver._handle_rtp_packet = on_rtp


def answer_opus_only(transceiver: Any) -> set[int]:
    """Keep Opus alone among the codecs negotiated from the offer (aiortc fixes them when it reads the offer,
    so preferences set later come too late). The sender then packs our Opus packets under an Opus payload
    type whatever order the browser listed its codecs in, and the answer asks the browser for DTX: a member
    without the floor is silent most of the meeting, and DTX sends about 2 packets a second instead of 50."""
    opus = [c for c in transceiver._codecs if c.mimeType.lower() == "audio/opus"]
    if not opus:
        raise Rejected("media_bad_offer", status=400, detail="the offer has no Opus")
    for codec_parameters in opus:
        codec_parameters.parameters = {**codec_parameters.parameters, "minptime": 10, "usedtx": 1}
    transceiver._codecs = opus
    return {c.payloadType for c in opus}


def keep_vp8_only(transceiver: Any) -> bool:
    """The stage is VP8 (every browser has it; PyAV's libvpx encodes it): keep VP8 and its RTX, if offered."""
    vp8 = [c for c in transceiver._codecs if c.mimeType.lower() == "video/vp8"][:1]
    if not vp8:
        return False
    rtx = [
        c
        for c in transceiver._codecs
        if c.mimeType.lower() == "video/rtx" and c.parameters.get("apt") == vp8[0].payloadType
    ]
    transceiver._codecs = vp8 + rtx
    return True


def ice_servers(config: list[dict[str, Any]]) -> list[RTCIceServer]:
    return [
        RTCIceServer(urls=server["urls"], username=server.get("username"), credential=server.get("credential"))
        for server in config
    ]


class MediaPeer:
    """The server's end of one participant's peer connection: their voice in, the mix (or mix-minus) out."""

    def __init__(
        self,
        who: Who,
        ice: list[dict[str, Any]],
        jitter_frames: int = 2,
        on_gone: Callable[[MediaPeer], None] | None = None,
        video: bool = False,
    ) -> None:
        self.who = who
        self.video = video
        self.video_out: EncodedTrack | None = None  # the stage, when the browser asked to receive video
        self.video_sender: Any = None
        self.video_in: tuple[Any, MediaStreamTrack] | None = None  # (receiver, track) of the browser's camera
        # An explicit (possibly empty) server list: left out, aiortc would ask a public STUN server.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(ice)))
        self.inbound = InboundAudio(jitter_frames)
        self.outbound = EncodedAudioTrack()
        self.on_gone = on_gone
        self.closed = False
        self.pc.on("connectionstatechange", self._state_changed)

    async def answer(self, offer_sdp: str) -> str:
        """Take the participant's offer; the answer to send back (with all the server's ICE candidates)."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except (ValueError, AssertionError) as exc:
            raise Rejected("media_bad_offer", status=400, detail=str(exc)[:200]) from exc
        audio = [t for t in self.pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise Rejected("media_bad_offer", status=400, detail="the offer has no audio")
        video = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        stage = video[0] if video and self.video and keep_vp8_only(video[0]) else None
        for transceiver in self.pc.getTransceivers():
            if transceiver is not audio[0] and transceiver is not stage:
                transceiver.direction = "inactive"  # video when it is off, and any second audio or video line
        payload_types = answer_opus_only(audio[0])
        self.pc.addTrack(self.outbound)
        if stage is not None:
            ours = getattr(stage, "_offerDirection", None) or "sendrecv"  # the offer's, seen from the server
            if "send" in ours:
                self.video_out = EncodedTrack("video", backlog=2)
                self.video_sender = self.pc.addTrack(self.video_out)
            if "recv" in ours and stage.receiver.track is not None:
                self.video_in = (stage.receiver, stage.receiver.track)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        tap_receiver(audio[0].receiver, self.inbound, payload_types)
        return self.pc.localDescription.sdp

    async def add_candidate(self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
        """A trickled ICE candidate from the participant (an empty one marks the end of candidates)."""
        if not candidate:
            return
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = sdp_mline_index
            await self.pc.addIceCandidate(parsed)
        except (ValueError, IndexError, AssertionError) as exc:  # aiortc asserts on some malformed lines
            raise Rejected("media_bad_candidate", status=400) from exc

    def _state_changed(self) -> None:
        if self.pc.connectionState in ("failed", "closed") and not self.closed and self.on_gone is not None:
            self.on_gone(self)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.outbound.stop()
        if self.video_out is not None:
            self.video_out.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
