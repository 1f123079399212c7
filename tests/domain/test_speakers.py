"""Speaker queue rules: hands, the floor, points of order and the speaking-time limit."""

from datetime import timedelta

import pytest

from meeting.domain import commands as c
from meeting.domain.model import HandKind
from tests.domain.builders import (
    CHAIR,
    CLERK,
    DISCUSSION,
    GUEST,
    HALL,
    NOT_IN_ROSTER,
    OPENING,
    PROBATIONARY,
    SPEAKING_LIMIT_S,
    SYSTEM,
    Meeting,
    agenda,
    journal_opened,
    started,
    types,
)

POINT_OF_ORDER = c.RaiseHand(kind=HandKind.POINT_OF_ORDER)


def queue_of(meeting: Meeting) -> list[tuple[int, HandKind]]:
    return [(hand.member_id, hand.kind) for hand in meeting.state.queue()]


def test_raised_hands_queue_in_the_order_they_came():
    meeting = started(3, 4, 5, item=OPENING)
    for member_id in (4, 3, 5):
        meeting.do(c.RaiseHand(), member_id)
    assert [m for m, _ in queue_of(meeting)] == [4, 3, 5]


def test_point_of_order_jumps_ahead_of_ordinary_requests():
    meeting = started(3, 4, 5, 6, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    meeting.do(c.RaiseHand(), 4)
    meeting.do(POINT_OF_ORDER, 5)
    meeting.do(POINT_OF_ORDER, 6)  # after the earlier point of order, still before every ordinary request
    assert queue_of(meeting) == [
        (5, HandKind.POINT_OF_ORDER),
        (6, HandKind.POINT_OF_ORDER),
        (3, HandKind.SPEAK),
        (4, HandKind.SPEAK),
    ]
    meeting.do(c.NextSpeaker(), CHAIR)
    assert meeting.state.floor.member_id == 5


def test_one_queue_entry_per_member():
    meeting = started(3, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    assert meeting.refuse(c.RaiseHand(), 3) == "hand_already_raised"
    assert meeting.refuse(POINT_OF_ORDER, 3) == "hand_already_raised"
    assert [m for m, _ in queue_of(meeting)] == [3]


def test_floor_holder_cannot_also_queue():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    assert meeting.refuse(c.RaiseHand(), 3) == "hand_already_raised"


def test_only_present_members_may_raise_a_hand():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(c.RaiseHand(), 4) == "not_present"
    meeting.do(c.Leave(member_id=3), 3)
    assert meeting.refuse(c.RaiseHand(), 3) == "not_present"


@pytest.mark.parametrize("who", [NOT_IN_ROSTER, HALL, SYSTEM])
def test_only_roster_members_raise_hands(who):
    meeting = started(item=OPENING)
    assert meeting.refuse(c.RaiseHand(), who) == "not_in_roster"


def test_a_hand_needs_an_open_item():
    meeting = started(3)
    assert meeting.refuse(c.RaiseHand(), 3) == "no_open_item"


def test_a_hand_needs_a_started_meeting():
    meeting = Meeting()
    meeting.check_in(3)
    assert meeting.refuse(c.RaiseHand(), 3) == "meeting_not_started"


@pytest.mark.parametrize("member_id", [PROBATIONARY, GUEST])
def test_probationary_members_and_guests_may_speak(member_id):
    meeting = started(member_id, item=OPENING)
    meeting.do(c.RaiseHand(), member_id)
    meeting.do(c.NextSpeaker(), CHAIR)
    assert meeting.state.floor.member_id == member_id


def test_member_may_lower_their_own_hand():
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    meeting.do(c.RaiseHand(), 4)
    events = meeting.do(c.LowerHand(), 3)
    assert types(events) == ["hand_lowered"] and events[0].by == 3
    assert [m for m, _ in queue_of(meeting)] == [4]


def test_only_chair_may_lower_someone_elses_hand():
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    assert meeting.refuse(c.LowerHand(member_id=3), 4) == "self_only"
    assert meeting.refuse(c.LowerHand(member_id=3), CLERK) == "self_only"
    events = meeting.do(c.LowerHand(member_id=3), CHAIR)
    assert events[0].by == CHAIR
    assert queue_of(meeting) == []


def test_a_hand_not_raised_cannot_be_lowered():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(c.LowerHand(), 3) == "hand_not_raised"


@pytest.mark.parametrize("who", [CLERK, 3, HALL, SYSTEM])
def test_only_chair_grants_the_floor(who):
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.RaiseHand(), 4)
    assert meeting.refuse(c.GrantFloor(member_id=4), who) == "chair_only"
    assert meeting.refuse(c.NextSpeaker(), who) == "chair_only"


def test_granting_the_floor_takes_the_speaker_off_the_queue():
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    meeting.do(c.RaiseHand(), 4)
    meeting.do(c.GrantFloor(member_id=4), CHAIR)  # the chair may call on anyone, not only the first
    assert meeting.state.floor.member_id == 4
    assert [m for m, _ in queue_of(meeting)] == [3]


def test_floor_only_for_present_members():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(c.GrantFloor(member_id=4), CHAIR) == "not_present"
    assert meeting.refuse(c.GrantFloor(member_id=NOT_IN_ROSTER), CHAIR) == "not_in_roster"


def test_granting_the_floor_to_another_ends_the_current_speakers_turn():
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    events = meeting.do(c.GrantFloor(member_id=4), CHAIR)
    assert types(events) == ["floor_ended", "floor_granted"]
    assert (events[0].member_id, events[0].reason) == (3, "replaced")
    assert meeting.state.floor.member_id == 4


def test_next_speaker_skips_absent_members():
    meeting = started(3, 4, 5, item=OPENING)
    for member_id in (3, 4, 5):
        meeting.do(c.RaiseHand(), member_id)
    meeting.do(c.Leave(member_id=3), CLERK)
    meeting.do(c.NextSpeaker(), CHAIR)
    assert meeting.state.floor.member_id == 4
    meeting.do(c.Leave(member_id=5), 5)
    assert meeting.refuse(c.NextSpeaker(), CHAIR) == "queue_empty"


def test_next_speaker_with_nobody_waiting_is_refused():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(c.NextSpeaker(), CHAIR) == "queue_empty"


def test_each_item_has_its_own_queue():
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.RaiseHand(), 3)
    meeting.open(DISCUSSION)
    assert meeting.state.queue() == ()
    meeting.do(c.RaiseHand(), 3)  # a new item: a new hand
    assert [m for m, _ in queue_of(meeting)] == [3]


def test_designated_speakers_start_in_the_queue():
    meeting = Meeting(journal_opened(items=agenda(designated={DISCUSSION: [5, 3]})))
    meeting.start(3, 4, 5).open(DISCUSSION)
    assert queue_of(meeting) == [(5, HandKind.SPEAK), (3, HandKind.SPEAK)]
    assert meeting.refuse(c.RaiseHand(), 3) == "hand_already_raised"
    meeting.do(c.RaiseHand(), 4)
    assert [m for m, _ in queue_of(meeting)] == [5, 3, 4]


@pytest.mark.parametrize("who", [CLERK, 3, HALL, SYSTEM])
def test_only_chair_may_revoke_the_floor(who):
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.GrantFloor(member_id=4), CHAIR)
    assert meeting.refuse(c.RevokeFloor(), who) == "chair_only"
    events = meeting.do(c.RevokeFloor(), CHAIR)
    assert (events[0].member_id, events[0].reason) == (4, "revoked")
    assert meeting.state.floor is None


def test_nothing_to_revoke_without_a_speaker():
    meeting = started(item=OPENING)
    assert meeting.refuse(c.RevokeFloor(), CHAIR) == "no_floor"


def test_speaker_may_yield_the_floor():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    events = meeting.do(c.YieldFloor(), 3)
    assert (events[0].member_id, events[0].reason) == (3, "yielded")
    assert meeting.state.floor is None


@pytest.mark.parametrize("who", [CHAIR, 4, HALL, SYSTEM])
def test_only_the_floor_holder_may_yield(who):
    meeting = started(3, 4, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    assert meeting.refuse(c.YieldFloor(), who) == "not_floor_holder"


def test_yielding_needs_a_floor():
    assert started(3, item=OPENING).refuse(c.YieldFloor(), 3) == "no_floor"


def test_speaking_time_limit_sets_the_deadline():
    meeting = started(3, item=DISCUSSION)
    meeting.advance(12)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    assert meeting.state.floor.deadline == (meeting.now + timedelta(seconds=SPEAKING_LIMIT_S)).isoformat()


def test_item_without_a_limit_gives_an_open_ended_floor():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    assert meeting.state.floor.deadline is None
    meeting.advance(10 * SPEAKING_LIMIT_S)
    assert meeting.refuse(c.EndExpiredFloor(), SYSTEM) == "time_not_up"


def test_floor_ends_when_the_speaking_time_is_up():
    meeting = started(3, item=DISCUSSION)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    meeting.advance(SPEAKING_LIMIT_S - 1)
    assert meeting.refuse(c.EndExpiredFloor(), SYSTEM) == "time_not_up"
    meeting.advance(1)  # the deadline itself ends the turn
    events = meeting.do(c.EndExpiredFloor(), SYSTEM)
    assert (types(events), events[0].member_id, events[0].reason) == (["floor_ended"], 3, "time_up")
    assert meeting.state.floor is None
    assert meeting.refuse(c.EndExpiredFloor(), SYSTEM) == "no_floor"


def test_a_speaker_who_leaves_loses_the_floor():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    events = meeting.do(c.Leave(member_id=3), 3)
    assert types(events) == ["floor_ended", "left"]
    assert events[0].reason == "left"
    assert meeting.state.floor is None
