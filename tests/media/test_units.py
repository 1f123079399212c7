"""The media plane's parts without a network: the gate, the incoming jitter buffer, the mixer's encode-once
rule and mix-minus, the recorder, the settings. Frames are ticked by hand, so everything is exact."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import av
import numpy as np
import pytest

from meeting.domain import events as ev
from signaling.media import codec
from signaling.media.floor_gate import HALL, FloorGate, Who
from signaling.media.mixer import Listener, Mixer
from signaling.media.peers import EncodedAudioTrack, InboundAudio
from signaling.media.probe import tone_level
from signaling.media.recorder import Moment, Recorder, moment_of
from signaling.media.settings import MediaConfigError, MediaSettings, browser_ice, parse_ice_servers, server_ice
from tests.media.conftest import ended, granted, muted, recorded

A, B, C, D = (Who.member(i) for i in (10, 11, 12, 13))
AT = "2026-11-23T08:00:00+00:00"


def tone(hz: float, frames: int, amplitude: int = 8000) -> list[np.ndarray]:
    n = np.arange(frames * codec.FRAME_SAMPLES)
    pcm = (np.sin(2 * np.pi * hz * n / codec.SAMPLE_RATE) * amplitude).astype(np.int16)
    return [pcm[i * codec.FRAME_SAMPLES : (i + 1) * codec.FRAME_SAMPLES] for i in range(frames)]


def level(pcm: np.ndarray, hz: float) -> float:
    return tone_level(pcm, hz)


# -- the gate ----------------------------------------------------------------------------------------------------
def test_the_gate_admits_the_floor_holder_and_the_hall_and_never_the_muted():
    gate = FloorGate()
    assert gate.admits(HALL) and not gate.admits(A)
    assert gate.apply(granted(3, 10)).kind == "floor_granted"
    assert gate.admits(A) and not gate.admits(B)
    assert gate.apply(granted(3, 11)) is None, "an event already applied (same seq) is ignored"
    change = gate.apply(muted(4, 10))
    assert (change.kind, change.who, change.seq) == ("muted", A, 4)
    assert not gate.admits(A), "the chair's mute wins over the floor"
    assert gate.apply(muted(5, None)).who == HALL and not gate.admits(HALL)
    assert gate.apply(muted(6, 10, on=False)).kind == "unmuted" and gate.admits(A)
    assert gate.apply(muted(7, None, on=False)).who == HALL and gate.admits(HALL)
    change = gate.apply(ended(8, 10, "time_up"))
    assert (change.kind, change.who, change.seq, change.reason) == ("floor_ended", A, 8, "time_up")
    assert not gate.admits(A)
    assert gate.apply(recorded(9, ev.HandRaised(at=AT, member_id=11, item_id="i1", kind="speak", position=0))) is None
    assert gate.apply(recorded(10, ev.MeetingEnded(at=AT))).kind == "meeting_ended"
    assert not gate.admits(HALL), "after the meeting nobody is mixed"


# -- incoming audio ------------------------------------------------------------------------------------------------
def opus_packets(frames: list[np.ndarray]) -> list[bytes]:
    encoder = codec.new_encoder()
    return [bytes(codec.encode(encoder, pcm, i)) for i, pcm in enumerate(frames)]


def test_incoming_audio_is_reordered_deduplicated_and_follows_sequence_wraparound():
    inbound = InboundAudio(depth=2)
    packets = opus_packets(tone(440, 5))
    numbers = [65534, 65535, 0, 1, 2]  # the 16-bit sequence number wraps
    for index in (0, 2, 1, 3, 3, 4):  # out of order, one duplicate
        inbound.add(numbers[index], packets[index], 0.0)
    assert [p[1] for p in inbound.packets] == packets
    assert [p[0] for p in inbound.packets] == [65534, 65535, 65536, 65537, 65538]
    assert inbound.received == 5
    played = [inbound.pull() for _ in range(5)]
    assert inbound.decoded == 5 and all(level(p, 440) > 4000 for p in played[1:])
    inbound.add(65535, packets[2], 0.0)  # its turn has passed
    assert not inbound.packets


def test_a_voice_outside_the_gate_is_not_decoded_and_its_newest_audio_is_ready_for_a_grant():
    inbound = InboundAudio(depth=2)
    packets = opus_packets(tone(440, 10))
    for seq, packet in enumerate(packets[:8]):
        inbound.add(seq, packet, 0.0)
        inbound.idle()
    assert inbound.decoded == 0 and [p[0] for p in inbound.packets] == [6, 7]
    first = inbound.pull()  # granted: plays at once from what was kept
    assert inbound.decoded == 1 and codec.rms(first) > 0
    assert inbound.pull().size == codec.FRAME_SAMPLES
    assert np.array_equal(inbound.pull(), codec.SILENCE) and inbound.underruns == 1
    inbound.add(8, packets[8], 0.0)
    assert np.array_equal(inbound.pull(), codec.SILENCE), "after an underrun, wait for `depth` frames again"
    inbound.add(9, packets[9], 0.0)
    assert codec.rms(inbound.pull()) > 0


def test_a_sender_ahead_of_the_mixer_is_brought_back_to_the_buffers_depth():
    inbound = InboundAudio(depth=2)
    packets = opus_packets(tone(440, 80))
    for seq in range(12):  # a burst: ten frames more than the buffer's depth
        inbound.add(seq, packets[seq], 0.0)
    inbound.pull()
    assert len(inbound.packets) == inbound.depth + inbound.BURST - 1, "a pile-up goes at once"
    for seq in range(12, 80):  # then one packet per frame: the surplus of three is never needed
        inbound.add(seq, packets[seq], 0.0)
        inbound.pull()
    assert len(inbound.packets) == inbound.depth - 1, "back to the buffer's depth within a second"


# -- the mixer -----------------------------------------------------------------------------------------------------
class Ear:
    """A fake participant: says its frames (if any), keeps the packets it is sent, decodes them on demand."""

    def __init__(self, who: Who, voice: list[np.ndarray] | None = None) -> None:
        self.who = who
        self.voice = voice or []
        self.received: list[av.Packet] = []

    def listener(self) -> Listener:
        return Listener(self.who, self.pull, lambda: None, self.received.append)

    def pull(self) -> np.ndarray:
        return self.voice.pop(0) if self.voice else codec.SILENCE

    def heard(self) -> list[np.ndarray]:
        decoder = codec.new_decoder()
        return [codec.decode(decoder, bytes(p)) for p in self.received]


def test_the_common_mix_is_encoded_once_per_frame_and_the_same_packet_goes_to_every_listener():
    mixer = Mixer()
    speaker = Ear(A, tone(440, 20))
    ears = [speaker, *(Ear(Who.member(100 + i)) for i in range(30))]
    for frame in range(20):
        mixer.tick(frame, [e.listener() for e in ears], lambda who: who == A)
    assert mixer.stats.common_encodes == 20 and mixer.stats.own_encodes == 20  # the speaker's mix-minus only
    for frame in range(20):
        assert len({id(e.received[frame]) for e in ears[1:]}) == 1, "one packet object shared by all listeners"
        assert ears[1].received[frame].pts == frame * codec.FRAME_SAMPLES
    assert all(level(pcm, 440) > 4000 for pcm in ears[5].heard()[2:])
    assert all(level(pcm, 440) < 50 for pcm in speaker.heard()), "the speaker does not hear themself"


def test_each_voice_in_the_mix_hears_the_others_but_not_itself():
    mixer = Mixer()
    low, high, listener = Ear(A, tone(440, 15)), Ear(B, tone(660, 15)), Ear(C)
    for frame in range(15):
        mixer.tick(frame, [e.listener() for e in (low, high, listener)], lambda who: who in (A, B))
    for pcm in low.heard()[2:]:
        assert level(pcm, 660) > 4000 and level(pcm, 440) < 300
    for pcm in high.heard()[2:]:
        assert level(pcm, 440) > 4000 and level(pcm, 660) < 300
    for pcm in listener.heard()[2:]:
        assert level(pcm, 440) > 4000 and level(pcm, 660) > 4000


def test_the_naive_design_encodes_for_every_listener():
    mixer = Mixer(per_listener_encoding=True)
    ears = [Ear(A, tone(440, 5)), *(Ear(Who.member(100 + i)) for i in range(9))]
    for frame in range(5):
        mixer.tick(frame, [e.listener() for e in ears], lambda who: who == A)
    assert mixer.stats.common_encodes == 5 and mixer.stats.own_encodes == 50
    assert len({id(e.received[0]) for e in ears}) == 10


def test_an_encoder_is_kept_only_while_its_listener_is_in_the_mix():
    mixer = Mixer()
    ears = [Ear(A, tone(440, 4)), Ear(B)]
    mixer.tick(0, [e.listener() for e in ears], lambda who: who == A)
    assert set(mixer.own_encoders) == {A}
    mixer.tick(1, [e.listener() for e in ears], lambda who: False)
    assert mixer.own_encoders == {}


def test_a_listener_that_falls_behind_keeps_only_the_newest_packets():
    track = EncodedAudioTrack(backlog=3)
    for frame in range(10):
        track.push(codec.packet_from_bytes(b"\xf8\xff\xfe", frame))
    assert track.dropped == 7 and [p.pts // codec.FRAME_SAMPLES for p in track._packets] == [7, 8, 9]


# -- the recording -------------------------------------------------------------------------------------------------
def test_the_recording_is_the_mix_with_each_floor_change_at_its_offset(tmp_path):
    recorder = Recorder(tmp_path, meeting_id=7)
    mixer = Mixer(on_common=recorder.write)
    speaker, listener = Ear(A, tone(440, 50)), Ear(C)
    gate = FloorGate()
    start = 100  # the room's frame counter need not start at zero
    for frame in range(start, start + 100):
        if frame == start + 25:
            recorder.mark(gate.apply(granted(12, 10)), frame)
        if frame == start + 50:  # the chair mutes someone else meanwhile
            recorder.mark(gate.apply(muted(13, 11)), frame)
        if frame == start + 75:
            recorder.mark(gate.apply(ended(14, 10)), frame)
        mixer.tick(frame, [speaker.listener(), listener.listener()], gate.admits)
    recorder.close()

    index = json.loads(recorder.index_path.read_text())
    assert index["complete"] and index["duration_s"] == 2.0 and index["audio"] == recorder.audio_path.name
    assert [(c["seq"], c["kind"], c["member_id"], c["offset_s"]) for c in index["changes"]] == [
        (12, "floor_granted", 10, 0.5),
        (13, "muted", 11, 1.0),
        (14, "floor_ended", 10, 1.5),
    ]
    with av.open(str(recorder.audio_path)) as container:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]) * 32767  # float
    windows = [pcm[i * codec.FRAME_SAMPLES : (i + 1) * codec.FRAME_SAMPLES] for i in range(pcm.size // 960)]
    heard = [i for i, w in enumerate(windows) if level(w, 440) > 2000]
    # The file's time is the meeting's: the tone is heard from 0.5 s to 1.5 s, to the frame.
    assert heard[0] in (25, 26) and heard[-1] in (73, 74) and len(heard) >= 47
    # A minute entry written at journal event 12 or later points at the speaker's start in this file.
    assert moment_of(tmp_path, 7, 12) == Moment(recorder.audio_path, 0.5, 12)
    assert moment_of(tmp_path, 7, 13) == Moment(recorder.audio_path, 0.5, 12), "a mute is not where a speech begins"
    assert moment_of(tmp_path, 7, 40) == Moment(recorder.audio_path, 1.5, 14)
    assert moment_of(tmp_path, 7, 11) is None and moment_of(tmp_path, 8, 12) is None
    again = Recorder(tmp_path, meeting_id=7, started=recorder.started)  # reopened within the same second
    again.close()
    assert again.audio_path is None, "no frame, no file"
    again = Recorder(tmp_path, meeting_id=7, started=recorder.started)
    again.write(speaker.received[0], 0)
    again.close()
    assert again.audio_path not in (None, recorder.audio_path) and again.audio_path.exists()


# -- settings ------------------------------------------------------------------------------------------------------
def test_ice_servers_come_from_the_environment_and_mistakes_are_refused():
    servers = parse_ice_servers(
        '[{"urls": "stun:stun.example.vn:3478"},'
        ' {"urls": ["turn:turn.example.vn:3478?transport=udp"], "username": "u", "credential": "p"}]'
    )
    assert servers == [
        {"urls": ["stun:stun.example.vn:3478"]},
        {"urls": ["turn:turn.example.vn:3478?transport=udp"], "username": "u", "credential": "p"},
    ]
    for bad in ("not json", '{"urls": "stun:x"}', '[{"urls": "http://x"}]', '[{"urls": "turn:x:3478"}]', "[{}]"):
        with pytest.raises(MediaConfigError):
            parse_ice_servers(bad)
    settings = MediaSettings.from_env(
        "var", {"CHIBO_ICE_SERVERS": '[{"urls": "stun:s:3478"}]', "CHIBO_MEDIA_HOST_ADDRESSES": "10.0.0.5, ::1"}
    )
    assert settings.ice_servers == [{"urls": ["stun:s:3478"]}] and settings.host_addresses == ["10.0.0.5", "::1"]
    assert settings.recordings_dir == "var/recordings" and settings.enabled and not settings.video
    assert MediaSettings.from_env("var", {"CHIBO_MEDIA_VIDEO": "on"}).video
    assert MediaSettings.from_env("var", {"CHIBO_RECORDINGS_DIR": "off", "CHIBO_MEDIA": "off"}).recordings_dir is None
    with pytest.raises(MediaConfigError):
        MediaSettings.from_env("var", {"CHIBO_MEDIA_BITRATE": "lots"})


def test_browsers_get_time_limited_turn_credentials_and_the_server_uses_stun_only():
    env = {
        "CHIBO_ICE_SERVERS": '[{"urls": ["stun:s.vn:3478", "turn:t.vn:3478"]}, {"urls": "turns:t.vn:5349"}]',
        "CHIBO_TURN_SECRET": "coturn-static-auth-secret",
    }
    settings = MediaSettings.from_env("var", env)
    assert server_ice(settings.ice_servers) == [{"urls": ["stun:s.vn:3478"]}]
    told = browser_ice(settings.ice_servers, settings.turn_secret, "member:12", now=1_800_000_000)
    username = f"{1_800_000_000 + 12 * 3600}:member:12"
    digest = hmac.new(b"coturn-static-auth-secret", username.encode(), hashlib.sha1).digest()
    assert [(s.get("username"), s.get("credential")) for s in told] == [
        (username, base64.b64encode(digest).decode())
    ] * 2
    with pytest.raises(MediaConfigError):  # without the secret, TURN needs its own credentials
        MediaSettings.from_env("var", {"CHIBO_ICE_SERVERS": env["CHIBO_ICE_SERVERS"]})


def test_a_recording_that_cannot_be_written_stops_and_the_mix_goes_on(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the recordings folder should be")
    recorder = Recorder(blocked, meeting_id=7)
    mixer = Mixer(on_common=recorder.write)
    speaker, listener = Ear(A, tone(440, 3)), Ear(C)
    for frame in range(3):
        mixer.tick(frame, [speaker.listener(), listener.listener()], lambda who: who == A)
    assert recorder.failed and recorder.closed
    assert len(listener.received) == 3, "the listeners still get every frame"
