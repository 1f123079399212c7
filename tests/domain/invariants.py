"""Invariants of a meeting, checked by bookkeeping of our own: an `Observer` follows the journal's events
(written here, not taken from `meeting.domain.rules`) and checks a state against it; `check_shape` checks what
any state must look like on its own. Used by the pure property tests and by those through the service."""

from __future__ import annotations

from fractions import Fraction as Ratio

from meeting.domain import MeetingState, quorum
from meeting.domain import events as ev
from meeting.domain.model import AttendanceMode, Category, ItemStatus, MinutePlace, VoteStatus

VOTING = {Category.OFFICIAL, Category.EXEMPT}


class Observer:
    """Attendance and votes as the events tell them, kept apart from the domain's own code."""

    def __init__(self, opening: ev.JournalOpened) -> None:
        self.category = {m.member_id: m.category for m in opening.roster}
        rules = opening.rules
        self.quorum_rule = (Ratio(rules.quorum_numerator, rules.quorum_denominator), rules.quorum_strict)
        self.present: dict[int, str] = {}  # member -> mode, for those present now
        self.ballots: dict[str, list[int]] = {}  # vote -> members in the order they cast ballots
        self.hall_total: dict[str, int] = {}
        self.hall_could_count: dict[str, set[int]] = {}  # who the latest show of hands may have counted
        self.ever_voters: dict[str, set[int]] = {}  # who was entitled to vote at some time while it was open
        self.open_votes: set[str] = set()

    def voters_now(self) -> set[int]:
        return {m for m in self.present if self.category[m] in VOTING}

    def see(self, event: ev.Event) -> None:
        match event:
            case ev.CheckedIn(member_id=member, mode=mode):
                self.present[member] = mode
            case ev.Left(member_id=member) | ev.MarkedAbsent(member_id=member):
                self.present.pop(member, None)
            case ev.VoteOpened(vote_id=vote):
                self.open_votes.add(vote)
                self.ballots[vote], self.hall_total[vote], self.hall_could_count[vote] = [], 0, set()
                self.ever_voters[vote] = set()
            case ev.BallotCast(vote_id=vote, member_id=member):
                assert member in self.voters_now(), "a ballot from someone not entitled to vote"
                assert self.present[member] == AttendanceMode.REMOTE, "a ballot from someone in the room"
                assert member not in self.ballots[vote], "a member's ballot counted twice"
                assert member not in self.hall_could_count[vote], "a member counted by hand and by ballot"
                self.ballots[vote].append(member)
            case ev.HallCountRecorded(vote_id=vote):
                in_room = {
                    m
                    for m in self.voters_now()
                    if self.present[m] == AttendanceMode.IN_PERSON and m not in self.ballots[vote]
                }
                total = event.votes_for + event.votes_against + event.votes_abstain
                assert total <= len(in_room), "the show of hands counts more than the voters in the room"
                self.hall_total[vote], self.hall_could_count[vote] = total, in_room
            case ev.VoteClosed(vote_id=vote):
                cast = event.votes_for + event.votes_against + event.votes_abstain
                assert cast == len(self.ballots[vote]) + self.hall_total[vote]
                assert cast <= len(self.ever_voters[vote]), "more votes than people who could vote"
                self.open_votes.discard(vote)
        for vote in self.open_votes:
            self.ever_voters[vote] |= self.voters_now()

    def check(self, state: MeetingState) -> None:
        # Attendance as the state has it is attendance as the events told it.
        assert {m for m in state.roster if state.is_present(m)} == set(self.present)
        # Quorum figures, recomputed: officials, exempt members only when present; never probationary or guests.
        eligible = [
            m
            for m, category in self.category.items()
            if category == Category.OFFICIAL or (category == Category.EXEMPT and m in self.present)
        ]
        present = sum(1 for m in eligible if m in self.present)
        ratio, strict = self.quorum_rule
        met = bool(eligible) and (Ratio(present, len(eligible)) > ratio if strict else present >= ratio * len(eligible))
        figures = quorum(state)
        assert (figures.eligible, figures.present, figures.met) == (len(eligible), present, met)
        assert figures.met == (figures.present >= figures.required)
        assert figures.present_in_room + figures.present_online == len(self.present)
        assert figures.present_online == sum(1 for mode in self.present.values() if mode == AttendanceMode.REMOTE)
        # Votes: each member once, the open one is the only open one.
        for vote_id, vote in state.votes.items():
            assert sorted(vote.ballots) == sorted(self.ballots[vote_id])
            assert (vote.status == VoteStatus.OPEN) == (vote_id == state.open_vote_id)


def check_shape(state: MeetingState) -> None:
    """Invariants of the state alone: one open item, one entry per member per queue, the floor not queued."""
    open_items = [item.id for item in state.agenda if item.status == ItemStatus.OPEN]
    assert open_items == ([state.current_item_id] if state.current_item_id else [])
    for queue in state.queues.values():
        members = [hand.member_id for hand in queue]
        assert len(members) == len(set(members))
        kinds = [hand.kind for hand in queue]
        assert kinds == sorted(kinds, key=lambda kind: kind != "point_of_order"), "points of order first"
    if state.floor is not None:
        assert state.is_present(state.floor.member_id)
        assert state.floor.item_id == state.current_item_id
        assert all(hand.member_id != state.floor.member_id for hand in state.queue(state.floor.item_id))
    for entry in state.minutes.values():
        assert entry.revisions and state.item(entry.item_id) is not None
    # Each entry, vote and conclusion stands once in its own item's minutes, and nothing else does.
    placed = [(item_id, place) for item_id, places in state.minute_order.items() for place in places]
    assert len(placed) == len(set(placed)), "something stands twice in the minutes"
    expected = {(e.item_id, MinutePlace("entry", e.id)) for e in state.minutes.values()}
    expected |= {(v.item_id, MinutePlace("vote", v.id)) for v in state.votes.values()}
    expected |= {(i.id, MinutePlace("conclusion", i.id)) for i in state.agenda if i.conclusion is not None}
    assert set(placed) == expected
    assert state.muted <= set(state.roster), "only members of the meeting are muted"
