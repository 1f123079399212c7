"""The live meeting's state: plain frozen values, rebuilt by folding journal events.

Every container is replaced, never mutated, so `evolve` stays a pure function and an old state
can be kept (for instance to compare a rebuilt state with the live one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal


class Category(StrEnum):
    """Party member categories (DESIGN.md: domain rules)."""

    OFFICIAL = "official"  # chính thức: votes, counts in the quorum
    PROBATIONARY = "probationary"  # dự bị: attends and speaks, never votes
    EXEMPT = "exempt"  # miễn sinh hoạt: official, counted in the quorum only when present
    GUEST = "guest"  # cấp ủy cấp trên dự: may speak, never votes, never counted


VOTING_CATEGORIES = frozenset({Category.OFFICIAL, Category.EXEMPT})


class MeetingKind(StrEnum):
    REGULAR = "regular"  # thường kỳ (monthly)
    THEMATIC = "thematic"  # chuyên đề (quarterly)
    EXTRAORDINARY = "extraordinary"  # bất thường


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"


class ItemStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    SKIPPED = "skipped"


class AttendanceStatus(StrEnum):
    EXPECTED = "expected"  # nothing known yet
    PRESENT = "present"
    LEFT = "left"  # was present, has left (may return)
    ABSENT_EXCUSED = "absent_excused"  # vắng có lý do
    ABSENT_UNEXCUSED = "absent_unexcused"  # vắng không lý do


class AttendanceMode(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"


class HandKind(StrEnum):
    SPEAK = "speak"
    POINT_OF_ORDER = "point_of_order"  # jumps ahead of ordinary requests


class Choice(StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class VoteStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EntryKind(StrEnum):
    OPINION = "opinion"  # what a speaker said
    NOTE = "note"  # the clerk's own record (a report presented, a document read)
    CONCLUSION = "conclusion"  # the chair's conclusion of an item


@dataclass(frozen=True, slots=True)
class Fraction:
    """A threshold such as "more than 2/3": met when count/total > num/den (or >= if not strict)."""

    numerator: int
    denominator: int
    strict: bool = True

    def required(self, total: int) -> int:
        """Smallest count that meets the threshold out of `total`."""
        if total == 0:
            return 1  # nothing meets a threshold out of nobody (`met` is False): more than anyone present
        bound = self.numerator * total
        if self.strict:
            return bound // self.denominator + 1
        return -(-bound // self.denominator)

    def met(self, count: int, total: int) -> bool:
        if total == 0:
            return False
        if self.strict:
            return count * self.denominator > self.numerator * total
        return count * self.denominator >= self.numerator * total

    def describe(self) -> str:
        return f"{'>' if self.strict else '>='} {self.numerator}/{self.denominator}"


@dataclass(frozen=True, slots=True)
class Rules:
    """The branch's configurable rules, copied into the journal when the meeting opens."""

    quorum: Fraction = Fraction(2, 3, strict=True)
    majority: Fraction = Fraction(1, 2, strict=True)


@dataclass(frozen=True, slots=True)
class Participant:
    member_id: int
    name: str
    category: Category


@dataclass(frozen=True, slots=True)
class AgendaItem:
    id: str
    title: str
    kind: str
    status: ItemStatus = ItemStatus.PENDING
    speaking_limit_s: int | None = None
    conclusion: str | None = None


@dataclass(frozen=True, slots=True)
class Attendance:
    status: AttendanceStatus = AttendanceStatus.EXPECTED
    mode: AttendanceMode | None = None
    first_arrived_at: str | None = None
    late: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Hand:
    member_id: int
    kind: HandKind
    raised_at: str


@dataclass(frozen=True, slots=True)
class Floor:
    member_id: int
    item_id: str
    since: str
    deadline: str | None


@dataclass(frozen=True, slots=True)
class HallCount:
    votes_for: int
    votes_against: int
    votes_abstain: int


@dataclass(frozen=True, slots=True)
class VoteResult:
    votes_for: int
    votes_against: int
    votes_abstain: int
    not_voting: int
    basis: int  # the number the majority is taken over
    passed: bool


@dataclass(frozen=True, slots=True)
class Vote:
    id: str
    item_id: str
    question: str
    status: VoteStatus
    opened_at: str
    ballots: Mapping[int, Choice] = field(default_factory=lambda: MappingProxyType({}))
    hall_count: HallCount | None = None
    # Who the latest show of hands may have counted (voters in the room without a ballot then): they cannot
    # also cast a ballot after moving online, or one person would count twice.
    hall_counted: frozenset[int] = frozenset()
    result: VoteResult | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    text: str
    at: str
    by: int | None


@dataclass(frozen=True, slots=True)
class MinuteEntry:
    id: str
    item_id: str
    speaker_id: int | None
    kind: EntryKind
    revisions: tuple[Revision, ...]

    @property
    def text(self) -> str:
        return self.revisions[-1].text


@dataclass(frozen=True, slots=True)
class MinutePlace:
    """One thing an item's minutes say, in the order they are read: a minute entry, a vote, or the chair's
    conclusion of the item (`ref`: the entry's id, the vote's id, the item's id)."""

    kind: Literal["entry", "vote", "conclusion"]
    ref: str


def frozen_map(data: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(data or {}))


_HASH_BITS = 64
_HASH_MASK = (1 << _HASH_BITS) - 1


class _Bucket(dict):
    """Keys whose hashes are equal in every bit (past the trie's last level)."""


class PersistentMap(Mapping):
    """An immutable mapping in insertion order whose `set` returns a new map and leaves this one as it is.

    For maps that only grow through a meeting (the minutes): copying a dict for every entry made folding a
    journal quadratic. The new map shares almost everything with the old one: a hash trie of small dicts (32 slots
    a level, only the path to the key copied) for the values, and the keys in insertion order as full blocks of 32
    plus a short tail (only the tail copied; the tuple of blocks once every 32 new keys)."""

    __slots__ = ("_blocks", "_root", "_size", "_tail")

    def __init__(self, data: Mapping | None = None) -> None:
        self._root: dict = {}
        self._size = 0
        self._blocks: tuple[tuple, ...] = ()
        self._tail: tuple = ()
        for key, value in (data or {}).items():
            self._root, added = _assoc(self._root, 0, hash(key) & _HASH_MASK, key, value)
            if added:
                self._size += 1
                self._append_key(key)

    def set(self, key, value) -> PersistentMap:
        root, added = _assoc(self._root, 0, hash(key) & _HASH_MASK, key, value)
        new = PersistentMap.__new__(PersistentMap)
        new._root, new._size, new._blocks, new._tail = root, self._size + added, self._blocks, self._tail
        if added:
            new._append_key(key)
        return new

    def _append_key(self, key) -> None:  # only on a map no one else has seen yet
        if len(self._tail) == 32:
            self._blocks, self._tail = (*self._blocks, self._tail), ()
        self._tail = (*self._tail, key)

    def __getitem__(self, key):
        bits, node, shift = hash(key) & _HASH_MASK, self._root, 0
        while True:
            entry = node.get((bits >> shift) & 31)
            if entry is None:
                raise KeyError(key)
            if type(entry) is tuple:
                if entry[0] is key or entry[0] == key:
                    return entry[1]
                raise KeyError(key)
            if type(entry) is _Bucket:
                return entry[key]
            node, shift = entry, shift + 5

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        for block in self._blocks:
            yield from block
        yield from self._tail

    def __repr__(self) -> str:
        return f"PersistentMap({dict(self.items())!r})"


def _assoc(node: dict, shift: int, bits: int, key, value) -> tuple[dict, bool]:
    """A copy of the trie `node` with key -> value; whether the key is new."""
    index = (bits >> shift) & 31
    entry = node.get(index)
    copy = dict(node)
    added = True
    if entry is None:
        copy[index] = (key, value)
    elif type(entry) is tuple:
        if entry[0] is key or entry[0] == key:
            copy[index], added = (key, value), False
        else:
            copy[index] = _split(shift + 5, hash(entry[0]) & _HASH_MASK, entry, bits, (key, value))
    elif type(entry) is _Bucket:
        bucket = _Bucket(entry)
        added = key not in bucket
        bucket[key] = value
        copy[index] = bucket
    else:
        copy[index], added = _assoc(entry, shift + 5, bits, key, value)
    return copy, added


def _split(shift: int, bits_a: int, leaf_a: tuple, bits_b: int, leaf_b: tuple) -> dict:
    """The smallest subtrie that holds two keys which shared a slot."""
    if shift >= _HASH_BITS:
        return _Bucket((leaf_a, leaf_b))
    index_a, index_b = (bits_a >> shift) & 31, (bits_b >> shift) & 31
    if index_a != index_b:
        return {index_a: leaf_a, index_b: leaf_b}
    return {index_a: _split(shift + 5, bits_a, leaf_a, bits_b, leaf_b)}


@dataclass(frozen=True, slots=True)
class MeetingState:
    meeting_id: int
    opened: bool = False  # the journal has its first event
    branch_id: int = 0
    title: str = ""
    kind: MeetingKind = MeetingKind.REGULAR
    place: str = ""
    scheduled_at: str | None = None
    status: MeetingStatus = MeetingStatus.SCHEDULED
    chair_id: int | None = None
    clerk_id: int | None = None
    rules: Rules = Rules()
    roster: Mapping[int, Participant] = field(default_factory=frozen_map)
    agenda: tuple[AgendaItem, ...] = ()
    current_item_id: str | None = None
    attendance: Mapping[int, Attendance] = field(default_factory=frozen_map)
    queues: Mapping[str, tuple[Hand, ...]] = field(default_factory=frozen_map)  # per agenda item
    floor: Floor | None = None
    muted: frozenset[int] = frozenset()  # members whose microphone the chair muted (kept across reconnects)
    hall_muted: bool = False  # the hall station's microphone muted by the chair
    votes: Mapping[str, Vote] = field(default_factory=frozen_map)
    open_vote_id: str | None = None
    minutes: Mapping[str, MinuteEntry] = field(default_factory=PersistentMap)  # grows all meeting: shared
    # Per agenda item, what its minutes say in reading order: entries, votes and the chair's conclusion where
    # they happened, then as the clerk moved the entries.
    minute_order: Mapping[str, tuple[MinutePlace, ...]] = field(default_factory=frozen_map)
    started_at: str | None = None
    ended_at: str | None = None

    def item(self, item_id: str) -> AgendaItem | None:
        for item in self.agenda:
            if item.id == item_id:
                return item
        return None

    def attendance_of(self, member_id: int) -> Attendance:
        return self.attendance.get(member_id) or Attendance()

    def is_present(self, member_id: int) -> bool:
        return self.attendance_of(member_id).status == AttendanceStatus.PRESENT

    def is_muted(self, member_id: int | None) -> bool:
        """Whether the chair muted this member's microphone, or the hall's when `member_id` is None."""
        return self.hall_muted if member_id is None else member_id in self.muted

    def minutes_of(self, item_id: str) -> tuple[MinutePlace, ...]:
        return self.minute_order.get(item_id, ())

    def queue(self, item_id: str | None = None) -> tuple[Hand, ...]:
        key = item_id if item_id is not None else self.current_item_id
        if key is None:
            return ()
        return self.queues.get(key, ())
