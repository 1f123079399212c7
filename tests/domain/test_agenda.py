"""Agenda rules: the chair starts and ends the meeting and moves through the order of business."""

import pytest

from meeting.domain import Actor, MeetingState, decide
from meeting.domain import commands as c
from meeting.domain.model import ItemStatus, MeetingStatus
from meeting.errors import Rejected
from tests.domain.builders import (
    AGENDA,
    CHAIR,
    CLERK,
    CLOSING,
    DISCUSSION,
    HALL,
    MEETING_ID,
    OFFICIALS,
    OPENING,
    REPORT,
    RESOLUTION,
    SYSTEM,
    T0,
    Meeting,
    started,
    types,
)

NOT_CHAIR = [CLERK, 3, HALL, SYSTEM]


def statuses(meeting: Meeting) -> dict[str, ItemStatus]:
    return {item.id: item.status for item in meeting.state.agenda}


def test_nothing_is_decided_before_the_journal_opens():
    with pytest.raises(Rejected) as refused:
        decide(MeetingState(meeting_id=MEETING_ID), c.StartMeeting(), Actor.member(CHAIR), T0)
    assert refused.value.code == "journal_not_opened"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_start_the_meeting(who):
    meeting = Meeting()
    assert meeting.refuse(c.StartMeeting(), who) == "chair_only"
    assert types(meeting.do(c.StartMeeting(), CHAIR)) == ["meeting_started"]
    assert meeting.state.status == MeetingStatus.IN_PROGRESS
    assert meeting.state.started_at == T0.isoformat()


def test_meeting_starts_only_once():
    meeting = started()
    assert meeting.refuse(c.StartMeeting(), CHAIR) == "meeting_already_started"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_open_an_item(who):
    meeting = started()
    assert meeting.refuse(c.OpenItem(item_id=OPENING), who) == "chair_only"
    meeting.open(OPENING)
    assert meeting.state.current_item_id == OPENING
    assert statuses(meeting)[OPENING] == ItemStatus.OPEN


def test_no_item_opens_before_the_meeting_starts():
    meeting = Meeting()
    assert meeting.refuse(c.OpenItem(item_id=OPENING), CHAIR) == "meeting_not_started"


def test_opening_an_item_closes_the_previous_one():
    meeting = started(item=OPENING)
    events = meeting.do(c.OpenItem(item_id=REPORT), CHAIR)
    assert types(events) == ["item_closed", "item_opened"]
    assert statuses(meeting)[OPENING] == ItemStatus.CLOSED
    assert statuses(meeting)[REPORT] == ItemStatus.OPEN
    assert meeting.state.current_item_id == REPORT


def test_opening_the_next_item_ends_the_floor_of_the_previous_one():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    events = meeting.do(c.OpenItem(item_id=REPORT), CHAIR)
    assert types(events) == ["floor_ended", "item_closed", "item_opened"]
    assert events[0].reason == "item_closed"
    assert meeting.state.floor is None


def test_an_open_item_cannot_be_opened_again():
    meeting = started(item=OPENING)
    assert meeting.refuse(c.OpenItem(item_id=OPENING), CHAIR) == "item_already_open"


def test_unknown_item_is_refused():
    meeting = started()
    assert meeting.refuse(c.OpenItem(item_id="no-such-item"), CHAIR) == "unknown_item"
    assert meeting.refuse(c.SkipItem(item_id="no-such-item"), CHAIR) == "unknown_item"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_close_an_item(who):
    meeting = started(item=OPENING)
    assert meeting.refuse(c.CloseItem(item_id=OPENING), who) == "chair_only"
    assert types(meeting.do(c.CloseItem(item_id=OPENING), CHAIR)) == ["item_closed"]
    assert statuses(meeting)[OPENING] == ItemStatus.CLOSED
    assert meeting.state.current_item_id is None


def test_only_an_open_item_can_be_closed():
    meeting = started(item=OPENING)
    assert meeting.refuse(c.CloseItem(item_id=REPORT), CHAIR) == "item_not_open"


def test_closing_an_item_ends_the_floor():
    meeting = started(3, item=OPENING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    assert types(meeting.do(c.CloseItem(item_id=OPENING), CHAIR)) == ["floor_ended", "item_closed"]
    assert meeting.state.floor is None


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_skip_an_item(who):
    meeting = started(item=OPENING)
    assert meeting.refuse(c.SkipItem(item_id=REPORT), who) == "chair_only"
    assert types(meeting.do(c.SkipItem(item_id=REPORT), CHAIR)) == ["item_skipped"]
    assert statuses(meeting)[REPORT] == ItemStatus.SKIPPED
    assert meeting.state.current_item_id == OPENING  # skipping leaves the open item alone


def test_only_an_item_not_yet_taken_up_can_be_skipped():
    meeting = started(item=OPENING)
    assert meeting.refuse(c.SkipItem(item_id=OPENING), CHAIR) == "item_not_pending"
    meeting.open(REPORT)
    assert meeting.refuse(c.SkipItem(item_id=OPENING), CHAIR) == "item_not_pending"
    meeting.do(c.SkipItem(item_id=DISCUSSION), CHAIR)
    assert meeting.refuse(c.SkipItem(item_id=DISCUSSION), CHAIR) == "item_not_pending"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_reorder_the_agenda(who):
    meeting = Meeting()
    order = list(reversed(AGENDA))
    assert meeting.refuse(c.ReorderAgenda(order=order), who) == "chair_only"
    meeting.do(c.ReorderAgenda(order=order), CHAIR)
    assert [item.id for item in meeting.state.agenda] == order


def test_reordering_keeps_each_item_as_it_was():
    meeting = started(item=OPENING)
    meeting.do(c.SkipItem(item_id=REPORT), CHAIR)
    before = {item.id: item for item in meeting.state.agenda}
    meeting.do(c.ReorderAgenda(order=[CLOSING, REPORT, OPENING, RESOLUTION, DISCUSSION]), CHAIR)
    assert {item.id: item for item in meeting.state.agenda} == before
    assert meeting.state.current_item_id == OPENING


@pytest.mark.parametrize(
    "order",
    [
        list(AGENDA[:-1]),  # one missing
        [*AGENDA, OPENING],  # one twice
        [*AGENDA[:-1], OPENING],  # one twice, one missing: same length
        [*AGENDA[:-1], "no-such-item"],  # an unknown one
        [],
    ],
)
def test_new_order_must_list_exactly_the_existing_items(order):
    meeting = Meeting()
    assert meeting.refuse(c.ReorderAgenda(order=order), CHAIR) == "bad_order"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_conclude_an_item(who):
    meeting = started(item=OPENING)
    assert meeting.refuse(c.ConcludeItem(item_id=OPENING, text="Kết luận"), who) == "chair_only"
    meeting.do(c.ConcludeItem(item_id=OPENING, text="Chi bộ thống nhất"), CHAIR)
    assert meeting.state.item(OPENING).conclusion == "Chi bộ thống nhất"


def test_conclusion_needs_an_item_taken_up():
    meeting = started(item=OPENING)
    assert meeting.refuse(c.ConcludeItem(item_id=REPORT, text="Kết luận"), CHAIR) == "item_not_open"
    meeting.open(REPORT)
    meeting.do(c.ConcludeItem(item_id=OPENING, text="Kết luận muộn"), CHAIR)  # a closed item may still be concluded
    assert meeting.state.item(OPENING).conclusion == "Kết luận muộn"


def test_agenda_does_not_move_while_a_vote_is_open():
    meeting = started(*OFFICIALS, item=RESOLUTION)
    meeting.do(c.OpenVote(vote_id="nq", question="Thông qua nghị quyết?"), CHAIR)
    assert meeting.refuse(c.OpenItem(item_id=CLOSING), CHAIR) == "vote_open_blocks"
    assert meeting.refuse(c.CloseItem(item_id=RESOLUTION), CHAIR) == "vote_open_blocks"
    assert meeting.refuse(c.EndMeeting(), CHAIR) == "vote_open_blocks"


@pytest.mark.parametrize("who", NOT_CHAIR)
def test_only_chair_may_end_the_meeting(who):
    meeting = started()
    assert meeting.refuse(c.EndMeeting(), who) == "chair_only"
    assert types(meeting.do(c.EndMeeting(), CHAIR)) == ["meeting_ended"]
    assert meeting.state.status == MeetingStatus.ENDED
    assert meeting.state.ended_at == T0.isoformat()


def test_meeting_cannot_end_before_it_starts():
    assert Meeting().refuse(c.EndMeeting(), CHAIR) == "meeting_not_started"


def test_ending_the_meeting_closes_the_open_item_and_ends_the_floor():
    meeting = started(3, item=CLOSING)
    meeting.do(c.GrantFloor(member_id=3), CHAIR)
    events = meeting.do(c.EndMeeting(), CHAIR)
    assert types(events) == ["floor_ended", "item_closed", "meeting_ended"]
    assert events[0].reason == "meeting_ended"
    assert meeting.state.floor is None and meeting.state.current_item_id is None
    assert statuses(meeting)[CLOSING] == ItemStatus.CLOSED


@pytest.mark.parametrize(
    ("command", "who"),
    [
        (c.StartMeeting(), CHAIR),
        (c.EndMeeting(), CHAIR),
        (c.OpenItem(item_id=REPORT), CHAIR),
        (c.SkipItem(item_id=REPORT), CHAIR),
        (c.ReorderAgenda(order=list(AGENDA)), CHAIR),
        (c.CheckIn(member_id=4, mode="remote"), CLERK),
        (c.Leave(member_id=3), CLERK),
        (c.MarkAbsent(member_id=5, reason="Ốm"), CLERK),
        (c.RaiseHand(), 3),
        (c.OpenVote(vote_id="late", question="Biểu quyết?", item_id=OPENING), CHAIR),
    ],
)
def test_after_the_end_only_the_minutes_may_change(command, who):
    meeting = started(3, item=OPENING)
    meeting.do(c.EndMeeting(), CHAIR)
    assert meeting.refuse(command, who) == "meeting_ended"
