"""evolve(state, event) -> state: the meeting as a fold of its journal.

No checks here: `decide` refused everything that could not happen, so every event is applied as
it stands. Only the containers an event touches are copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import singledispatch

from meeting.domain import events as ev
from meeting.domain.model import (
    AgendaItem,
    Attendance,
    AttendanceStatus,
    Floor,
    Fraction,
    HallCount,
    Hand,
    HandKind,
    ItemStatus,
    MeetingState,
    MeetingStatus,
    MinuteEntry,
    MinutePlace,
    Participant,
    PersistentMap,
    Revision,
    Rules,
    Vote,
    VoteResult,
    VoteStatus,
    frozen_map,
)
from meeting.domain.rules import hall_voter_ids


def evolve(state: MeetingState, event: ev.Event) -> MeetingState:
    return _apply(event, state)


def fold(state: MeetingState, events: Iterable[ev.Event]) -> MeetingState:
    for event in events:
        state = _apply(event, state)
    return state


def _with(mapping, key, value):
    data = dict(mapping)
    data[key] = value
    return frozen_map(data)


def _with_entry(minutes, entry: MinuteEntry) -> PersistentMap:
    """The minutes with `entry` written or replaced: shared with the old map, not copied (a meeting's minutes
    grow all meeting long, and a copy per entry made a rebuild quadratic)."""
    shared = minutes if isinstance(minutes, PersistentMap) else PersistentMap(minutes)
    return shared.set(entry.id, entry)


def _placed(state: MeetingState, item_id: str, place: MinutePlace, position: int | None = None) -> Mapping:
    """The item's minutes with `place` (taken out if it was there) at `position`, or last."""
    places = [p for p in state.minutes_of(item_id) if p != place]
    places.insert(len(places) if position is None else position, place)
    return _with(state.minute_order, item_id, tuple(places))


def _appended(state: MeetingState, item_id: str, place: MinutePlace) -> Mapping:
    """The item's minutes with a new `place` last (an entry or a vote is placed once: nothing to take out)."""
    return _with(state.minute_order, item_id, (*state.minutes_of(item_id), place))


def _set_item(state: MeetingState, item_id: str, **changes) -> tuple[AgendaItem, ...]:
    return tuple(replace(item, **changes) if item.id == item_id else item for item in state.agenda)


@singledispatch
def _apply(event, state: MeetingState) -> MeetingState:  # pragma: no cover - every event is registered
    raise TypeError(f"no fold for {type(event).__name__}")


@_apply.register
def _(event: ev.JournalOpened, state: MeetingState) -> MeetingState:
    rules = event.rules
    queues = {
        item.id: tuple(Hand(member_id, HandKind.SPEAK, event.at) for member_id in item.designated_speakers)
        for item in event.agenda
        if item.designated_speakers
    }
    return replace(
        state,
        opened=True,
        branch_id=event.branch_id,
        title=event.title,
        kind=event.kind,
        place=event.place,
        scheduled_at=event.scheduled_at,
        chair_id=event.chair_id,
        clerk_id=event.clerk_id,
        rules=Rules(
            quorum=Fraction(rules.quorum_numerator, rules.quorum_denominator, rules.quorum_strict),
            majority=Fraction(rules.majority_numerator, rules.majority_denominator, rules.majority_strict),
        ),
        roster=frozen_map({r.member_id: Participant(r.member_id, r.name, r.category) for r in event.roster}),
        agenda=tuple(
            AgendaItem(id=a.id, title=a.title, kind=a.kind, speaking_limit_s=a.speaking_limit_s) for a in event.agenda
        ),
        queues=frozen_map(queues),
    )


@_apply.register
def _(event: ev.MeetingStarted, state: MeetingState) -> MeetingState:
    return replace(state, status=MeetingStatus.IN_PROGRESS, started_at=event.at)


@_apply.register
def _(event: ev.MeetingEnded, state: MeetingState) -> MeetingState:
    return replace(state, status=MeetingStatus.ENDED, ended_at=event.at)


@_apply.register
def _(event: ev.ItemOpened, state: MeetingState) -> MeetingState:
    return replace(state, agenda=_set_item(state, event.item_id, status=ItemStatus.OPEN), current_item_id=event.item_id)


@_apply.register
def _(event: ev.ItemClosed, state: MeetingState) -> MeetingState:
    current = None if state.current_item_id == event.item_id else state.current_item_id
    return replace(state, agenda=_set_item(state, event.item_id, status=ItemStatus.CLOSED), current_item_id=current)


@_apply.register
def _(event: ev.ItemSkipped, state: MeetingState) -> MeetingState:
    return replace(state, agenda=_set_item(state, event.item_id, status=ItemStatus.SKIPPED))


@_apply.register
def _(event: ev.AgendaReordered, state: MeetingState) -> MeetingState:
    by_id = {item.id: item for item in state.agenda}
    return replace(state, agenda=tuple(by_id[item_id] for item_id in event.order))


@_apply.register
def _(event: ev.ItemConcluded, state: MeetingState) -> MeetingState:
    # The conclusion stands where it was last given: a second conclusion replaces the first, after what came between.
    return replace(
        state,
        agenda=_set_item(state, event.item_id, conclusion=event.text),
        minute_order=_placed(state, event.item_id, MinutePlace("conclusion", event.item_id)),
    )


@_apply.register
def _(event: ev.HandRaised, state: MeetingState) -> MeetingState:
    queue = list(state.queue(event.item_id))
    queue.insert(event.position, Hand(event.member_id, event.kind, event.at))
    return replace(state, queues=_with(state.queues, event.item_id, tuple(queue)))


@_apply.register
def _(event: ev.HandLowered, state: MeetingState) -> MeetingState:
    queue = tuple(hand for hand in state.queue(event.item_id) if hand.member_id != event.member_id)
    return replace(state, queues=_with(state.queues, event.item_id, queue))


@_apply.register
def _(event: ev.FloorGranted, state: MeetingState) -> MeetingState:
    # Whoever is given the floor leaves the queue of that item.
    queue = tuple(hand for hand in state.queue(event.item_id) if hand.member_id != event.member_id)
    return replace(
        state,
        floor=Floor(event.member_id, event.item_id, event.at, event.deadline),
        queues=_with(state.queues, event.item_id, queue),
    )


@_apply.register
def _(event: ev.FloorEnded, state: MeetingState) -> MeetingState:
    return replace(state, floor=None)


@_apply.register
def _(event: ev.MicrophoneMuted, state: MeetingState) -> MeetingState:
    if event.hall:
        return replace(state, hall_muted=True)
    return replace(state, muted=state.muted | {event.member_id})


@_apply.register
def _(event: ev.MicrophoneUnmuted, state: MeetingState) -> MeetingState:
    if event.hall:
        return replace(state, hall_muted=False)
    return replace(state, muted=state.muted - {event.member_id})


@_apply.register
def _(event: ev.CheckedIn, state: MeetingState) -> MeetingState:
    before = state.attendance_of(event.member_id)
    record = Attendance(
        status=AttendanceStatus.PRESENT,
        mode=event.mode,
        first_arrived_at=before.first_arrived_at or event.at,
        late=before.late or event.late,
        reason=None,
    )
    return replace(state, attendance=_with(state.attendance, event.member_id, record))


@_apply.register
def _(event: ev.Left, state: MeetingState) -> MeetingState:
    record = replace(state.attendance_of(event.member_id), status=AttendanceStatus.LEFT)
    return replace(state, attendance=_with(state.attendance, event.member_id, record))


@_apply.register
def _(event: ev.MarkedAbsent, state: MeetingState) -> MeetingState:
    status = AttendanceStatus.ABSENT_EXCUSED if event.reason else AttendanceStatus.ABSENT_UNEXCUSED
    record = replace(state.attendance_of(event.member_id), status=status, reason=event.reason)
    return replace(state, attendance=_with(state.attendance, event.member_id, record))


@_apply.register
def _(event: ev.VoteOpened, state: MeetingState) -> MeetingState:
    vote = Vote(event.vote_id, event.item_id, event.question, VoteStatus.OPEN, event.at)
    return replace(
        state,
        votes=_with(state.votes, event.vote_id, vote),
        open_vote_id=event.vote_id,
        minute_order=_appended(state, event.item_id, MinutePlace("vote", event.vote_id)),
    )


@_apply.register
def _(event: ev.BallotCast, state: MeetingState) -> MeetingState:
    vote = state.votes[event.vote_id]
    vote = replace(vote, ballots=_with(vote.ballots, event.member_id, event.choice))
    return replace(state, votes=_with(state.votes, event.vote_id, vote))


@_apply.register
def _(event: ev.HallCountRecorded, state: MeetingState) -> MeetingState:
    vote = state.votes[event.vote_id]
    vote = replace(
        vote,
        hall_count=HallCount(event.votes_for, event.votes_against, event.votes_abstain),
        hall_counted=hall_voter_ids(state, vote),  # as `decide` saw the room when it accepted the count
    )
    return replace(state, votes=_with(state.votes, event.vote_id, vote))


@_apply.register
def _(event: ev.VoteClosed, state: MeetingState) -> MeetingState:
    result = VoteResult(
        event.votes_for, event.votes_against, event.votes_abstain, event.not_voting, event.basis, event.passed
    )
    vote = replace(state.votes[event.vote_id], status=VoteStatus.CLOSED, result=result)
    open_vote_id = None if state.open_vote_id == event.vote_id else state.open_vote_id
    return replace(state, votes=_with(state.votes, event.vote_id, vote), open_vote_id=open_vote_id)


@_apply.register
def _(event: ev.EntryWritten, state: MeetingState) -> MeetingState:
    entry = MinuteEntry(
        event.entry_id, event.item_id, event.speaker_id, event.kind, (Revision(event.text, event.at, event.by),)
    )
    return replace(
        state,
        minutes=_with_entry(state.minutes, entry),
        minute_order=_appended(state, event.item_id, MinutePlace("entry", event.entry_id)),
    )


@_apply.register
def _(event: ev.EntryRevised, state: MeetingState) -> MeetingState:
    entry = state.minutes[event.entry_id]
    entry = replace(
        entry,
        speaker_id=event.speaker_id,
        revisions=(*entry.revisions, Revision(event.text, event.at, event.by)),
    )
    return replace(state, minutes=_with_entry(state.minutes, entry))


@_apply.register
def _(event: ev.EntryMoved, state: MeetingState) -> MeetingState:
    place = MinutePlace("entry", event.entry_id)
    return replace(state, minute_order=_placed(state, event.item_id, place, event.position))
