"""The meeting service: runs commands against live meetings and appends what they cause.

For each command: take the meeting's lock, `decide` on the cached state, number and chain the events,
insert them and update the projection tables in one transaction, then fold them into the cache and
tell the listeners (the live hub). A failed transaction drops the cache so the next command reloads
the meeting from its journal.

A command to a meeting whose journal is not open yet opens it, if the one asking may open the meeting (its
preparers: `may_open`), and the opening and the command are one append: both land or neither does, so a refused
command leaves the meeting unopened and its plan editable. Anyone else is told `journal_not_opened`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meeting import journal, projection
from meeting.db.models import Branch, Meeting, Member
from meeting.domain import Actor, Command, MeetingState, decide, evolve, fold, open_journal
from meeting.domain import events as ev
from meeting.errors import Rejected
from meeting.journal import GENESIS, RecordedEvent
from meeting.planning import notified_absences

Listener = Callable[[int, list[RecordedEvent]], None]
# Checks outside the pure core, run inside the meeting's lock before `decide`; they raise `Rejected` to refuse
# (the official record refuses minute edits once sealed: meeting.record.seal).
Guard = Callable[[int, MeetingState, Command, Actor], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Live:
    """A meeting held in memory: its folded state, its journal head and the client command ids in its journal,
    each with the digest of its command (`journal.command_digest`).

    The ids are all those of the journal up to `seq` (loaded with it, then added as commands commit), so a new id
    needs no query: the journal cannot hold it below `seq`, and an append above `seq` by anyone else makes ours
    fail on the (meeting_id, seq) key, which drops this cache. Only a retried id goes to the database."""

    __slots__ = ("command_ids", "head", "seq", "state")

    def __init__(self, state: MeetingState, seq: int, head: str, command_ids: dict[str, str | None]) -> None:
        self.state = state
        self.seq = seq
        self.head = head
        self.command_ids = command_ids


@dataclass(frozen=True, slots=True)
class _Batch:
    """Events to append under one actor and command id (the opening is the system's, the command its caller's)."""

    events: list[ev.Event]
    actor: str
    command_id: str | None = None
    command_hash: str | None = None


class MeetingService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock
        self.listeners: list[Listener] = []
        self.guards: list[Guard] = []
        self._live: dict[int, _Live] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # SQLite takes one writer at a time, and a writer that finds it busy sleeps (1, 2, 5, 10 ms, then longer)
        # before trying again; with many live meetings, waiting on our own lock hands the turn over at once.
        bind = sessions.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer: contextlib.AbstractContextManager = threading.Lock() if sqlite else contextlib.nullcontext()

    # -- reading ---------------------------------------------------------------------------------------
    def state(self, meeting_id: int) -> tuple[MeetingState, int]:
        """The meeting's current state and the sequence number it reflects."""
        with self._lock(meeting_id):
            live = self._load(meeting_id)
            return live.state, live.seq

    def events_after(self, meeting_id: int, after_seq: int, limit: int | None = None) -> list[RecordedEvent]:
        with self.sessions() as session:
            self._require_meeting(session, meeting_id)
            return journal.read(session, meeting_id, after_seq, limit)

    def rebuild(self, meeting_id: int) -> tuple[MeetingState, int]:
        """Fold the whole journal from scratch (no cache): what the meeting is, by its record alone."""
        with self.sessions() as session:
            self._require_meeting(session, meeting_id)
            recorded = journal.read(session, meeting_id)
        state = fold(MeetingState(meeting_id=meeting_id), (r.event for r in recorded))
        return state, recorded[-1].seq if recorded else 0

    def forget(self, meeting_id: int) -> None:
        """Drop the cached meeting (another node took it, or a test wants a cold start)."""
        with self._lock(meeting_id):
            self._live.pop(meeting_id, None)

    # -- writing ---------------------------------------------------------------------------------------
    def execute(
        self,
        meeting_id: int,
        command: Command,
        actor: Actor,
        command_id: str | None = None,
        *,
        may_open: bool | None = None,
    ) -> list[RecordedEvent]:
        """Run one command; returns the events it caused (those of the first run, for a retried id).

        `command_id` is the client's own id; it is kept per actor, so one member's ids never collide with
        another's, and the same command sent again by the same actor (over HTTP or the hub) counts once; the same
        id with another command is refused (`command_id_reused`).

        `may_open`: whether the one asking may open the meeting if its journal is not open yet (the routes say it
        from the token: meeting.api.access.may_prepare); None leaves it to the plan: its chair or clerk."""
        label = journal.actor_label(actor.kind, actor.member_id)
        with self._lock(meeting_id):
            scoped_id = None if command_id is None else f"{label}/{command_id}"
            digest = None if command_id is None else journal.command_digest(label, command.model_dump(mode="json"))
            recorded, appended = self._run_locked(meeting_id, command, actor, scoped_id, digest, may_open)
            if appended:  # a retry's events were told when they were appended
                self._notify(meeting_id, recorded)
        return recorded

    async def execute_async(
        self,
        meeting_id: int,
        command: Command,
        actor: Actor,
        command_id: str | None = None,
        *,
        may_open: bool | None = None,
    ) -> list[RecordedEvent]:
        """The same from the event loop: the database work runs in a worker thread."""
        run = functools.partial(self.execute, meeting_id, command, actor, command_id, may_open=may_open)
        return await anyio.to_thread.run_sync(run)

    def open(self, meeting_id: int) -> list[RecordedEvent]:
        """Open the meeting's journal from its plan (idempotent: an open journal is left as it is). The caller has
        checked that the one asking may open it."""
        with self._lock(meeting_id):
            live = self._load(meeting_id)
            if live.state.opened:
                return []
            recorded = self._append(meeting_id, live, [_Batch(self._opening_events(meeting_id, live), "system")])
            self._notify(meeting_id, recorded)
        return recorded

    @contextlib.contextmanager
    def exclusive(self, meeting_id: int) -> Iterator[tuple[MeetingState, int]]:
        """Hold the meeting's lock (no command runs meanwhile) and see its state and sequence number: the record
        is sealed at a journal head that cannot move under it."""
        with self._lock(meeting_id):
            live = self._load(meeting_id)
            yield live.state, live.seq

    # -- internals -------------------------------------------------------------------------------------
    def _run_locked(
        self,
        meeting_id: int,
        command: Command,
        actor: Actor,
        command_id: str | None,
        digest: str | None,
        may_open: bool | None,
    ) -> tuple[list[RecordedEvent], bool]:
        """The command's events, and whether they were appended now (False: a retry, answered from the journal)."""
        live = self._load(meeting_id)
        if command_id is not None and command_id in live.command_ids:
            recorded_digest = live.command_ids[command_id]
            if recorded_digest is not None and recorded_digest != digest:
                raise Rejected("command_id_reused", status=409)
            with self.sessions() as session:
                earlier = journal.read_command(session, meeting_id, command_id)
            if earlier:
                return earlier, False
        batches: list[_Batch] = []
        state = live.state
        if not state.opened:
            opening = self._opening_events(meeting_id, live)
            opened = opening[0]
            assert isinstance(opened, ev.JournalOpened)
            if not self._may_open(opened, actor, may_open):
                raise Rejected("journal_not_opened")
            # The opening is the system's, caused by this command: it carries the command's id, so the command sent
            # again is answered with the same events, the opening included.
            batches.append(_Batch(opening, "system", command_id, digest))
            state = fold(state, opening)  # the command is judged on the meeting as it opens
        for guard in list(self.guards):
            guard(meeting_id, state, command, actor)
        events = decide(state, command, actor, self.clock())
        label = journal.actor_label(actor.kind, actor.member_id)
        batches.append(_Batch(events, label, command_id, digest))
        return self._append(meeting_id, live, batches), True

    @staticmethod
    def _may_open(opened: ev.JournalOpened, actor: Actor, may_open: bool | None) -> bool:
        if may_open is not None:
            return may_open
        return actor.kind == "member" and actor.member_id in (opened.chair_id, opened.clerk_id)

    def _append(self, meeting_id: int, live: _Live, batches: list[_Batch]) -> list[RecordedEvent]:
        """Seal the batches one after the other and write them in one transaction: all of them land or none."""
        recorded: list[RecordedEvent] = []
        rows: list[dict] = []
        seq, head = live.seq, live.head
        for batch in batches:
            sealed, sealed_rows = journal.seal_rows(
                meeting_id,
                batch.events,
                after_seq=seq,
                head=head,
                actor=batch.actor,
                command_id=batch.command_id,
                command_hash=batch.command_hash,
            )
            if sealed:
                seq, head = sealed[-1].seq, sealed[-1].hash
            recorded += sealed
            rows += sealed_rows
        if not recorded:
            return recorded
        try:
            with self._writer, self.sessions.begin() as session:
                journal.append_rows(session, rows)  # the (meeting_id, seq) key refuses a second writer here
                for r in recorded:
                    projection.project(session, r)
        except Exception:
            self._live.pop(meeting_id, None)
            raise
        state = live.state
        for r in recorded:
            state = evolve(state, r.event)
        live.state, live.seq, live.head = state, seq, head
        for batch in batches:
            if batch.command_id is not None and batch.events:
                live.command_ids[batch.command_id] = batch.command_hash
        return recorded

    def _opening_events(self, meeting_id: int, live: _Live) -> list[ev.Event]:
        now = self.clock()
        with self.sessions() as session:
            opened = build_journal_opened(session, meeting_id, now)
            # Absences notified before the meeting pre-fill the attendance log (meeting.planning).
            notified = notified_absences(session, meeting_id, now)
        return [*open_journal(live.state, opened), *notified]

    def _load(self, meeting_id: int) -> _Live:
        live = self._live.get(meeting_id)
        if live is None:
            with self.sessions() as session:
                self._require_meeting(session, meeting_id)
                recorded = journal.read(session, meeting_id)
            state = fold(MeetingState(meeting_id=meeting_id), (r.event for r in recorded))
            command_ids = {r.command_id: r.command_hash for r in recorded if r.command_id is not None}
            live = _Live(
                state,
                recorded[-1].seq if recorded else 0,
                recorded[-1].hash if recorded else GENESIS,
                command_ids,
            )
            self._live[meeting_id] = live
        return live

    @staticmethod
    def _require_meeting(session: Session, meeting_id: int) -> Meeting:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise Rejected("not_found", status=404, what="meeting")
        return meeting

    def _notify(self, meeting_id: int, recorded: list[RecordedEvent]) -> None:
        """Listeners are told inside the meeting's lock, so in sequence order, from whichever thread
        appended: they must not block (the live hub hands the events over to its event loop)."""
        if recorded:
            for listener in list(self.listeners):
                listener(meeting_id, recorded)

    def _lock(self, meeting_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(meeting_id, threading.Lock())


def build_journal_opened(session: Session, meeting_id: int, now: datetime) -> ev.JournalOpened:
    """The planned meeting (roster, agenda, branch rules) as the journal's first event."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    branch = session.get(Branch, meeting.branch_id)
    assert branch is not None
    members = session.scalars(
        select(Member).where(Member.branch_id == branch.id, Member.active.is_(True)).order_by(Member.id)
    )
    return ev.JournalOpened(
        at=now.isoformat(),
        meeting_id=meeting.id,
        branch_id=branch.id,
        title=meeting.title,
        kind=meeting.kind,
        place=meeting.place,
        scheduled_at=meeting.scheduled_at.isoformat() if meeting.scheduled_at else None,
        chair_id=meeting.chair_id,
        clerk_id=meeting.clerk_id,
        roster=[ev.RosterEntry(member_id=m.id, name=m.full_name, category=m.category) for m in members],
        agenda=[
            ev.AgendaEntry(
                id=item.id,
                title=item.title,
                kind=item.kind,
                speaking_limit_s=item.speaking_limit_s,
                designated_speakers=list(item.designated_speakers or []),
            )
            for item in meeting.agenda
        ],
        rules=ev.RulesEntry(
            quorum_numerator=branch.quorum_numerator,
            quorum_denominator=branch.quorum_denominator,
            quorum_strict=branch.quorum_strict,
            majority_numerator=branch.majority_numerator,
            majority_denominator=branch.majority_denominator,
            majority_strict=branch.majority_strict,
        ),
    )
