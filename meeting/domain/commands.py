"""Commands: what someone asks of a live meeting. Validated at the edge (API, hub), judged by `decide`.

The one who asks (`Actor`) and the time (`now`) never come from the command body: the service fills
them from the authenticated connection and its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from meeting.domain.model import AttendanceMode, Choice, EntryKind, HandKind
from meeting.inputs import DbId

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
MemberId = DbId
ShortText = Annotated[str, Field(min_length=1, max_length=1000)]
LongText = Annotated[str, Field(min_length=1, max_length=20000)]
Count = Annotated[int, Field(ge=0, le=10000)]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who issues a command: a member, the hall station, or the service itself (presence, timers)."""

    kind: Literal["member", "hall", "system"]
    member_id: int | None = None
    # The server checked that this member is in the meeting room (they scanned the room's QR code, meeting/web.py):
    # what lets a member check themselves in as present in person. Never taken from a command's body.
    in_room: bool = False

    @classmethod
    def member(cls, member_id: int, *, in_room: bool = False) -> Actor:
        return cls("member", member_id, in_room)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None)

    def to_json(self) -> dict:
        return {"kind": self.kind, "member_id": self.member_id}


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- agenda (chair) -------------------------------------------------------------------------------
class StartMeeting(_Command):
    type: Literal["start_meeting"] = "start_meeting"


class EndMeeting(_Command):
    type: Literal["end_meeting"] = "end_meeting"


class OpenItem(_Command):
    """Take up an item; the item open before it is closed (this is the chair's "next")."""

    type: Literal["open_item"] = "open_item"
    item_id: Id


class CloseItem(_Command):
    type: Literal["close_item"] = "close_item"
    item_id: Id


class SkipItem(_Command):
    type: Literal["skip_item"] = "skip_item"
    item_id: Id


class ReorderAgenda(_Command):
    type: Literal["reorder_agenda"] = "reorder_agenda"
    order: Annotated[list[Id], Field(max_length=100)]


class ConcludeItem(_Command):
    type: Literal["conclude_item"] = "conclude_item"
    item_id: Id
    text: LongText


# -- speaker queue --------------------------------------------------------------------------------
class RaiseHand(_Command):
    type: Literal["raise_hand"] = "raise_hand"
    kind: HandKind = HandKind.SPEAK


class LowerHand(_Command):
    """Lower one's own hand; the chair may name another member to take them off the queue."""

    type: Literal["lower_hand"] = "lower_hand"
    member_id: MemberId | None = None


class GrantFloor(_Command):
    type: Literal["grant_floor"] = "grant_floor"
    member_id: MemberId


class NextSpeaker(_Command):
    """Give the floor to whoever is first in the current item's queue."""

    type: Literal["next_speaker"] = "next_speaker"


class RevokeFloor(_Command):
    type: Literal["revoke_floor"] = "revoke_floor"


class YieldFloor(_Command):
    type: Literal["yield_floor"] = "yield_floor"


class EndExpiredFloor(_Command):
    """Sent by the service's timer when the speaking-time limit is reached."""

    type: Literal["end_expired_floor"] = "end_expired_floor"


# -- microphones (chair) --------------------------------------------------------------------------
class _Microphone(_Command):
    """Whose microphone: a member's (by id) or the hall station's (`hall`), never both."""

    member_id: MemberId | None = None
    hall: bool = False

    @model_validator(mode="after")
    def _one_microphone(self) -> _Microphone:
        if (self.member_id is None) != self.hall:
            raise ValueError("name either member_id or hall")
        return self


class MuteMicrophone(_Microphone):
    """The chair stops a microphone from being heard: the media plane no longer mixes it, whoever has the floor."""

    type: Literal["mute_microphone"] = "mute_microphone"


class UnmuteMicrophone(_Microphone):
    type: Literal["unmute_microphone"] = "unmute_microphone"


# -- attendance -----------------------------------------------------------------------------------
class CheckIn(_Command):
    type: Literal["check_in"] = "check_in"
    member_id: MemberId
    mode: AttendanceMode


class Leave(_Command):
    type: Literal["leave"] = "leave"
    member_id: MemberId


class MarkAbsent(_Command):
    type: Literal["mark_absent"] = "mark_absent"
    member_id: MemberId
    reason: Annotated[str | None, Field(max_length=500)] = None


# -- votes ----------------------------------------------------------------------------------------
class OpenVote(_Command):
    type: Literal["open_vote"] = "open_vote"
    vote_id: Id
    question: ShortText
    item_id: Id | None = None  # defaults to the item now open


class CastBallot(_Command):
    type: Literal["cast_ballot"] = "cast_ballot"
    vote_id: Id
    choice: Choice


class RecordHallCount(_Command):
    """The clerk's show-of-hands count in the room; a later count replaces an earlier one."""

    type: Literal["record_hall_count"] = "record_hall_count"
    vote_id: Id
    votes_for: Count
    votes_against: Count
    votes_abstain: Count


class CloseVote(_Command):
    type: Literal["close_vote"] = "close_vote"
    vote_id: Id


# -- minutes (clerk) ------------------------------------------------------------------------------
class WriteEntry(_Command):
    type: Literal["write_entry"] = "write_entry"
    entry_id: Id  # made by the client, so a replayed write is recognised
    item_id: Id
    text: LongText
    kind: EntryKind = EntryKind.OPINION
    speaker_id: MemberId | None = None


class ReviseEntry(_Command):
    type: Literal["revise_entry"] = "revise_entry"
    entry_id: Id
    text: LongText
    speaker_id: MemberId | None = None


class MoveEntry(_Command):
    """The clerk moves an entry one place up or down among what its item's minutes say (entries, votes, the
    chair's conclusion), so the record reads in the order things happened."""

    type: Literal["move_entry"] = "move_entry"
    entry_id: Id
    direction: Literal["up", "down"]


# The clerk's work on the minutes: the only commands still taken after the meeting ends (until the record is sealed).
MINUTE_COMMANDS = (WriteEntry, ReviseEntry, MoveEntry)

Command = Annotated[
    StartMeeting
    | EndMeeting
    | OpenItem
    | CloseItem
    | SkipItem
    | ReorderAgenda
    | ConcludeItem
    | RaiseHand
    | LowerHand
    | GrantFloor
    | NextSpeaker
    | RevokeFloor
    | YieldFloor
    | EndExpiredFloor
    | MuteMicrophone
    | UnmuteMicrophone
    | CheckIn
    | Leave
    | MarkAbsent
    | OpenVote
    | CastBallot
    | RecordHallCount
    | CloseVote
    | WriteEntry
    | ReviseEntry
    | MoveEntry,
    Field(discriminator="type"),
]

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


def parse_command(data: object) -> Command:
    """Validate a command from JSON-like data; raises pydantic.ValidationError."""
    return COMMAND_ADAPTER.validate_python(data)
