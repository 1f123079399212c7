"""decide(state, command, actor, now) -> events: every rule of a live meeting, as one pure function.

It reads the state, never changes it, and either returns the events that the command causes or
raises `Rejected` with a code from `meeting.errors`. The service appends what it returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import singledispatch

from meeting.domain import commands as cmd
from meeting.domain import events as ev
from meeting.domain.commands import Actor
from meeting.domain.model import (
    AttendanceMode,
    AttendanceStatus,
    HandKind,
    ItemStatus,
    MeetingState,
    MeetingStatus,
    MinutePlace,
    VoteStatus,
)
from meeting.domain.rules import hall_voters_without_ballot, may_vote, tally
from meeting.errors import Rejected


def decide(state: MeetingState, command: cmd.Command, actor: Actor, now: datetime) -> list[ev.Event]:
    if not state.opened:
        raise Rejected("journal_not_opened")
    # After the end only the minutes may still be completed (until the record is sealed).
    if state.status == MeetingStatus.ENDED and not isinstance(command, cmd.MINUTE_COMMANDS):
        raise Rejected("meeting_ended")
    return _decide(command, state, actor, now.isoformat())


def open_journal(state: MeetingState, opened: ev.JournalOpened) -> list[ev.Event]:
    """The first event of a journal, made by the service from the planned meeting."""
    if state.opened:
        raise Rejected("journal_already_opened")
    return [opened]


# -- who may do what -------------------------------------------------------------------------------
def _is_chair(state: MeetingState, actor: Actor) -> bool:
    return actor.kind == "member" and actor.member_id is not None and actor.member_id == state.chair_id


def _is_clerk(state: MeetingState, actor: Actor) -> bool:
    return actor.kind == "member" and actor.member_id is not None and actor.member_id == state.clerk_id


def _require_chair(state: MeetingState, actor: Actor, action: str) -> None:
    if not _is_chair(state, actor):
        raise Rejected("chair_only", status=403, action=action)


def _require_clerk(state: MeetingState, actor: Actor, action: str) -> None:
    if not _is_clerk(state, actor):
        raise Rejected("clerk_only", status=403, action=action)


def _require_started(state: MeetingState) -> None:
    if state.status != MeetingStatus.IN_PROGRESS:
        raise Rejected("meeting_not_started")


def _require_member(state: MeetingState, member_id: int | None) -> int:
    if member_id is None or member_id not in state.roster:
        raise Rejected("not_in_roster", status=404)
    return member_id


def _self_or(state: MeetingState, actor: Actor, member_id: int, allowed: bool) -> None:
    """A member acts for themselves; someone else only if `allowed` (their role says so)."""
    if actor.kind == "member" and actor.member_id == member_id:
        return
    if not allowed:
        raise Rejected("self_only", status=403)


def _item(state: MeetingState, item_id: str):
    item = state.item(item_id)
    if item is None:
        raise Rejected("unknown_item", status=404)
    return item


def _floor_end_events(state: MeetingState, reason: str, at: str) -> list[ev.Event]:
    if state.floor is None:
        return []
    return [ev.FloorEnded(at=at, member_id=state.floor.member_id, reason=reason)]


def _deadline(state: MeetingState, item_id: str, at: str) -> str | None:
    limit = _item(state, item_id).speaking_limit_s
    if not limit:
        return None
    return (datetime.fromisoformat(at) + timedelta(seconds=limit)).isoformat()


@singledispatch
def _decide(command, state: MeetingState, actor: Actor, at: str) -> list[ev.Event]:  # pragma: no cover
    raise TypeError(f"no rule for {type(command).__name__}")


# -- agenda ----------------------------------------------------------------------------------------
@_decide.register
def _(command: cmd.StartMeeting, state, actor, at):
    _require_chair(state, actor, "start the meeting")
    if state.status != MeetingStatus.SCHEDULED:
        raise Rejected("meeting_already_started")
    return [ev.MeetingStarted(at=at)]


@_decide.register
def _(command: cmd.EndMeeting, state, actor, at):
    _require_chair(state, actor, "end the meeting")
    _require_started(state)
    if state.open_vote_id is not None:
        raise Rejected("vote_open_blocks")
    events: list[ev.Event] = _floor_end_events(state, "meeting_ended", at)
    if state.current_item_id is not None:
        events.append(ev.ItemClosed(at=at, item_id=state.current_item_id))
    events.append(ev.MeetingEnded(at=at))
    return events


@_decide.register
def _(command: cmd.OpenItem, state, actor, at):
    _require_chair(state, actor, "open an agenda item")
    _require_started(state)
    item = _item(state, command.item_id)
    if item.status == ItemStatus.OPEN:
        raise Rejected("item_already_open")
    if state.open_vote_id is not None:
        raise Rejected("vote_open_blocks")
    events: list[ev.Event] = []
    if state.current_item_id is not None:
        events += _floor_end_events(state, "item_closed", at)
        events.append(ev.ItemClosed(at=at, item_id=state.current_item_id))
    events.append(ev.ItemOpened(at=at, item_id=item.id))
    return events


@_decide.register
def _(command: cmd.CloseItem, state, actor, at):
    _require_chair(state, actor, "close an agenda item")
    _require_started(state)
    item = _item(state, command.item_id)
    if item.status != ItemStatus.OPEN:
        raise Rejected("item_not_open")
    if state.open_vote_id is not None:
        raise Rejected("vote_open_blocks")
    return [*_floor_end_events(state, "item_closed", at), ev.ItemClosed(at=at, item_id=item.id)]


@_decide.register
def _(command: cmd.SkipItem, state, actor, at):
    _require_chair(state, actor, "skip an agenda item")
    item = _item(state, command.item_id)
    if item.status != ItemStatus.PENDING:
        raise Rejected("item_not_pending")
    return [ev.ItemSkipped(at=at, item_id=item.id)]


@_decide.register
def _(command: cmd.ReorderAgenda, state, actor, at):
    _require_chair(state, actor, "reorder the agenda")
    if len(command.order) != len(state.agenda) or set(command.order) != {i.id for i in state.agenda}:
        raise Rejected("bad_order", status=422)
    return [ev.AgendaReordered(at=at, order=list(command.order))]


@_decide.register
def _(command: cmd.ConcludeItem, state, actor, at):
    _require_chair(state, actor, "conclude an agenda item")
    _require_started(state)
    item = _item(state, command.item_id)
    if item.status not in (ItemStatus.OPEN, ItemStatus.CLOSED):
        raise Rejected("item_not_open")
    return [ev.ItemConcluded(at=at, item_id=item.id, text=command.text)]


# -- speaker queue ---------------------------------------------------------------------------------
def _current_item_id(state: MeetingState) -> str:
    if state.current_item_id is None:
        raise Rejected("no_open_item")
    return state.current_item_id


@_decide.register
def _(command: cmd.RaiseHand, state, actor, at):
    _require_started(state)
    member_id = _require_member(state, actor.member_id if actor.kind == "member" else None)
    if not state.is_present(member_id):
        raise Rejected("not_present")
    item_id = _current_item_id(state)
    queue = state.queue(item_id)
    if any(hand.member_id == member_id for hand in queue) or (
        state.floor is not None and state.floor.member_id == member_id
    ):
        raise Rejected("hand_already_raised")
    if command.kind == HandKind.POINT_OF_ORDER:
        # A point of order goes after earlier points of order and before every ordinary request.
        position = sum(1 for hand in queue if hand.kind == HandKind.POINT_OF_ORDER)
    else:
        position = len(queue)
    return [ev.HandRaised(at=at, member_id=member_id, item_id=item_id, kind=command.kind, position=position)]


@_decide.register
def _(command: cmd.LowerHand, state, actor, at):
    target = command.member_id if command.member_id is not None else actor.member_id
    member_id = _require_member(state, target)
    _self_or(state, actor, member_id, allowed=_is_chair(state, actor) or actor.kind == "system")
    item_id = _current_item_id(state)
    if not any(hand.member_id == member_id for hand in state.queue(item_id)):
        raise Rejected("hand_not_raised")
    return [ev.HandLowered(at=at, member_id=member_id, item_id=item_id, by=actor.member_id)]


def _grant(state: MeetingState, member_id: int, at: str) -> list[ev.Event]:
    item_id = _current_item_id(state)
    if not state.is_present(member_id):
        raise Rejected("not_present")
    events = _floor_end_events(state, "replaced", at)
    deadline = _deadline(state, item_id, at)
    return [*events, ev.FloorGranted(at=at, member_id=member_id, item_id=item_id, deadline=deadline)]


@_decide.register
def _(command: cmd.GrantFloor, state, actor, at):
    _require_chair(state, actor, "give the floor")
    _require_started(state)
    return _grant(state, _require_member(state, command.member_id), at)


@_decide.register
def _(command: cmd.NextSpeaker, state, actor, at):
    _require_chair(state, actor, "give the floor")
    _require_started(state)
    waiting = [hand for hand in state.queue(_current_item_id(state)) if state.is_present(hand.member_id)]
    if not waiting:
        raise Rejected("queue_empty")
    return _grant(state, waiting[0].member_id, at)


@_decide.register
def _(command: cmd.RevokeFloor, state, actor, at):
    _require_chair(state, actor, "take back the floor")
    if state.floor is None:
        raise Rejected("no_floor")
    return _floor_end_events(state, "revoked", at)


@_decide.register
def _(command: cmd.YieldFloor, state, actor, at):
    if state.floor is None:
        raise Rejected("no_floor")
    if actor.kind != "member" or actor.member_id != state.floor.member_id:
        raise Rejected("not_floor_holder", status=403)
    return _floor_end_events(state, "yielded", at)


@_decide.register
def _(command: cmd.EndExpiredFloor, state, actor, at):
    if state.floor is None:
        raise Rejected("no_floor")
    deadline = state.floor.deadline
    if deadline is None or datetime.fromisoformat(at) < datetime.fromisoformat(deadline):
        raise Rejected("time_not_up")
    return _floor_end_events(state, "time_up", at)


# -- microphones ----------------------------------------------------------------------------------
def _microphone(state: MeetingState, actor: Actor, command: cmd.MuteMicrophone | cmd.UnmuteMicrophone) -> int | None:
    """The member whose microphone the chair names (None: the hall station's)."""
    if not _is_chair(state, actor):
        raise Rejected("media_mute_chair_only", status=403)
    return None if command.hall else _require_member(state, command.member_id)


@_decide.register
def _(command: cmd.MuteMicrophone, state, actor, at):
    member_id = _microphone(state, actor, command)
    if state.is_muted(member_id):
        raise Rejected("microphone_already_muted")
    return [ev.MicrophoneMuted(at=at, member_id=member_id, hall=command.hall, by=actor.member_id)]


@_decide.register
def _(command: cmd.UnmuteMicrophone, state, actor, at):
    member_id = _microphone(state, actor, command)
    if not state.is_muted(member_id):
        raise Rejected("microphone_not_muted")
    return [ev.MicrophoneUnmuted(at=at, member_id=member_id, hall=command.hall, by=actor.member_id)]


# -- attendance ------------------------------------------------------------------------------------
@_decide.register
def _(command: cmd.CheckIn, state, actor, at):
    member_id = _require_member(state, command.member_id)
    # The clerk checks anyone in at the door; a member checks themselves in online; the service
    # checks in a remote member when their connection arrives.
    _self_or(state, actor, member_id, allowed=_is_clerk(state, actor) or actor.kind == "system")
    # Present in the room needs the room's proof: the clerk at the door, or the room's QR code scanned by the
    # member (the server marks the actor `in_room`). A member's own word, from home, records them online.
    if command.mode == AttendanceMode.IN_PERSON and not (_is_clerk(state, actor) or actor.in_room):
        raise Rejected("in_person_needs_room", status=403)
    record = state.attendance_of(member_id)
    if record.status == AttendanceStatus.PRESENT and record.mode == command.mode:
        raise Rejected("already_present")
    late = state.status == MeetingStatus.IN_PROGRESS and record.first_arrived_at is None
    returning = record.status == AttendanceStatus.LEFT
    return [
        ev.CheckedIn(at=at, member_id=member_id, mode=command.mode, late=late, returning=returning, by=actor.member_id)
    ]


@_decide.register
def _(command: cmd.Leave, state, actor, at):
    member_id = _require_member(state, command.member_id)
    _self_or(state, actor, member_id, allowed=_is_clerk(state, actor) or actor.kind == "system")
    if not state.is_present(member_id):
        raise Rejected("not_checked_in")
    events: list[ev.Event] = []
    if state.floor is not None and state.floor.member_id == member_id:
        events += _floor_end_events(state, "left", at)
    events.append(ev.Left(at=at, member_id=member_id, by=actor.member_id))
    return events


@_decide.register
def _(command: cmd.MarkAbsent, state, actor, at):
    # The service records absence notices sent before the meeting as the system.
    if actor.kind != "system":
        _require_clerk(state, actor, "record an absence")
    member_id = _require_member(state, command.member_id)
    if state.is_present(member_id):
        raise Rejected("present_cannot_be_absent")
    if state.attendance_of(member_id).status == AttendanceStatus.LEFT:
        # They attended: the record lists them present and leaving early; "absent" would erase that.
        raise Rejected("attended_cannot_be_absent")
    reason = command.reason.strip() if command.reason else None
    return [ev.MarkedAbsent(at=at, member_id=member_id, reason=reason or None)]


# -- votes -----------------------------------------------------------------------------------------
def _open_vote(state: MeetingState, vote_id: str):
    vote = state.votes.get(vote_id)
    if vote is None:
        raise Rejected("unknown_vote", status=404)
    if vote.status != VoteStatus.OPEN:
        raise Rejected("vote_not_open")
    return vote


@_decide.register
def _(command: cmd.OpenVote, state, actor, at):
    _require_chair(state, actor, "open a vote")
    _require_started(state)
    if state.open_vote_id is not None:
        raise Rejected("vote_already_open")
    if command.vote_id in state.votes:
        raise Rejected("vote_exists")
    item_id = command.item_id or _current_item_id(state)
    _item(state, item_id)
    return [ev.VoteOpened(at=at, vote_id=command.vote_id, item_id=item_id, question=command.question)]


@_decide.register
def _(command: cmd.CastBallot, state, actor, at):
    vote = _open_vote(state, command.vote_id)
    member_id = _require_member(state, actor.member_id if actor.kind == "member" else None)
    if not may_vote(state, member_id):
        raise Rejected("may_not_vote", status=403)
    if member_id in vote.ballots:
        raise Rejected("already_voted")
    # Members in the room are counted by the clerk's show of hands; a ballot from them too would
    # count one person twice.
    if state.attendance_of(member_id).mode == AttendanceMode.IN_PERSON:
        raise Rejected("in_room_votes_by_hand")
    # The same for a member the last show of hands may have counted who has since moved online.
    if member_id in vote.hall_counted:
        raise Rejected("counted_by_hand")
    return [ev.BallotCast(at=at, vote_id=vote.id, member_id=member_id, choice=command.choice)]


@_decide.register
def _(command: cmd.RecordHallCount, state, actor, at):
    _require_clerk(state, actor, "record the show of hands")
    vote = _open_vote(state, command.vote_id)
    counted = command.votes_for + command.votes_against + command.votes_abstain
    allowed = hall_voters_without_ballot(state, vote)
    if counted > allowed:
        raise Rejected("hall_count_too_high", status=422, counted=counted, allowed=allowed)
    return [
        ev.HallCountRecorded(
            at=at,
            vote_id=vote.id,
            votes_for=command.votes_for,
            votes_against=command.votes_against,
            votes_abstain=command.votes_abstain,
        )
    ]


@_decide.register
def _(command: cmd.CloseVote, state, actor, at):
    _require_chair(state, actor, "close a vote")
    vote = _open_vote(state, command.vote_id)
    result = tally(state, vote)
    return [
        ev.VoteClosed(
            at=at,
            vote_id=vote.id,
            votes_for=result.votes_for,
            votes_against=result.votes_against,
            votes_abstain=result.votes_abstain,
            not_voting=result.not_voting,
            basis=result.basis,
            passed=result.passed,
        )
    ]


# -- minutes ---------------------------------------------------------------------------------------
@_decide.register
def _(command: cmd.WriteEntry, state, actor, at):
    _require_clerk(state, actor, "write the minutes")
    if command.entry_id in state.minutes:
        raise Rejected("entry_exists")
    _item(state, command.item_id)
    if command.speaker_id is not None:
        _require_member(state, command.speaker_id)
    return [
        ev.EntryWritten(
            at=at,
            entry_id=command.entry_id,
            item_id=command.item_id,
            speaker_id=command.speaker_id,
            kind=command.kind,
            text=command.text,
            by=actor.member_id,
        )
    ]


@_decide.register
def _(command: cmd.ReviseEntry, state, actor, at):
    _require_clerk(state, actor, "revise the minutes")
    entry = state.minutes.get(command.entry_id)
    if entry is None:
        raise Rejected("unknown_entry", status=404)
    speaker_id = command.speaker_id if command.speaker_id is not None else entry.speaker_id
    if speaker_id is not None:
        _require_member(state, speaker_id)
    if command.text == entry.text and speaker_id == entry.speaker_id:
        raise Rejected("entry_unchanged")
    return [ev.EntryRevised(at=at, entry_id=entry.id, speaker_id=speaker_id, text=command.text, by=actor.member_id)]


@_decide.register
def _(command: cmd.MoveEntry, state, actor, at):
    _require_clerk(state, actor, "move entries in the minutes")
    entry = state.minutes.get(command.entry_id)
    if entry is None:
        raise Rejected("unknown_entry", status=404)
    places = state.minutes_of(entry.item_id)
    here = places.index(MinutePlace("entry", entry.id))
    there = here - 1 if command.direction == "up" else here + 1
    if there < 0:
        raise Rejected("entry_already_first")
    if there >= len(places):
        raise Rejected("entry_already_last")
    passed = places[there]
    return [
        ev.EntryMoved(
            at=at,
            entry_id=entry.id,
            item_id=entry.item_id,
            position=there,
            passed_kind=passed.kind,
            passed_ref=passed.ref,
            by=actor.member_id,
        )
    ]
