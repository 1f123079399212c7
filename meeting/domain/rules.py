"""Quorum and majority: derived figures, never stored, so they always agree with attendance."""

from __future__ import annotations

from dataclasses import dataclass

from meeting.domain.model import (
    VOTING_CATEGORIES,
    AttendanceMode,
    AttendanceStatus,
    Category,
    Choice,
    MeetingState,
    Vote,
    VoteResult,
)


@dataclass(frozen=True, slots=True)
class QuorumFigures:
    rule: str  # e.g. "> 2/3"
    eligible: int  # official members not exempt, plus exempt members who are present
    present: int  # of those, how many are present now
    required: int  # how many must be present for the rule to be met
    met: bool
    present_in_room: int  # everyone present in the room (any category)
    present_online: int  # everyone present online (any category)


def quorum_eligible(state: MeetingState) -> list[int]:
    """Members in the quorum denominator: official ones, and exempt ones only if they came."""
    eligible = []
    for member in state.roster.values():
        if member.category == Category.OFFICIAL or (
            member.category == Category.EXEMPT and state.is_present(member.member_id)
        ):
            eligible.append(member.member_id)
    return eligible


def quorum(state: MeetingState) -> QuorumFigures:
    eligible = quorum_eligible(state)
    present = sum(1 for member_id in eligible if state.is_present(member_id))
    rule = state.rules.quorum
    in_room = online = 0
    for member_id, record in state.attendance.items():
        if record.status == AttendanceStatus.PRESENT and member_id in state.roster:
            if record.mode == AttendanceMode.REMOTE:
                online += 1
            else:
                in_room += 1
    return QuorumFigures(
        rule=rule.describe(),
        eligible=len(eligible),
        present=present,
        required=rule.required(len(eligible)),
        met=rule.met(present, len(eligible)),
        present_in_room=in_room,
        present_online=online,
    )


def may_vote(state: MeetingState, member_id: int) -> bool:
    """Only official members (exempt ones included) who are present may vote."""
    member = state.roster.get(member_id)
    return member is not None and member.category in VOTING_CATEGORIES and state.is_present(member_id)


def present_voters(state: MeetingState) -> list[int]:
    return [member_id for member_id in state.roster if may_vote(state, member_id)]


def hall_voter_ids(state: MeetingState, vote: Vote) -> frozenset[int]:
    """In-room voters who have no remote ballot: those a show of hands may count."""
    return frozenset(
        member_id
        for member_id in present_voters(state)
        if state.attendance_of(member_id).mode == AttendanceMode.IN_PERSON and member_id not in vote.ballots
    )


def hall_voters_without_ballot(state: MeetingState, vote: Vote) -> int:
    """The most a show of hands may count."""
    return len(hall_voter_ids(state, vote))


def tally(state: MeetingState, vote: Vote) -> VoteResult:
    """Remote ballots plus the clerk's show-of-hands count, judged by the branch's majority rule."""
    counts = {choice: 0 for choice in Choice}
    for choice in vote.ballots.values():
        counts[choice] += 1
    if vote.hall_count is not None:
        counts[Choice.FOR] += vote.hall_count.votes_for
        counts[Choice.AGAINST] += vote.hall_count.votes_against
        counts[Choice.ABSTAIN] += vote.hall_count.votes_abstain
    cast = sum(counts.values())
    voters = len(present_voters(state))
    basis = len(quorum_eligible(state))
    return VoteResult(
        votes_for=counts[Choice.FOR],
        votes_against=counts[Choice.AGAINST],
        votes_abstain=counts[Choice.ABSTAIN],
        not_voting=max(voters - cast, 0),
        basis=basis,
        passed=state.rules.majority.met(counts[Choice.FOR], basis),
    )
