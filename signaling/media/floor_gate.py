"""The floor gate: whose voice goes into the meeting's mix.

Only the floor holder(s) granted by the chair and the hall station (the room's microphone) are mixed, and
never anyone the chair has muted. The gate follows the journal alone (`floor_granted`, `floor_ended`,
`microphone_muted`, `microphone_unmuted`, `meeting_ended`): a mute is kept by member in the meeting's state, so a
muted member who reconnects, or a room opened later or on another node, is still muted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from meeting.domain import events as ev
from meeting.journal import RecordedEvent


@dataclass(frozen=True, order=True)
class Who:
    """A media participant: a member's device, or a hall station (numbered per station)."""

    kind: Literal["member", "hall"]
    id: int

    @classmethod
    def member(cls, member_id: int) -> Who:
        return cls("member", member_id)

    @classmethod
    def hall(cls, station: int) -> Who:
        return cls("hall", station)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


HALL = Who.hall(0)  # one hall station per meeting: a second one replaces the first


@dataclass(frozen=True)
class GateChange:
    """One change of who is heard, as the recording's sidecar keeps it."""

    kind: Literal["floor_granted", "floor_ended", "muted", "unmuted", "meeting_ended"]
    who: Who | None
    seq: int | None = None  # the journal event that caused it
    reason: str | None = None


@dataclass
class FloorGate:
    holders: set[int] = field(default_factory=set)  # member ids holding the floor
    muted: set[Who] = field(default_factory=set)
    ended: bool = False
    last_seq: int = 0  # the journal position the gate reflects

    def admits(self, who: Who) -> bool:
        if self.ended or who in self.muted:
            return False
        return who.kind == "hall" or who.id in self.holders

    def apply(self, recorded: RecordedEvent) -> GateChange | None:
        """Follow one journal event; the change it makes, if any. Events already seen are ignored."""
        if recorded.seq <= self.last_seq:
            return None
        self.last_seq = recorded.seq
        event = recorded.event
        if isinstance(event, ev.FloorGranted):
            self.holders.add(event.member_id)  # the journal ends a replaced holder's floor before the grant
            return GateChange("floor_granted", Who.member(event.member_id), recorded.seq)
        if isinstance(event, ev.FloorEnded):
            self.holders.discard(event.member_id)
            return GateChange("floor_ended", Who.member(event.member_id), recorded.seq, event.reason)
        if isinstance(event, ev.MicrophoneMuted | ev.MicrophoneUnmuted):
            who = HALL if event.hall else Who.member(event.member_id or 0)
            muted = isinstance(event, ev.MicrophoneMuted)
            if muted == (who in self.muted):
                return None
            (self.muted.add if muted else self.muted.discard)(who)
            return GateChange("muted" if muted else "unmuted", who, recorded.seq)
        if isinstance(event, ev.MeetingEnded):
            self.ended = True
            self.holders.clear()
            return GateChange("meeting_ended", None, recorded.seq)
        return None
