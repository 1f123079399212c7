"""Real aiortc client peers on loopback against a server-side MediaRoom, offer and answer in-process.

Each client plays its own tone (440 Hz, 660 Hz) so a listener can tell who it hears. Timing is counted in
audio frames (the mixer's frame numbers, and the RTP timestamps the client received), never in seconds.
"""

from __future__ import annotations

import asyncio
import threading

from signaling.media import codec
from signaling.media.floor_gate import HALL, Who
from signaling.media.peers import MediaPeer
from signaling.media.probe import TONE_ABSENT, TONE_HEARD, ProbeClient
from signaling.media.room import MediaRoom
from tests.media.conftest import Rooms, ended, granted, muted, until

A, B, C = Who.member(10), Who.member(11), Who.member(12)
LOW, HIGH = 440.0, 660.0


def server_frame(room: MediaRoom, listener: Who, probe: ProbeClient, index: int) -> int:
    """The mixer frame a client's received frame came from (its RTP timestamps count from the first packet)."""
    first = room.peers[listener].outbound.first_pts
    assert first is not None
    return (probe.heard[index].pts + first) // codec.FRAME_SAMPLES


def heard_by_frame(room: MediaRoom, listener: Who, probe: ProbeClient) -> dict[int, float]:
    """Loudness of the 440 Hz tone in each mixer frame, as this client heard it."""
    return {server_frame(room, listener, probe, i): h.tone(LOW) for i, h in enumerate(probe.heard)}


async def test_the_floor_holder_is_heard_by_others_not_by_themself_and_nobody_else_is_heard(rooms: Rooms):
    room = rooms.room(holders=(10,))
    speaker = await rooms.join(room, A, tone=True, hz=LOW)
    no_floor = await rooms.join(room, B, tone=True, hz=HIGH)
    listener = await rooms.join(room, C)
    await until(lambda: listener.hears(LOW, 10) and no_floor.hears(LOW, 10), what="the floor holder heard")
    await speaker.wait_heard(10)

    assert listener.silent_to(HIGH, 10), "a member without the floor must not be mixed"
    assert no_floor.silent_to(HIGH, 10), "nor heard by themself"
    assert speaker.silent_to(LOW, 10) and speaker.silent_to(HIGH, 10), "mix-minus: the speaker hears nobody"
    assert {t.mixed for t in list(room.mixer.trace)[-20:]} == {(A,)}
    # B sent all along, but a voice outside the gate is only buffered, never decoded.
    assert room.peers[B].inbound.received > 20 and room.peers[B].inbound.decoded == 0


async def test_revoke_silences_within_one_frame_and_a_grant_is_heard_in_the_next(rooms: Rooms):
    room = rooms.room(holders=(10,))
    await rooms.join(room, A, tone=True, hz=LOW)
    listener = await rooms.join(room, C)
    await until(lambda: listener.hears(LOW, 10), what="the speaker heard")

    room.apply([ended(1, 10)])
    revoked = room.changes[-1][0]
    await until(lambda: room.frame > revoked + 10)
    await until(lambda: max(heard_by_frame(room, C, listener)) >= revoked + 8, what="the client caught up")

    trace = {t.frame: t for t in room.mixer.trace}
    assert trace[revoked - 1].mixed == (A,) and max(trace[f].mix_rms for f in range(revoked - 5, revoked)) > 1000
    assert all(trace[f].mixed == () and trace[f].mix_rms == 0 for f in range(revoked, revoked + 8))
    heard = heard_by_frame(room, C, listener)
    assert max(heard[f] for f in range(revoked - 5, revoked) if f in heard) > TONE_HEARD
    # Frame `revoked` still carries the codec's 6.5 ms look-ahead of the last mixed audio; the next is silent.
    late = {f: level for f, level in heard.items() if f > revoked}
    assert late and all(level < TONE_ABSENT for level in late.values()), late

    room.apply([granted(2, 10)])
    regranted = room.changes[-1][0]
    await until(lambda: max(heard_by_frame(room, C, listener)) >= regranted + 8, what="the client caught up")
    trace = {t.frame: t for t in room.mixer.trace}
    # Audio already buffered while the speaker waited is mixed in the very frame of the grant.
    assert trace[regranted - 1].mixed == () and trace[regranted].mixed == (A,)
    assert trace[regranted].mix_rms > 1000
    heard = heard_by_frame(room, C, listener)
    # On the client, the first frames after the grant carry the tone (a loaded machine may cost one or two).
    assert any(heard.get(f, 0) > TONE_HEARD for f in range(regranted, regranted + 5)), {
        f: (round(heard.get(f, -1)), trace[f].mixed, round(trace[f].mix_rms))
        for f in range(regranted - 2, regranted + 6)
    }


async def test_the_hall_is_always_mixed_and_the_chairs_mute_is_enforced_on_the_server(rooms: Rooms):
    room = rooms.room(holders=(10,))
    speaker = await rooms.join(room, A, tone=True, hz=LOW)
    hall = await rooms.join(room, HALL, tone=True, hz=HIGH)
    listener = await rooms.join(room, C)
    await until(lambda: listener.hears(LOW, 10) and listener.hears(HIGH, 10), what="speaker and hall heard")
    await until(lambda: hall.hears(LOW, 10) and speaker.hears(HIGH, 10), what="each hears the other")
    assert hall.silent_to(HIGH, 10), "the room must not hear itself back"
    assert speaker.silent_to(LOW, 10)

    room.apply([muted(1, 10)])  # the floor holder's browser keeps sending: the server drops it
    await until(lambda: listener.silent_to(LOW, 10), what="the muted speaker silenced")
    await until(lambda: listener.hears(HIGH, 10), what="the hall still heard")
    room.apply([muted(2, None)])
    await until(lambda: listener.silent_to(HIGH, 10), what="the muted hall silenced")
    assert all(t.mixed == () for t in list(room.mixer.trace)[-5:])
    assert [(c.kind, c.who, c.seq) for _, c in room.changes] == [("muted", A, 1), ("muted", HALL, 2)]

    room.apply([muted(3, 10, on=False)])
    await until(lambda: listener.hears(LOW, 10), what="the unmuted speaker heard again")
    assert room.gate.muted == {HALL}


def decoder_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.endswith("-decoder"))


async def test_leave_disconnect_and_close_tear_everything_down(rooms: Rooms):
    threads_before = decoder_threads()
    tasks_before = asyncio.all_tasks()
    room = rooms.room(holders=(10,))
    speaker = await rooms.join(room, A, tone=True)
    leaving = await rooms.join(room, B)
    vanishing = await rooms.join(room, C)
    await until(lambda: leaving.hears(LOW, 5) and vanishing.hears(LOW, 5), what="both listening")
    server_pcs = {who: peer.pc for who, peer in room.peers.items()}

    await room.leave(B)  # an explicit leave
    assert B not in room.peers and server_pcs[B].connectionState == "closed"

    await vanishing.pc.close()  # the phone closes its connection without a word: the server notices
    await until(lambda: C not in room.peers, what="the vanished peer removed")
    await until(lambda: server_pcs[C].connectionState == "closed", what="its connection closed")

    await room.close()  # the meeting ended
    assert room.peers == {} and all(pc.connectionState == "closed" for pc in server_pcs.values())
    for probe in (speaker, leaving, vanishing):
        await probe.close()
    await until(lambda: decoder_threads() == threads_before, what="decoder threads gone")
    await asyncio.sleep(0)
    left = {t for t in asyncio.all_tasks() - tasks_before if not t.done()}
    assert left == set(), left
    assert room.recorder is None and room.closed


async def test_the_answer_keeps_opus_alone_and_asks_for_dtx_whatever_the_offer_prefers(rooms: Rooms):
    from aiortc import RTCRtpSender

    room = rooms.room(holders=(10,))
    await rooms.join(room, A, tone=True)
    probe = ProbeClient()
    rooms.clients.append(probe)
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    pcmu_first = sorted(codecs, key=lambda c: c.mimeType != "audio/PCMU")
    probe.pc.getTransceivers()[0].setCodecPreferences(pcmu_first)
    answers: list[str] = []

    async def answer_for(sdp: str) -> str:
        assert sdp.index("PCMU/8000") < sdp.index("opus/48000")
        answers.append(await room.join(B, sdp))
        return answers[0]

    await probe.connect(answer_for)
    rtpmaps = [line for line in answers[0].splitlines() if line.startswith("a=rtpmap:")]
    assert len(rtpmaps) == 1 and "opus/48000/2" in rtpmaps[0]
    assert "usedtx=1" in answers[0]
    await until(lambda: probe.hears(LOW, 10), what="the speaker heard through the Opus-only answer")


async def test_two_offers_at_once_from_one_participant_leave_one_connection(rooms: Rooms, monkeypatch):
    made: list[MediaPeer] = []

    class Recorded(MediaPeer):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("signaling.media.room.MediaPeer", Recorded)
    room = rooms.room(holders=(10,))
    first, second = ProbeClient(), ProbeClient()
    rooms.clients += [first, second]
    for probe in (first, second):
        await probe.pc.setLocalDescription(await probe.pc.createOffer())
    await asyncio.gather(*(room.join(B, p.pc.localDescription.sdp) for p in (first, second)))
    assert len(made) == 2 and list(room.peers.values()) in ([made[0]], [made[1]])
    loser = made[1] if room.peers[B] is made[0] else made[0]
    assert loser.closed and loser.pc.connectionState == "closed"
