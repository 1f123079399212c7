"""Vote rules: only official members present vote; show of hands in the room plus remote ballots, nobody twice."""

import pytest

from meeting.domain import commands as c
from meeting.domain.model import Choice, VoteStatus
from tests.domain.builders import (
    CHAIR,
    CLERK,
    EXEMPT,
    GUEST,
    HALL,
    NOT_IN_ROSTER,
    OFFICIALS,
    OPENING,
    PROBATIONARY,
    RESOLUTION,
    SYSTEM,
    Meeting,
    started,
    types,
)

VOTE = "nq-1"
OPEN = c.OpenVote(vote_id=VOTE, question="Thông qua nghị quyết tháng 11?")
CLOSE = c.CloseVote(vote_id=VOTE)


def ballot(choice: Choice = Choice.FOR, vote_id: str = VOTE) -> c.CastBallot:
    return c.CastBallot(vote_id=vote_id, choice=choice)


def hall(votes_for: int, votes_against: int = 0, votes_abstain: int = 0) -> c.RecordHallCount:
    return c.RecordHallCount(
        vote_id=VOTE, votes_for=votes_for, votes_against=votes_against, votes_abstain=votes_abstain
    )


def voting(in_room: tuple[int, ...] = (), online: tuple[int, ...] = ()) -> Meeting:
    """A started meeting on the resolution item with a vote open."""
    meeting = started(*in_room, item=RESOLUTION)
    meeting.check_in(*online, mode="remote")
    meeting.do(OPEN, CHAIR)
    return meeting


@pytest.mark.parametrize("who", [CLERK, 3, HALL, SYSTEM])
def test_only_chair_may_open_a_vote(who):
    meeting = started(item=RESOLUTION)
    assert meeting.refuse(OPEN, who) == "chair_only"
    events = meeting.do(OPEN, CHAIR)
    assert types(events) == ["vote_opened"]
    assert meeting.state.open_vote_id == VOTE
    assert meeting.state.votes[VOTE].status == VoteStatus.OPEN


def test_vote_belongs_to_the_open_item_unless_named():
    meeting = started(item=RESOLUTION)
    meeting.do(OPEN, CHAIR)
    assert meeting.state.votes[VOTE].item_id == RESOLUTION
    meeting.do(CLOSE, CHAIR)
    meeting.do(c.OpenVote(vote_id="named", question="Biểu quyết?", item_id=OPENING), CHAIR)
    assert meeting.state.votes["named"].item_id == OPENING


def test_vote_needs_an_item():
    meeting = started()
    assert meeting.refuse(OPEN, CHAIR) == "no_open_item"
    assert meeting.refuse(c.OpenVote(vote_id=VOTE, question="?", item_id="no-such-item"), CHAIR) == "unknown_item"


def test_vote_needs_a_started_meeting():
    assert Meeting().refuse(c.OpenVote(vote_id=VOTE, question="?", item_id=OPENING), CHAIR) == "meeting_not_started"


def test_one_vote_open_at_a_time_and_each_id_used_once():
    meeting = voting()
    assert meeting.refuse(c.OpenVote(vote_id="other", question="?"), CHAIR) == "vote_already_open"
    meeting.do(CLOSE, CHAIR)
    assert meeting.refuse(OPEN, CHAIR) == "vote_exists"


@pytest.mark.parametrize("who", [CLERK, 3, HALL, SYSTEM])
def test_only_chair_may_close_a_vote(who):
    meeting = voting()
    assert meeting.refuse(CLOSE, who) == "chair_only"
    meeting.do(CLOSE, CHAIR)
    assert meeting.state.open_vote_id is None
    assert meeting.state.votes[VOTE].status == VoteStatus.CLOSED


def test_a_closed_vote_takes_no_more_ballots_or_counts():
    meeting = voting(in_room=(3,), online=(4,))
    meeting.do(CLOSE, CHAIR)
    assert meeting.refuse(ballot(), 4) == "vote_not_open"
    assert meeting.refuse(hall(1), CLERK) == "vote_not_open"
    assert meeting.refuse(CLOSE, CHAIR) == "vote_not_open"
    assert meeting.refuse(ballot(vote_id="no-such-vote"), 4) == "unknown_vote"


def test_official_member_present_online_may_vote():
    meeting = voting(online=(4,))
    events = meeting.do(ballot(Choice.AGAINST), 4)
    assert (events[0].member_id, events[0].choice) == (4, Choice.AGAINST)
    assert dict(meeting.state.votes[VOTE].ballots) == {4: Choice.AGAINST}


def test_probationary_member_may_not_vote():
    meeting = voting(online=(PROBATIONARY,))
    assert meeting.refuse(ballot(), PROBATIONARY) == "may_not_vote"


def test_guest_may_not_vote():
    meeting = voting(online=(GUEST,))
    assert meeting.refuse(ballot(), GUEST) == "may_not_vote"


def test_official_member_not_present_may_not_vote():
    meeting = voting(online=(4,))
    assert meeting.refuse(ballot(), 5) == "may_not_vote"  # never came
    meeting.do(c.Leave(member_id=4), 4)
    assert meeting.refuse(ballot(), 4) == "may_not_vote"  # has left


def test_exempt_member_present_may_vote():
    meeting = voting(online=(EXEMPT,))
    meeting.do(ballot(), EXEMPT)
    assert EXEMPT in meeting.state.votes[VOTE].ballots


@pytest.mark.parametrize("who", [NOT_IN_ROSTER, HALL, SYSTEM])
def test_only_roster_members_cast_ballots(who):
    assert voting().refuse(ballot(), who) == "not_in_roster"


def test_member_cannot_vote_twice():
    meeting = voting(online=(4,))
    meeting.do(ballot(Choice.FOR), 4)
    assert meeting.refuse(ballot(Choice.AGAINST), 4) == "already_voted"
    assert dict(meeting.state.votes[VOTE].ballots) == {4: Choice.FOR}


def test_member_in_room_cannot_also_cast_remote_ballot():
    meeting = voting(in_room=(3,))
    assert meeting.refuse(ballot(), 3) == "in_room_votes_by_hand"


@pytest.mark.parametrize("who", [CHAIR, 3, HALL, SYSTEM])
def test_only_clerk_records_the_hall_count(who):
    meeting = voting(in_room=(3, 4))
    assert meeting.refuse(hall(2), who) == "clerk_only"
    meeting.do(hall(2), CLERK)
    assert meeting.state.votes[VOTE].hall_count.votes_for == 2


def test_hall_count_cannot_exceed_voters_in_room():
    # In the room: chair and clerk, officials 3 and 4, plus a probationary member and a guest who do not vote.
    meeting = voting(in_room=(CHAIR, CLERK, 3, 4, PROBATIONARY, GUEST), online=(5,))
    assert meeting.refuse(hall(3, 1, 1), CLERK) == "hall_count_too_high"
    meeting.do(hall(2, 1, 1), CLERK)
    assert meeting.state.votes[VOTE].hall_count.votes_abstain == 1


def test_hall_count_leaves_out_members_who_voted_online_then_came_into_the_room():
    meeting = voting(in_room=(3, 4), online=(5,))
    meeting.do(ballot(), 5)
    meeting.do(c.CheckIn(member_id=5, mode="in_person"), CLERK)  # arrives in the room after voting online
    assert meeting.refuse(hall(3), CLERK) == "hall_count_too_high"
    meeting.do(hall(2), CLERK)


def test_a_later_hall_count_replaces_the_earlier_one():
    meeting = voting(in_room=(3, 4, 5))
    meeting.do(hall(3), CLERK)
    meeting.do(hall(1, 1, 1), CLERK)
    meeting.do(CLOSE, CHAIR)
    result = meeting.state.votes[VOTE].result
    assert (result.votes_for, result.votes_against, result.votes_abstain) == (1, 1, 1)


def test_member_counted_by_show_of_hands_cannot_then_vote_online():
    meeting = voting(in_room=(3, 4))
    meeting.do(hall(2), CLERK)
    meeting.do(c.CheckIn(member_id=3, mode="remote"), 3)  # moves online after raising a hand in the room
    assert meeting.refuse(ballot(), 3) == "counted_by_hand"
    meeting.do(c.Leave(member_id=4), 4)
    meeting.do(c.CheckIn(member_id=4, mode="remote"), 4)  # leaves and comes back online
    assert meeting.refuse(ballot(), 4) == "counted_by_hand"


def test_a_recount_without_the_member_lets_them_vote_online():
    meeting = voting(in_room=(3, 4))
    meeting.do(hall(2), CLERK)
    meeting.do(c.CheckIn(member_id=3, mode="remote"), 3)
    meeting.do(hall(1), CLERK)  # counted again with only 4 in the room
    meeting.do(ballot(Choice.AGAINST), 3)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.votes_for, result.votes_against) == (1, 1)


def test_member_who_moved_online_before_the_count_may_vote_online():
    meeting = voting(in_room=(3, 4))
    meeting.do(c.CheckIn(member_id=3, mode="remote"), 3)
    meeting.do(hall(1), CLERK)  # only 4 is left in the room to count
    meeting.do(ballot(Choice.AGAINST), 3)
    meeting.do(CLOSE, CHAIR)
    result = meeting.state.votes[VOTE].result
    assert (result.votes_for, result.votes_against) == (1, 1)


def test_hall_count_and_remote_ballots_are_combined():
    meeting = voting(in_room=(CHAIR, CLERK, 3), online=(4, 5, 6))
    meeting.do(hall(2, 0, 1), CLERK)
    meeting.do(ballot(Choice.FOR), 4)
    meeting.do(ballot(Choice.AGAINST), 5)
    events = meeting.do(CLOSE, CHAIR)
    closed = events[0]
    assert (closed.votes_for, closed.votes_against, closed.votes_abstain, closed.not_voting) == (3, 1, 1, 1)
    assert meeting.state.votes[VOTE].result.votes_for == 3


def test_resolution_passes_with_more_than_half_of_the_official_members_for():
    # 6 officials, all present: 4 for passes.
    meeting = voting(in_room=OFFICIALS)
    meeting.do(hall(4, 2), CLERK)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.basis, result.passed) == (6, True)


def test_resolution_fails_at_exactly_half():
    meeting = voting(in_room=OFFICIALS)
    meeting.do(hall(3, 0, 3), CLERK)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.basis, result.passed) == (6, False)


def test_majority_is_over_all_official_members_not_only_those_voting():
    # 5 of 6 present, 3 vote for and 2 abstain: 3 of 5 voters, but only 3 of 6 officials.
    meeting = voting(in_room=OFFICIALS[:5])
    meeting.do(hall(3, 0, 2), CLERK)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.basis, result.votes_for, result.passed) == (6, 3, False)


def test_exempt_member_present_counts_in_the_majority_basis():
    meeting = voting(in_room=(*OFFICIALS, EXEMPT))
    meeting.do(hall(4, 3), CLERK)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.basis, result.passed) == (7, True)


def test_not_voting_counts_present_voters_with_no_vote():
    meeting = voting(in_room=(CHAIR, CLERK, 3, PROBATIONARY), online=(4, GUEST))
    meeting.do(hall(2), CLERK)
    result = meeting.do(CLOSE, CHAIR)[0]
    assert (result.votes_for, result.not_voting) == (2, 2)  # 3 and 4 did not vote; the others never could
