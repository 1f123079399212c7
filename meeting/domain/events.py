"""Events: what happened in a meeting, as appended to its journal. Facts in the past tense.

Each event carries everything `evolve` needs (times included), so folding the journal needs nothing
but the journal. Field names are part of the journal's hashed encoding: rename nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from meeting.domain.model import AttendanceMode, Category, Choice, EntryKind, HandKind, MeetingKind


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: str  # ISO 8601, UTC, from the service's clock


class RosterEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    member_id: int
    name: str
    category: Category


class AgendaEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    title: str
    kind: str
    speaking_limit_s: int | None = None
    designated_speakers: list[int] = []  # pre-placed in the item's queue (prepared opinions)


class RulesEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    quorum_numerator: int = 2
    quorum_denominator: int = 3
    quorum_strict: bool = True
    majority_numerator: int = 1
    majority_denominator: int = 2
    majority_strict: bool = True


class JournalOpened(_Event):
    """First event of every journal: the meeting as planned, copied so the journal stands alone."""

    type: Literal["journal_opened"] = "journal_opened"
    meeting_id: int
    branch_id: int
    title: str
    kind: MeetingKind
    place: str
    scheduled_at: str | None
    chair_id: int | None
    clerk_id: int | None
    roster: list[RosterEntry]
    agenda: list[AgendaEntry]
    rules: RulesEntry


class MeetingStarted(_Event):
    type: Literal["meeting_started"] = "meeting_started"


class MeetingEnded(_Event):
    type: Literal["meeting_ended"] = "meeting_ended"


class ItemOpened(_Event):
    type: Literal["item_opened"] = "item_opened"
    item_id: str


class ItemClosed(_Event):
    type: Literal["item_closed"] = "item_closed"
    item_id: str


class ItemSkipped(_Event):
    type: Literal["item_skipped"] = "item_skipped"
    item_id: str


class AgendaReordered(_Event):
    type: Literal["agenda_reordered"] = "agenda_reordered"
    order: list[str]


class ItemConcluded(_Event):
    type: Literal["item_concluded"] = "item_concluded"
    item_id: str
    text: str


class HandRaised(_Event):
    type: Literal["hand_raised"] = "hand_raised"
    member_id: int
    item_id: str
    kind: HandKind
    position: int  # place in the queue after insertion, 0-based


class HandLowered(_Event):
    type: Literal["hand_lowered"] = "hand_lowered"
    member_id: int
    item_id: str
    by: int | None


class FloorGranted(_Event):
    type: Literal["floor_granted"] = "floor_granted"
    member_id: int
    item_id: str
    deadline: str | None


class FloorEnded(_Event):
    type: Literal["floor_ended"] = "floor_ended"
    member_id: int
    reason: Literal["revoked", "yielded", "time_up", "replaced", "item_closed", "left", "meeting_ended"]


class MicrophoneMuted(_Event):
    """The chair muted a microphone: `member_id`'s, or the hall station's when `hall` (then `member_id` is None)."""

    type: Literal["microphone_muted"] = "microphone_muted"
    member_id: int | None
    hall: bool
    by: int | None


class MicrophoneUnmuted(_Event):
    type: Literal["microphone_unmuted"] = "microphone_unmuted"
    member_id: int | None
    hall: bool
    by: int | None


class CheckedIn(_Event):
    type: Literal["checked_in"] = "checked_in"
    member_id: int
    mode: AttendanceMode
    late: bool
    returning: bool  # was present before and had left
    by: int | None


class Left(_Event):
    type: Literal["left"] = "left"
    member_id: int
    by: int | None


class MarkedAbsent(_Event):
    type: Literal["marked_absent"] = "marked_absent"
    member_id: int
    reason: str | None  # a reason makes the absence excused


class VoteOpened(_Event):
    type: Literal["vote_opened"] = "vote_opened"
    vote_id: str
    item_id: str
    question: str


class BallotCast(_Event):
    type: Literal["ballot_cast"] = "ballot_cast"
    vote_id: str
    member_id: int
    choice: Choice


class HallCountRecorded(_Event):
    type: Literal["hall_count_recorded"] = "hall_count_recorded"
    vote_id: str
    votes_for: int
    votes_against: int
    votes_abstain: int


class VoteClosed(_Event):
    type: Literal["vote_closed"] = "vote_closed"
    vote_id: str
    votes_for: int
    votes_against: int
    votes_abstain: int
    not_voting: int
    basis: int
    passed: bool


class EntryWritten(_Event):
    type: Literal["entry_written"] = "entry_written"
    entry_id: str
    item_id: str
    speaker_id: int | None
    kind: EntryKind
    text: str
    by: int | None


class EntryRevised(_Event):
    type: Literal["entry_revised"] = "entry_revised"
    entry_id: str
    speaker_id: int | None
    text: str
    by: int | None


class EntryMoved(_Event):
    """An entry now stands at `position` (0-based) among what its item's minutes say, votes and conclusion included."""

    type: Literal["entry_moved"] = "entry_moved"
    entry_id: str
    item_id: str
    position: int
    passed_kind: Literal["entry", "vote", "conclusion"]  # what it moved past, now on its other side
    passed_ref: str
    by: int | None


Event = Annotated[
    JournalOpened
    | MeetingStarted
    | MeetingEnded
    | ItemOpened
    | ItemClosed
    | ItemSkipped
    | AgendaReordered
    | ItemConcluded
    | HandRaised
    | HandLowered
    | FloorGranted
    | FloorEnded
    | MicrophoneMuted
    | MicrophoneUnmuted
    | CheckedIn
    | Left
    | MarkedAbsent
    | VoteOpened
    | BallotCast
    | HallCountRecorded
    | VoteClosed
    | EntryWritten
    | EntryRevised
    | EntryMoved,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(data: dict) -> Event:
    return EVENT_ADAPTER.validate_python(data)


def event_to_json(event: Event) -> dict:
    return event.model_dump(mode="json")
