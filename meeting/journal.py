"""The meeting journal: gap-free sequence numbers, each event chained to the one before by SHA-256.

hash(n) = SHA-256 of the canonical JSON of {meeting_id, seq, type, at, actor, command_id, payload,
prev_hash}, where prev_hash is hash(n-1) and the first event's prev_hash is GENESIS. Changing,
removing or reordering any event changes every hash after it, so the head hash seals the journal.

Each event of a client's command also keeps that command's digest (`command_digest`) beside its id: the same id
sent again is the same command only if the digest matches. The digest says nothing about what happened, only what
was asked, so it stays outside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from meeting.db.models import JournalEvent, Meeting
from meeting.domain.events import Event, event_from_json, event_to_json

GENESIS = "0" * 64


def canonical(data: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 kept as is (Vietnamese text included)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(
    *, meeting_id: int, seq: int, type: str, at: str, actor: str, command_id: str | None, payload: str, prev_hash: str
) -> str:
    body = {
        "meeting_id": meeting_id,
        "seq": seq,
        "type": type,
        "at": at,
        "actor": actor,
        "command_id": command_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as it stands in the journal, with its place in the chain."""

    meeting_id: int
    seq: int
    actor: str
    command_id: str | None
    event: Event
    prev_hash: str
    hash: str
    command_hash: str | None = None  # the digest of the client's command (`command_digest`), with its id

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def at(self) -> str:
        return self.event.at

    def to_json(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "seq": self.seq,
            "actor": self.actor,
            "command_id": self.command_id,
            "event": event_to_json(self.event),
            "hash": self.hash,
        }


def actor_label(kind: str, member_id: int | None) -> str:
    return f"member:{member_id}" if kind == "member" else kind


def command_digest(actor: str, command: Mapping[str, Any]) -> str:
    """What makes a command id sent twice the same command: SHA-256 of the canonical JSON of the caller's label
    and the command as validated (its type and every field, defaults filled in), so `{"type": "raise_hand"}` and
    `{"type": "raise_hand", "kind": "speak"}` are one command, and any other field value is another."""
    return hashlib.sha256(canonical({"actor": actor, "command": dict(command)})).hexdigest()


def seal(
    meeting_id: int, events: Sequence[Event], *, after_seq: int, head: str, actor: str, command_id: str | None
) -> list[RecordedEvent]:
    """Number and chain new events that follow the journal's current head."""
    return seal_rows(meeting_id, events, after_seq=after_seq, head=head, actor=actor, command_id=command_id)[0]


def seal_rows(
    meeting_id: int,
    events: Sequence[Event],
    *,
    after_seq: int,
    head: str,
    actor: str,
    command_id: str | None,
    command_hash: str | None = None,
) -> tuple[list[RecordedEvent], list[dict[str, Any]]]:
    """`seal`, with the journal rows to insert: each payload is serialised once, for its hash and its row."""
    recorded: list[RecordedEvent] = []
    rows: list[dict[str, Any]] = []
    prev = head
    for offset, event in enumerate(events, start=1):
        seq = after_seq + offset
        payload = canonical(event_to_json(event)).decode("utf-8")
        digest = chain_hash(
            meeting_id=meeting_id,
            seq=seq,
            type=event.type,
            at=event.at,
            actor=actor,
            command_id=command_id,
            payload=payload,
            prev_hash=prev,
        )
        recorded.append(RecordedEvent(meeting_id, seq, actor, command_id, event, prev, digest, command_hash))
        rows.append(
            {
                "meeting_id": meeting_id,
                "seq": seq,
                "type": event.type,
                "at": event.at,
                "actor": actor,
                "command_id": command_id,
                "command_hash": command_hash,
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return recorded, rows


# Built once: building and caching a statement costs more than running it on SQLite.
_INSERT_EVENTS = insert(JournalEvent.__table__)
_MOVE_HEAD = update(Meeting.__table__).where(Meeting.__table__.c.id == bindparam("meeting"))  # SET: the other params


def append_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert sealed rows and move the meeting's recorded head to the last of them, inside the caller's
    transaction. Plain statements, no unit of work: the insert runs at once, so the (meeting_id, seq) key
    refuses a second writer here, before anything else is written."""
    session.execute(_INSERT_EVENTS, rows)
    last = rows[-1]
    session.execute(
        _MOVE_HEAD, {"meeting": last["meeting_id"], "journal_seq": last["seq"], "journal_head": last["hash"]}
    )


def to_row(recorded: RecordedEvent) -> JournalEvent:
    return JournalEvent(
        meeting_id=recorded.meeting_id,
        seq=recorded.seq,
        type=recorded.type,
        at=recorded.at,
        actor=recorded.actor,
        command_id=recorded.command_id,
        command_hash=recorded.command_hash,
        payload=canonical(event_to_json(recorded.event)).decode("utf-8"),
        prev_hash=recorded.prev_hash,
        hash=recorded.hash,
    )


def from_row(row: JournalEvent) -> RecordedEvent:
    event = event_from_json(json.loads(row.payload))
    return RecordedEvent(
        row.meeting_id, row.seq, row.actor, row.command_id, event, row.prev_hash, row.hash, row.command_hash
    )


def read(session: Session, meeting_id: int, after_seq: int = 0, limit: int | None = None) -> list[RecordedEvent]:
    query = (
        select(JournalEvent)
        .where(JournalEvent.meeting_id == meeting_id, JournalEvent.seq > after_seq)
        .order_by(JournalEvent.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return [from_row(row) for row in session.scalars(query)]


def read_command(session: Session, meeting_id: int, command_id: str) -> list[RecordedEvent]:
    query = (
        select(JournalEvent)
        .where(JournalEvent.meeting_id == meeting_id, JournalEvent.command_id == command_id)
        .order_by(JournalEvent.seq)
    )
    return [from_row(row) for row in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    length: int
    head: str
    problem: str | None = None  # what broke first, and where


def verify_rows(meeting_id: int, rows: Iterable[JournalEvent]) -> Verification:
    """Recompute the chain from the stored rows: gaps, reordering and edited payloads all show."""
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            return Verification(False, expected_seq - 1, prev, f"gap: expected seq {expected_seq}, found {row.seq}")
        if row.prev_hash != prev:
            return Verification(False, expected_seq - 1, prev, f"seq {row.seq}: link to the previous event broken")
        digest = chain_hash(
            meeting_id=meeting_id,
            seq=row.seq,
            type=row.type,
            at=row.at,
            actor=row.actor,
            command_id=row.command_id,
            payload=row.payload,
            prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return Verification(False, expected_seq - 1, prev, f"seq {row.seq}: content does not match its hash")
        prev = digest
        expected_seq += 1
    return Verification(True, expected_seq - 1, prev)


def verify(session: Session, meeting_id: int) -> Verification:
    rows = session.scalars(select(JournalEvent).where(JournalEvent.meeting_id == meeting_id).order_by(JournalEvent.seq))
    result = verify_rows(meeting_id, rows)
    if not result.valid:
        return result
    # The chain alone cannot show that events were cut off its end: the meeting row keeps the head it last
    # committed (in the same transaction as the events), so a shortened journal no longer reaches it.
    meeting = session.get(Meeting, meeting_id)
    expected_seq = (meeting.journal_seq or 0) if meeting is not None else 0
    expected_head = (meeting.journal_head or GENESIS) if meeting is not None else GENESIS
    if (result.length, result.head) != (expected_seq, expected_head):
        problem = f"journal ends at seq {result.length}, the meeting recorded seq {expected_seq} and its hash"
        return Verification(False, result.length, result.head, problem)
    return result
