"""The media plane driven by the real meeting service (SQLite and PostgreSQL) and by `rtc` frames as the
hub hands them over: the chair's commands (the floor, the mutes) open and close the gate, the recording's
sidecar points at the journal, a room opened by another node takes the mutes from the journal, and the
meeting's end hangs everyone up."""

from __future__ import annotations

import json

import pytest

from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import AttendanceMode
from meeting.service import MeetingService
from signaling.media.floor_gate import HALL, Who
from signaling.media.plane import MediaPlane
from signaling.media.probe import ProbeClient
from signaling.media.settings import MediaSettings
from signaling.media.signal import MediaSignaling
from signaling.protocol import MediaFrame
from tests.media.conftest import until


class FakeConnection:
    """The hub's connection as the media layer sees it: who, which meeting, and a queue of frames out."""

    def __init__(self, meeting_id: int, member_id: int | None, role: str = "member") -> None:
        self.meeting_id, self.member_id, self.role = meeting_id, member_id, role
        self.frames: list[dict] = []

    def offer(self, seq: int, text: str) -> bool:
        self.frames.append(json.loads(text))
        return True

    def rtc(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f.get("type") == "rtc" and f.get("kind") == kind]


class FakeHub:
    def __init__(self) -> None:
        self.all: list[FakeConnection] = []

    def connections(self, meeting_id: int) -> list[FakeConnection]:
        return [c for c in self.all if c.meeting_id == meeting_id]

    def send(self, connection: FakeConnection, text: str) -> None:
        connection.offer(0, text)


async def send(signaling: MediaSignaling, connection: FakeConnection, **frame) -> None:
    await signaling.handle(connection, MediaFrame(type="rtc", **frame))


async def join(signaling: MediaSignaling, connection: FakeConnection, **client) -> ProbeClient:
    probe = ProbeClient(**client)

    async def answer_for(sdp: str) -> str:
        await send(signaling, connection, kind="offer", sdp=sdp)
        answers = connection.rtc("answer")
        assert answers, connection.frames
        return answers[-1]["sdp"]

    await probe.connect(answer_for)
    return probe


async def test_the_chairs_commands_drive_the_gate_and_the_recording_points_at_the_journal(context, branch, tmp_path):
    service, meeting = context.service, branch.meeting_id
    chair, speaker_id, listener_id = branch.chair, branch.officials[2], branch.officials[3]
    plane = MediaPlane(service, MediaSettings(recordings_dir=str(tmp_path / "rec")))
    hub = FakeHub()
    signaling = MediaSignaling(plane, hub)
    await signaling.start()
    service.open(meeting)  # the clerk's console opens it: presence (the system) opens no meeting
    for member in (speaker_id, listener_id):
        await service.execute_async(meeting, c.CheckIn(member_id=member, mode=AttendanceMode.REMOTE), Actor.system())
    await service.execute_async(meeting, c.StartMeeting(), Actor.member(chair))
    await service.execute_async(meeting, c.OpenItem(item_id=branch.item_ids[0]), Actor.member(chair))

    chair_conn, speaker_conn, listener_conn = (FakeConnection(meeting, m) for m in (chair, speaker_id, listener_id))
    hub.all += [chair_conn, speaker_conn, listener_conn]
    # A mute before anyone joined the audio opens no room, and holds once the room opens.
    await service.execute_async(meeting, c.MuteMicrophone(member_id=listener_id), Actor.member(chair))
    assert plane.rooms == {}
    await send(signaling, listener_conn, kind="config")
    assert listener_conn.rtc("config") == [{"type": "rtc", "kind": "config", "ice_servers": []}]
    speaker = await join(signaling, speaker_conn, tone=True)
    listener = await join(signaling, listener_conn)
    room = plane.rooms[meeting]
    assert room.gate.muted == {Who.member(listener_id)} and not room.gate.admits(Who.member(listener_id))
    unmuted = await service.execute_async(meeting, c.UnmuteMicrophone(member_id=listener_id), Actor.member(chair))
    await until(lambda: room.gate.muted == set(), what="the unmute followed")
    await listener.wait_heard(15)
    assert listener.silent_to(440.0, 10), "nobody has the floor yet"

    granted = await service.execute_async(meeting, c.GrantFloor(member_id=speaker_id), Actor.member(chair))
    await until(lambda: listener.hears(440.0, 10), what="the floor holder heard")
    revoked = await service.execute_async(meeting, c.RevokeFloor(), Actor.member(chair))
    await until(lambda: listener.silent_to(440.0, 10), what="silence after the revoke")
    assert [(ch.kind, ch.seq) for _, ch in room.changes] == [
        ("unmuted", unmuted[-1].seq),
        ("floor_granted", granted[-1].seq),
        ("floor_ended", revoked[-1].seq),
    ]

    # The mute is a journal event like the floor: no rtc frame of its own (clients read it from the state).
    muted = await service.execute_async(meeting, c.MuteMicrophone(member_id=speaker_id), Actor.member(chair))
    await until(lambda: room.gate.muted == {Who.member(speaker_id)}, what="the mute followed")
    assert not any(f.get("type") == "rtc" and f.get("kind") == "muted" for conn in hub.all for f in conn.frames)

    # The sidecar ties each change to its journal event and its second in the recording.
    index = json.loads(room.recorder.index_path.read_text())
    _unmute, grant, end, mute = index["changes"]
    assert (grant["seq"], grant["kind"], grant["member_id"]) == (granted[-1].seq, "floor_granted", speaker_id)
    assert (end["seq"], end["reason"]) == (revoked[-1].seq, "revoked")
    assert (mute["seq"], mute["kind"], mute["member_id"]) == (muted[-1].seq, "muted", speaker_id)
    assert 0 < grant["offset_s"] < end["offset_s"] <= mute["offset_s"]
    assert end["offset_s"] - grant["offset_s"] == pytest.approx((end["frame"] - grant["frame"]) * 0.02)

    await service.execute_async(meeting, c.EndMeeting(), Actor.member(chair))
    await until(lambda: meeting not in plane.rooms and room.recorder.closed, what="the room closed with the meeting")
    for conn in (speaker_conn, listener_conn):
        assert conn.rtc("closed") == [{"type": "rtc", "kind": "closed", "reason": "meeting_ended"}]
    assert json.loads(room.recorder.index_path.read_text())["complete"] is True
    await send(signaling, listener_conn, kind="offer", sdp="v=0 " + "x" * 20)
    assert listener_conn.rtc("error")[-1]["error"]["code"] == "meeting_ended"
    for probe in (speaker, listener):
        await probe.close()
    await signaling.stop()
    assert plane.rooms == {} and signaling.joined == {}


async def test_bad_rtc_frames_are_answered_with_an_error_and_change_nothing(context, branch):
    plane = MediaPlane(context.service, MediaSettings(recordings_dir=None))
    signaling = MediaSignaling(plane, FakeHub())
    await signaling.start()
    conn = FakeConnection(branch.meeting_id, branch.officials[2])
    await send(signaling, conn, kind="dance")
    await send(signaling, conn, kind="offer", sdp="short")
    await send(signaling, conn, kind="offer", sdp="x" * 40_000)
    await send(signaling, conn, kind="candidate", candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host")
    await send(signaling, conn, kind="mute", member_id=3, muted=True)  # a meeting command now, not an rtc frame
    await send(signaling, conn, kind="offer", sdp="v=0\r\nthis is not sdp\r\n")
    codes = [f["error"]["code"] for f in conn.rtc("error")]
    assert codes == ["bad_frame", "bad_frame", "bad_frame", "media_not_joined", "bad_frame", "media_bad_offer"]
    assert all(f["error"]["message"] and f["error"]["message_en"] for f in conn.rtc("error"))
    assert plane.rooms == {}, "a refused offer leaves no room open"
    await signaling.stop()


async def test_a_mute_holds_in_a_room_another_node_opens_from_the_journal(context, branch):
    """The node that ran the meeting is gone; another one, with nothing of it in memory, folds the journal and
    opens the room with the chair's mutes as they were: a muted member given the floor there is still not mixed."""
    meeting, chair, speaker_id = branch.meeting_id, Actor.member(branch.chair), branch.officials[2]
    first = context.service
    first.open(meeting)  # the clerk's console opens it: presence (the system) opens no meeting
    await first.execute_async(meeting, c.CheckIn(member_id=speaker_id, mode=AttendanceMode.REMOTE), Actor.system())
    await first.execute_async(meeting, c.MuteMicrophone(member_id=speaker_id), chair)
    await first.execute_async(meeting, c.MuteMicrophone(hall=True), chair)

    other = MeetingService(context.sessions)
    rebuilt, _ = other.rebuild(meeting)
    assert (rebuilt.muted, rebuilt.hall_muted) == ({speaker_id}, True)
    plane = MediaPlane(other, MediaSettings(recordings_dir=None))
    signaling = MediaSignaling(plane, FakeHub())
    await signaling.start()
    probe = await join(signaling, FakeConnection(meeting, speaker_id), tone=True)
    room = plane.rooms[meeting]
    assert room.gate.muted == {Who.member(speaker_id), HALL}

    for command in (c.StartMeeting(), c.OpenItem(item_id=branch.item_ids[0]), c.GrantFloor(member_id=speaker_id)):
        await other.execute_async(meeting, command, chair)
    await until(lambda: speaker_id in room.gate.holders, what="the grant followed")
    assert not room.gate.admits(Who.member(speaker_id)), "muted on the first node, muted here"
    await other.execute_async(meeting, c.UnmuteMicrophone(member_id=speaker_id), chair)
    await until(lambda: room.gate.admits(Who.member(speaker_id)), what="the unmute followed")
    await probe.close()
    await signaling.stop()
