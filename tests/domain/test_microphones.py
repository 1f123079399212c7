"""The chair's mute: a member's microphone or the hall's, recorded in the journal and kept in the state."""

import pytest

from meeting.domain import Actor, decide
from meeting.domain import commands as c
from meeting.domain import events as ev
from meeting.domain.model import MeetingState
from meeting.errors import Rejected
from tests.domain.builders import (
    CHAIR,
    CLERK,
    HALL,
    MEETING_ID,
    NOT_IN_ROSTER,
    OPENING,
    SYSTEM,
    T0,
    Meeting,
    started,
    types,
)


def mute(member_id: int) -> c.MuteMicrophone:
    return c.MuteMicrophone(member_id=member_id)


def unmute(member_id: int) -> c.UnmuteMicrophone:
    return c.UnmuteMicrophone(member_id=member_id)


def test_the_chair_mutes_and_unmutes_a_members_microphone():
    meeting = started(3, 4, item=OPENING)
    events = meeting.do(mute(3), CHAIR)
    assert events == [ev.MicrophoneMuted(at=events[0].at, member_id=3, hall=False, by=CHAIR)]
    assert meeting.state.muted == {3} and meeting.state.is_muted(3) and not meeting.state.is_muted(4)
    assert not meeting.state.hall_muted
    assert types(meeting.do(unmute(3), CHAIR)) == ["microphone_unmuted"]
    assert meeting.state.muted == frozenset()


def test_the_hall_stations_microphone_is_muted_apart_from_the_members():
    meeting = started(3, item=OPENING)
    events = meeting.do(c.MuteMicrophone(hall=True), CHAIR)
    assert events == [ev.MicrophoneMuted(at=events[0].at, member_id=None, hall=True, by=CHAIR)]
    assert meeting.state.hall_muted and meeting.state.is_muted(None) and meeting.state.muted == frozenset()
    assert meeting.refuse(c.MuteMicrophone(hall=True), CHAIR) == "microphone_already_muted"
    meeting.do(c.UnmuteMicrophone(hall=True), CHAIR)
    assert not meeting.state.hall_muted
    assert meeting.refuse(c.UnmuteMicrophone(hall=True), CHAIR) == "microphone_not_muted"


@pytest.mark.parametrize("who", [3, CLERK, HALL, SYSTEM, NOT_IN_ROSTER])
def test_only_the_chair_mutes_or_unmutes(who):
    meeting = started(3, item=OPENING)
    assert meeting.refuse(mute(3), who) == "media_mute_chair_only"
    assert meeting.refuse(c.MuteMicrophone(hall=True), who) == "media_mute_chair_only"
    meeting.do(mute(3), CHAIR)
    assert meeting.refuse(unmute(3), who) == "media_mute_chair_only", "nobody unmutes themself either"


def test_a_mute_that_changes_nothing_is_refused():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(unmute(3), CHAIR) == "microphone_not_muted"
    meeting.do(mute(3), CHAIR)
    assert meeting.refuse(mute(3), CHAIR) == "microphone_already_muted"


def test_an_unknown_member_cannot_be_muted():
    meeting = started(3, item=OPENING)
    assert meeting.refuse(mute(NOT_IN_ROSTER), CHAIR) == "not_in_roster"
    assert meeting.refuse(unmute(NOT_IN_ROSTER), CHAIR) == "not_in_roster"


def test_muting_needs_an_opened_journal_and_ends_with_the_meeting():
    with pytest.raises(Rejected) as refused:
        decide(MeetingState(meeting_id=MEETING_ID), mute(3), Actor.member(CHAIR), T0)
    assert refused.value.code == "journal_not_opened"
    before = Meeting()  # opened, not started: the chair may already mute someone connected early
    before.do(mute(3), CHAIR)
    assert before.state.muted == {3}
    meeting = started(3, item=OPENING)
    meeting.do(mute(3), CHAIR)
    meeting.do(c.EndMeeting(), CHAIR)
    assert meeting.refuse(unmute(3), CHAIR) == "meeting_ended"
    assert meeting.refuse(mute(4), CHAIR) == "meeting_ended"


def test_a_muted_member_stays_muted_through_leaving_returning_and_the_floor():
    meeting = started(3, item=OPENING, mode="remote")
    meeting.do(mute(3), CHAIR)
    meeting.do(c.Leave(member_id=3), SYSTEM)  # the phone dropped
    meeting.do(c.CheckIn(member_id=3, mode="remote"), SYSTEM)  # and came back
    meeting.do(c.GrantFloor(member_id=3), CHAIR)  # given the floor, still not heard until unmuted
    assert meeting.state.muted == {3} and meeting.state.floor.member_id == 3
    meeting.do(c.RevokeFloor(), CHAIR)
    assert meeting.state.muted == {3}


def test_the_muted_set_is_rebuilt_from_the_journal():
    meeting = started(3, 4, 5, item=OPENING)
    meeting.do(mute(3), CHAIR)
    meeting.do(mute(5), CHAIR)
    meeting.do(c.MuteMicrophone(hall=True), CHAIR)
    meeting.do(unmute(3), CHAIR)
    rebuilt = meeting.rebuilt()
    assert rebuilt == meeting.state
    assert (rebuilt.muted, rebuilt.hall_muted) == ({5}, True)


def test_a_command_names_one_microphone():
    with pytest.raises(ValueError):
        c.parse_command({"type": "mute_microphone"})
    with pytest.raises(ValueError):
        c.parse_command({"type": "mute_microphone", "member_id": 3, "hall": True})
    assert c.parse_command({"type": "unmute_microphone", "hall": True}) == c.UnmuteMicrophone(hall=True)
