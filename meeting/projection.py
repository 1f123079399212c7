"""The relational tables that mirror a meeting's journal, kept in step inside the append transaction.

They answer the questions the journal answers slowly (attendance across meetings, a member's ballots,
the minutes of an item) and are never written any other way while the meeting is live.

The events a meeting sends most (check-ins, hands, the floor) are written with plain statements, one per
change, each run at once: no row is read back into the session first. Their tables (attendance, speaker
requests) are written that way alone, so no object of the session can hold a stale copy of their rows.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from meeting.db import models as m
from meeting.domain import events as ev
from meeting.domain.model import AttendanceStatus
from meeting.journal import RecordedEvent


def project(session: Session, recorded: RecordedEvent) -> None:
    _project(recorded.event, session, recorded)


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Statements built once (compiling and caching a statement costs more than running it on SQLite). Each names
# its row with parameters of its own; the columns to set are the other parameters, named after them.
_ATTENDANCE = m.Attendance.__table__
_REQUESTS = m.SpeakerRequest.__table__
_ATTENDANCE_ROW = (_ATTENDANCE.c.meeting_id == bindparam("meeting")) & (_ATTENDANCE.c.member_id == bindparam("member"))
_UPDATE_ATTENDANCE = update(_ATTENDANCE).where(_ATTENDANCE_ROW)
_CHECK_IN = _UPDATE_ATTENDANCE.values(
    first_arrived_at=func.coalesce(  # the first arrival is kept; the parameter typed: stored in UTC like the rest
        _ATTENDANCE.c.first_arrived_at, bindparam("arrived", type_=_ATTENDANCE.c.first_arrived_at.type)
    )
)
_INSERT_ATTENDANCE = insert(_ATTENDANCE)
_ROSTER_WITH_ATTENDANCE = select(_ATTENDANCE.c.member_id).where(_ATTENDANCE.c.meeting_id == bindparam("meeting"))


def _newest_request(status: str, on_item: bool):
    """The id of the member's newest request in `status`, on the event's item when `on_item` (a member may still
    be queued on an earlier item the chair comes back to, so the newest request is not always the one an event is
    about), as a subquery."""
    query = select(_REQUESTS.c.id).where(
        _REQUESTS.c.meeting_id == bindparam("meeting"),
        _REQUESTS.c.member_id == bindparam("member"),
        _REQUESTS.c.status == status,
    )
    if on_item:
        query = query.where(_REQUESTS.c.item_id == bindparam("item"))
    return query.order_by(_REQUESTS.c.id.desc()).limit(1).scalar_subquery()


_UPDATE_WAITING_REQUEST = update(_REQUESTS).where(_REQUESTS.c.id == _newest_request("waiting", on_item=True))
_END_GRANTED_REQUEST = update(_REQUESTS).where(
    _REQUESTS.c.id == _newest_request("granted", on_item=False), _REQUESTS.c.ended_at.is_(None)
)
_INSERT_REQUEST = insert(_REQUESTS)


def _set_attendance(
    session: Session, recorded: RecordedEvent, member_id: int, arrived: datetime | None = None, **changes
) -> None:
    """Change the member's attendance row (`arrived`: a check-in's moment, kept unless an earlier one is there);
    a member without a row gets one, expected and not late before the change."""
    row = {"meeting": recorded.meeting_id, "member": member_id}
    statement, arrival = (_UPDATE_ATTENDANCE, {}) if arrived is None else (_CHECK_IN, {"arrived": arrived})
    if session.execute(statement, row | arrival | changes).rowcount == 0:
        new = {"meeting_id": recorded.meeting_id, "member_id": member_id, "status": AttendanceStatus.EXPECTED}
        first = {} if arrived is None else {"first_arrived_at": arrived}
        session.execute(_INSERT_ATTENDANCE, new | {"late": False} | first | changes)


def _item(session: Session, meeting_id: int, item_id: str) -> m.AgendaItem | None:
    row = session.get(m.AgendaItem, item_id)
    return row if row is not None and row.meeting_id == meeting_id else None


@singledispatch
def _project(event, session: Session, recorded: RecordedEvent) -> None:  # pragma: no cover
    raise TypeError(f"no projection for {type(event).__name__}")


@_project.register
def _(event: ev.JournalOpened, session, recorded) -> None:
    # Every member of the roster has an attendance row from here on (rows already there are kept as they are).
    existing = set(session.scalars(_ROSTER_WITH_ATTENDANCE, {"meeting": recorded.meeting_id}))
    missing = [member_id for member_id in dict.fromkeys(e.member_id for e in event.roster) if member_id not in existing]
    if missing:
        session.execute(
            _INSERT_ATTENDANCE,
            [
                {
                    "meeting_id": recorded.meeting_id,
                    "member_id": m_id,
                    "status": AttendanceStatus.EXPECTED,
                    "late": False,
                }
                for m_id in missing
            ],
        )


@_project.register
def _(event: ev.MeetingStarted, session, recorded) -> None:
    meeting = session.get(m.Meeting, recorded.meeting_id)
    meeting.status, meeting.started_at = "in_progress", _t(event.at)


@_project.register
def _(event: ev.MeetingEnded, session, recorded) -> None:
    meeting = session.get(m.Meeting, recorded.meeting_id)
    meeting.status, meeting.ended_at = "ended", _t(event.at)


def _set_item_status(session: Session, recorded: RecordedEvent, item_id: str, status: str) -> None:
    item = _item(session, recorded.meeting_id, item_id)
    if item is not None:
        item.status = status


@_project.register
def _(event: ev.ItemOpened, session, recorded) -> None:
    _set_item_status(session, recorded, event.item_id, "open")


@_project.register
def _(event: ev.ItemClosed, session, recorded) -> None:
    _set_item_status(session, recorded, event.item_id, "closed")


@_project.register
def _(event: ev.ItemSkipped, session, recorded) -> None:
    _set_item_status(session, recorded, event.item_id, "skipped")


@_project.register
def _(event: ev.AgendaReordered, session, recorded) -> None:
    for position, item_id in enumerate(event.order):
        item = _item(session, recorded.meeting_id, item_id)
        if item is not None:
            item.position = position


@_project.register
def _(event: ev.ItemConcluded, session, recorded) -> None:
    item = _item(session, recorded.meeting_id, event.item_id)
    if item is not None:
        item.conclusion = event.text


@_project.register
def _(event: ev.HandRaised, session, recorded) -> None:
    session.execute(
        _INSERT_REQUEST,
        {
            "meeting_id": recorded.meeting_id,
            "item_id": event.item_id,
            "member_id": event.member_id,
            "kind": event.kind,
            "raised_at": _t(event.at),
            "status": "waiting",
        },
    )


@_project.register
def _(event: ev.HandLowered, session, recorded) -> None:
    request = {"meeting": recorded.meeting_id, "member": event.member_id, "item": event.item_id}
    session.execute(_UPDATE_WAITING_REQUEST, {**request, "status": "lowered", "ended_at": _t(event.at)})


@_project.register
def _(event: ev.FloorGranted, session, recorded) -> None:
    at = _t(event.at)
    request = {"meeting": recorded.meeting_id, "member": event.member_id, "item": event.item_id}
    if session.execute(_UPDATE_WAITING_REQUEST, {**request, "status": "granted", "granted_at": at}).rowcount == 0:
        # Given the floor without asking (the chair called on them): still a turn to record.
        session.execute(
            _INSERT_REQUEST,
            {
                "meeting_id": recorded.meeting_id,
                "item_id": event.item_id,
                "member_id": event.member_id,
                "kind": "speak",
                "raised_at": at,
                "status": "granted",
                "granted_at": at,
            },
        )


@_project.register
def _(event: ev.FloorEnded, session, recorded) -> None:
    request = {"meeting": recorded.meeting_id, "member": event.member_id}
    session.execute(_END_GRANTED_REQUEST, {**request, "ended_at": _t(event.at)})


@_project.register
def _(event: ev.MicrophoneMuted | ev.MicrophoneUnmuted, session, recorded) -> None:
    """Nothing relational: who is muted lives in the journal (and the state folded from it) alone."""


@_project.register
def _(event: ev.CheckedIn, session, recorded) -> None:
    at = _t(event.at)
    changes = {"status": AttendanceStatus.PRESENT, "mode": event.mode, "reason": None, "updated_at": at}
    if event.late:
        changes["late"] = True  # once late, late for the meeting: a later check-in on time does not undo it
    _set_attendance(session, recorded, event.member_id, arrived=at, **changes)


@_project.register
def _(event: ev.Left, session, recorded) -> None:
    _set_attendance(session, recorded, event.member_id, status=AttendanceStatus.LEFT, updated_at=_t(event.at))


@_project.register
def _(event: ev.MarkedAbsent, session, recorded) -> None:
    status = AttendanceStatus.ABSENT_EXCUSED if event.reason else AttendanceStatus.ABSENT_UNEXCUSED
    _set_attendance(session, recorded, event.member_id, status=status, reason=event.reason, updated_at=_t(event.at))


@_project.register
def _(event: ev.VoteOpened, session, recorded) -> None:
    session.add(
        m.Vote(
            id=event.vote_id,
            meeting_id=recorded.meeting_id,
            item_id=event.item_id,
            question=event.question,
            status="open",
            opened_at=_t(event.at),
        )
    )


@_project.register
def _(event: ev.BallotCast, session, recorded) -> None:
    session.add(
        m.Ballot(
            meeting_id=recorded.meeting_id,
            vote_id=event.vote_id,
            member_id=event.member_id,
            choice=event.choice,
            at=_t(event.at),
        )
    )


@_project.register
def _(event: ev.HallCountRecorded, session, recorded) -> None:
    vote = session.get(m.Vote, (event.vote_id, recorded.meeting_id))
    vote.hall_for, vote.hall_against, vote.hall_abstain = event.votes_for, event.votes_against, event.votes_abstain


@_project.register
def _(event: ev.VoteClosed, session, recorded) -> None:
    vote = session.get(m.Vote, (event.vote_id, recorded.meeting_id))
    vote.status, vote.closed_at = "closed", _t(event.at)
    vote.votes_for, vote.votes_against, vote.votes_abstain = event.votes_for, event.votes_against, event.votes_abstain
    vote.not_voting, vote.basis, vote.passed = event.not_voting, event.basis, event.passed


@_project.register
def _(event: ev.EntryWritten, session, recorded) -> None:
    at = _t(event.at)
    session.add(
        m.MinuteEntry(
            id=event.entry_id,
            meeting_id=recorded.meeting_id,
            item_id=event.item_id,
            speaker_id=event.speaker_id,
            kind=event.kind,
            text=event.text,
            created_at=at,
            updated_at=at,
            revision_count=1,
            position=_entries_of_item(session, recorded.meeting_id, event.item_id),  # last, as written
        )
    )
    session.add(_revision(recorded, event.entry_id, 1, event.text, event.speaker_id, event.by))


@_project.register
def _(event: ev.EntryRevised, session, recorded) -> None:
    entry = session.get(m.MinuteEntry, (event.entry_id, recorded.meeting_id))
    entry.revision_count += 1
    entry.text, entry.speaker_id, entry.updated_at = event.text, event.speaker_id, _t(event.at)
    session.add(_revision(recorded, event.entry_id, entry.revision_count, event.text, event.speaker_id, event.by))


def _entries_of_item(session: Session, meeting_id: int, item_id: str) -> int:
    rows = select(func.count()).where(m.MinuteEntry.meeting_id == meeting_id, m.MinuteEntry.item_id == item_id)
    return session.scalar(rows) or 0


@_project.register
def _(event: ev.EntryMoved, session, recorded) -> None:
    if event.passed_kind != "entry":
        return  # moved past a vote or the chair's conclusion: its rank among the item's entries is the same
    moved = session.get(m.MinuteEntry, (event.entry_id, recorded.meeting_id))
    passed = session.get(m.MinuteEntry, (event.passed_ref, recorded.meeting_id))
    moved.position, passed.position = passed.position, moved.position


def _revision(
    recorded: RecordedEvent, entry_id: str, number: int, text: str, speaker_id: int | None, by: int | None
) -> m.MinuteRevision:
    return m.MinuteRevision(
        meeting_id=recorded.meeting_id,
        entry_id=entry_id,
        number=number,
        text=text,
        speaker_id=speaker_id,
        at=_t(recorded.at),
        by_member_id=by,
        journal_seq=recorded.seq,
    )


__all__ = ["project"]
