"""The stage video (off by default): the floor holder's camera, else the hall's, encoded once for every viewer,
a keyframe for each new viewer, and no video work for cameras off stage or for audio-only members."""

from __future__ import annotations

from signaling.media.floor_gate import Who
from signaling.media.video import VideoSettings
from tests.media.conftest import Rooms, ended, until

RED, BLUE = (220, 30, 30), (30, 30, 220)
SPEAKER, VIEWER, LATECOMER, AUDIO_ONLY = (Who.member(i) for i in (10, 11, 12, 13))
HALL = Who.hall(0)


def looks(colour: tuple[int, int, int], seen: list[tuple[int, int, int]], frames: int = 3) -> bool:
    """The last few pictures are this colour (VP8 at a low bitrate keeps plain colours within a few steps)."""
    recent = seen[-frames:]
    return len(recent) == frames and all(max(abs(a - b) for a, b in zip(p, colour, strict=True)) < 40 for p in recent)


async def test_the_stage_is_the_floor_holder_else_the_hall_encoded_once_for_all_viewers(rooms: Rooms):
    room = rooms.room(holders=(10,), video=VideoSettings(width=320, height=180, fps=10, bitrate=150_000))
    await rooms.join(room, SPEAKER, tone=True, camera=RED, watch=True)
    await rooms.join(room, HALL, camera=BLUE, watch=True)
    viewer = await rooms.join(room, VIEWER, watch=True)
    await rooms.join(room, AUDIO_ONLY)
    video = room.video
    assert video is not None
    assert set(video.sources) == {SPEAKER, HALL} and set(video.viewers) == {SPEAKER, HALL, VIEWER}
    await until(lambda: looks(RED, viewer.seen), what="the floor holder's camera on stage")
    hall_frames = video.sources[HALL].frames
    assert hall_frames == 0, "a camera off stage is neither received nor decoded"

    room.apply([ended(1, 10)])
    await until(lambda: looks(BLUE, viewer.seen), what="the hall's camera on stage after the revoke")
    assert video.stage == HALL and video.sources[SPEAKER].latest is None

    keyframes = video.keyframes
    latecomer = await rooms.join(room, LATECOMER, watch=True)
    await until(lambda: looks(BLUE, latecomer.seen), what="the latecomer's first pictures")
    assert video.keyframes > keyframes, "a new viewer gets a keyframe"
    # One encode per stage frame, whatever the number of viewers.
    assert video.encoded == video.frame_index and len(video.viewers) == 4

    await room.leave(HALL)
    await until(lambda: video.stage is None, what="an empty stage")
    assert HALL not in video.sources
