"""The relational tables that mirror a meeting's journal, kept in step inside the append transaction.

They answer the questions the journal answers slowly (attendance across meetings, a member's ballots,
the minutes of an item) and are never written any other way while the meeting is live.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from sqlalchemy import select
from sqlalchemy.orm import Session

from meeting.db import models as m
from meeting.domain import events as ev
from meeting.domain.model import AttendanceStatus
from meeting.journal import RecordedEvent


def project(session: Session, recorded: RecordedEvent) -> None:
    _project(recorded.event, session, recorded)


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _attendance(session: Session, meeting_id: int, member_id: int) -> m.Attendance:
    row = session.get(m.Attendance, (meeting_id, member_id))
    if row is None:
        row = m.Attendance(meeting_id=meeting_id, member_id=member_id, status=AttendanceStatus.EXPECTED, late=False)
        session.add(row)
    return row


def _item(session: Session, meeting_id: int, item_id: str) -> m.AgendaItem | None:
    row = session.get(m.AgendaItem, item_id)
    return row if row is not None and row.meeting_id == meeting_id else None


@singledispatch
def _project(event, session: Session, recorded: RecordedEvent) -> None:  # pragma: no cover
    raise TypeError(f"no projection for {type(event).__name__}")


@_project.register
def _(event: ev.JournalOpened, session, recorded) -> None:
    for entry in event.roster:
        _attendance(session, recorded.meeting_id, entry.member_id)


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


def _latest_request(
    session: Session, recorded: RecordedEvent, member_id: int, status: str, item_id: str | None = None
) -> m.SpeakerRequest | None:
    """The member's newest request in `status`; on `item_id` when given (a member may still be queued on an
    earlier item the chair comes back to, so the newest request is not always the one an event is about)."""
    query = select(m.SpeakerRequest).where(
        m.SpeakerRequest.meeting_id == recorded.meeting_id,
        m.SpeakerRequest.member_id == member_id,
        m.SpeakerRequest.status == status,
    )
    if item_id is not None:
        query = query.where(m.SpeakerRequest.item_id == item_id)
    return session.scalars(query.order_by(m.SpeakerRequest.id.desc()).limit(1)).first()


@_project.register
def _(event: ev.HandRaised, session, recorded) -> None:
    session.add(
        m.SpeakerRequest(
            meeting_id=recorded.meeting_id,
            item_id=event.item_id,
            member_id=event.member_id,
            kind=event.kind,
            raised_at=_t(event.at),
            status="waiting",
        )
    )


@_project.register
def _(event: ev.HandLowered, session, recorded) -> None:
    request = _latest_request(session, recorded, event.member_id, "waiting", event.item_id)
    if request is not None:
        request.status, request.ended_at = "lowered", _t(event.at)


@_project.register
def _(event: ev.FloorGranted, session, recorded) -> None:
    request = _latest_request(session, recorded, event.member_id, "waiting", event.item_id)
    if request is None:
        # Given the floor without asking (the chair called on them): still a turn to record.
        request = m.SpeakerRequest(
            meeting_id=recorded.meeting_id,
            item_id=event.item_id,
            member_id=event.member_id,
            kind="speak",
            raised_at=_t(event.at),
        )
        session.add(request)
    request.status, request.granted_at = "granted", _t(event.at)


@_project.register
def _(event: ev.FloorEnded, session, recorded) -> None:
    request = _latest_request(session, recorded, event.member_id, "granted")
    if request is not None and request.ended_at is None:
        request.ended_at = _t(event.at)


@_project.register
def _(event: ev.CheckedIn, session, recorded) -> None:
    row = _attendance(session, recorded.meeting_id, event.member_id)
    row.status, row.mode, row.reason = AttendanceStatus.PRESENT, event.mode, None
    row.first_arrived_at = row.first_arrived_at or _t(event.at)
    row.late = bool(row.late) or event.late
    row.updated_at = _t(event.at)


@_project.register
def _(event: ev.Left, session, recorded) -> None:
    row = _attendance(session, recorded.meeting_id, event.member_id)
    row.status, row.updated_at = AttendanceStatus.LEFT, _t(event.at)


@_project.register
def _(event: ev.MarkedAbsent, session, recorded) -> None:
    row = _attendance(session, recorded.meeting_id, event.member_id)
    row.status = AttendanceStatus.ABSENT_EXCUSED if event.reason else AttendanceStatus.ABSENT_UNEXCUSED
    row.reason, row.updated_at = event.reason, _t(event.at)


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
        )
    )
    session.add(_revision(recorded, event.entry_id, 1, event.text, event.speaker_id, event.by))


@_project.register
def _(event: ev.EntryRevised, session, recorded) -> None:
    entry = session.get(m.MinuteEntry, (event.entry_id, recorded.meeting_id))
    entry.revision_count += 1
    entry.text, entry.speaker_id, entry.updated_at = event.text, event.speaker_id, _t(event.at)
    session.add(_revision(recorded, event.entry_id, entry.revision_count, event.text, event.speaker_id, event.by))


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
