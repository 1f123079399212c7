"""The official record's content as plain values: what the minutes say, before any layout.

A `Minutes` value is made from a meeting's journal plus a few facts the journal does not hold (the document
header, the resolution drafted at the meeting, the previous resolution's action items, recording offsets).
Those facts are gathered into `RecordContext` once, and frozen inside the sealed snapshot, so the same journal
and the same context always give the same `Minutes` and therefore the same content hash.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

from meeting.journal import canonical


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Header(_Value):
    organisation: str  # the upper committee, e.g. "Đảng bộ xã Tân Lập"
    branch_name: str  # e.g. "Chi bộ thôn Đông"
    locality: str  # the place in the date line, e.g. "Tân Lập"
    number: str  # e.g. "05-BB/CB"
    chair_role: str = "member"  # the chair's role in the branch: secretary | deputy | member


class Person(_Value):
    member_id: int
    name: str


class Absentee(_Value):
    member_id: int
    name: str
    reason: str | None = None


class Moment(_Value):
    """Someone who arrived late or left early, and when."""

    member_id: int
    name: str
    at: str


class AttendanceFigures(_Value):
    total: int  # the branch's members on the roster (guests not counted)
    official: int  # official members, those exempt from meetings included
    probationary: int
    exempt: int
    present: int  # members of the branch who attended (at any time)
    present_in_room: int
    present_online: int
    absent_excused: list[Absentee]
    absent_unexcused: list[Absentee]
    exempt_not_attending: list[Person]
    late: list[Moment]
    left_early: list[Moment]
    quorum_rule: str  # e.g. "> 2/3"
    quorum_eligible: int
    quorum_present: int
    quorum_required: int
    quorum_met: bool


class RecordingLink(_Value):
    audio: str  # the recording's file name
    offset_s: float  # seconds into it where the speaker began


class RecordingFile(_Value):
    """One file of the meeting's audio, listed once in the record's appendix: the body only gives offsets into it."""

    name: str
    duration_s: float | None = None  # known when the recorder closed the file cleanly
    size: int | None = None  # bytes; None: the file named by its index is not on disk
    sha256: str | None = None


class Entry(_Value):
    entry_id: str
    kind: str  # opinion | note | conclusion
    speaker_id: int | None
    speaker: str | None
    text: str
    at: str  # when the speaker was given the floor for it, else when it was written
    revisions: int
    recording: RecordingLink | None = None


class VoteRecord(_Value):
    vote_id: str
    question: str
    opened_at: str
    closed_at: str | None
    votes_for: int
    votes_against: int
    votes_abstain: int
    not_voting: int
    basis: int
    passed: bool
    majority_rule: str
    hall_for: int | None = None  # the show of hands in the room, when there was one
    hall_against: int | None = None
    hall_abstain: int | None = None
    online_ballots: int = 0


class ActionRow(_Value):
    """One "5 rõ" task: who does it, what, by when, who answers for it, what result; with its status."""

    action_id: int
    assignee_id: int | None
    assignee: str
    task: str
    deadline: str | None  # local date, ISO
    responsible: str
    expected_result: str
    status: str  # open | done | overdue
    meeting_id: int | None = None  # the meeting whose resolution gave it


class ResolutionRecord(_Value):
    resolution_id: int
    title: str
    text: str
    actions: list[ActionRow]


class Part(_Value):
    """One thing an item's minutes say, in reading order: an entry (by id), a vote (by id), the chair's conclusion."""

    kind: str  # entry | vote | conclusion
    ref: str


class ItemRecord(_Value):
    number: int
    item_id: str
    title: str
    kind: str
    status: str  # closed | skipped | pending | open
    opened_at: str | None
    closed_at: str | None
    entries: list[Entry]  # in reading order
    conclusion: str | None
    votes: list[VoteRecord]
    review: list[ActionRow] = []  # the "review of the last resolution" item: the earlier action items
    parts: list[Part] = []  # entries, votes and the conclusion interleaved as they are read


class RecordContext(_Value):
    """What the record needs beyond the journal, gathered from the database when the draft is made."""

    header: Header
    resolutions: list[ResolutionRecord] = []
    review: list[ActionRow] = []
    recordings: dict[int, RecordingLink] = {}  # journal seq of a floor grant -> where its audio starts
    recording_files: list[RecordingFile] = []  # the meeting's audio files, in the order they were recorded


class Minutes(_Value):
    meeting_id: int
    header: Header
    title: str
    kind: str
    place: str
    scheduled_at: str | None
    started_at: str | None
    ended_at: str | None
    chair: Person | None
    clerk: Person | None
    guests: list[Person]
    attendance: AttendanceFigures
    items: list[ItemRecord]
    resolutions: list[ResolutionRecord]
    adoption: VoteRecord | None
    journal_seq: int
    journal_head: str
    recordings: list[RecordingFile] = []  # the appendix: each audio file once, with its SHA-256

    def canonical(self) -> bytes:
        return canonical(self.model_dump(mode="json"))

    def content_sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


class Signer(_Value):
    role: str  # chair | clerk
    member_id: int | None
    name: str
    signed_at: str | None = None  # None: not signed (yet)


class Addendum(_Value):
    """A correction to a sealed record: never an edit, a new signed document that points at the one it corrects."""

    meeting_id: int
    header: Header
    number: int
    record_number: str
    record_date: str | None
    record_content_sha256: str
    previous_sha256: str  # the record's, or the previous addendum's content hash: the corrections form a chain
    text: str
    written_by: str
    written_at: str

    def canonical(self) -> bytes:
        return canonical(self.model_dump(mode="json"))

    def content_sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
