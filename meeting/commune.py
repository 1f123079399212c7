"""The commune committee's view of its branches (Đảng ủy xã): which held their monthly meeting, which are late
with their report, aggregate attendance. Figures only: a branch's minutes stay with the branch unless it shared
them with its report.

The overview is a fixed handful of grouped queries whatever the number of branches and meetings, so it stays
fast for a commune of fifty branches and a year of meetings (bench/commune.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from meeting.auth import Principal
from meeting.calendar_vn import VN_TZ, add_working_days, local_date
from meeting.db.models import (
    AgendaItem,
    Attendance,
    Branch,
    Commune,
    Meeting,
    Member,
    MinuteEntry,
    ReportSubmission,
    User,
)
from meeting.domain.model import Category, MeetingKind
from meeting.errors import Rejected

HISTORY_DAYS = 366  # how far back overdue reports are counted


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def admin_commune(session: Session, principal: Principal) -> Commune:
    """The commune the caller administers; anyone else is refused."""
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if not principal.is_admin or user is None or not user.is_admin or user.commune_id is None:
        raise Rejected("commune_admin_only", status=403)
    commune = session.get(Commune, user.commune_id)
    if commune is None:
        raise Rejected("commune_admin_only", status=403)
    return commune


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, now: datetime) -> Month:
        if not text:
            today = local_date(now)
            return cls(today.year, today.month)
        try:
            year, month = (int(part) for part in text.split("-"))
            if not (2000 <= year <= 2100 and 1 <= month <= 12):
                raise ValueError
        except ValueError as exc:
            raise Rejected("bad_request", status=422, detail="month: YYYY-MM") from exc
        return cls(year, month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month in Vietnamese time, as UTC instants [start, end)."""
        start = datetime(self.year, self.month, 1, tzinfo=VN_TZ)
        following = self.next()
        end = datetime(following.year, following.month, 1, tzinfo=VN_TZ)
        return start.astimezone(UTC), end.astimezone(UTC)


def report_due(held_at: datetime, working_days: int) -> date:
    """The last day for the report of a meeting held at `held_at`."""
    return add_working_days(local_date(held_at), working_days)


def _report_state(
    due: date, submitted_at: datetime | None, today: date
) -> str:  # submitted | submitted_late | late | due
    if submitted_at is not None:
        return "submitted" if local_date(submitted_at) <= due else "submitted_late"
    return "late" if today > due else "due"


def overview(session: Session, commune: Commune, month: Month, now: datetime | None = None) -> dict[str, Any]:
    """Every branch of the commune for one month: its monthly meeting, attendance, report; and the totals."""
    now = now or datetime.now(UTC)
    today = local_date(now)
    start, end = month.bounds()
    due_days = commune.report_due_working_days
    branches = session.execute(
        select(Branch.id, Branch.name, Branch.code).where(Branch.commune_id == commune.id).order_by(Branch.name)
    ).all()
    branch_ids = [b.id for b in branches]
    members = dict(
        session.execute(
            select(Member.branch_id, func.count())
            .where(Member.branch_id.in_(branch_ids), Member.active.is_(True), Member.category != Category.GUEST)
            .group_by(Member.branch_id)
        ).all()
    )
    meetings = session.execute(
        select(
            Meeting.id,
            Meeting.branch_id,
            Meeting.kind,
            Meeting.title,
            Meeting.status,
            Meeting.scheduled_at,
            Meeting.ended_at,
            ReportSubmission.submitted_at,
            ReportSubmission.minutes_shared,
        )
        .outerjoin(ReportSubmission, ReportSubmission.meeting_id == Meeting.id)
        .where(Meeting.branch_id.in_(branch_ids), Meeting.scheduled_at >= start, Meeting.scheduled_at < end)
        .order_by(Meeting.scheduled_at)
    ).all()
    attendance = _attendance(session, [m.id for m in meetings if m.status == "ended"])
    overdue = _overdue_reports(session, branch_ids, now, due_days, today)

    by_branch: dict[int, list[Any]] = {}
    for meeting in meetings:
        by_branch.setdefault(meeting.branch_id, []).append(meeting)
    month_over = today >= month.next().first_day()
    rows = []
    for branch in branches:
        own = by_branch.get(branch.id, [])
        regular = [m for m in own if m.kind == MeetingKind.REGULAR]
        held = next((m for m in regular if m.status == "ended"), None)
        planned = next((m for m in regular if m.status != "ended"), None)
        monthly = held or planned
        if held is not None:
            status = "held"
        elif planned is not None:
            status = "late" if month_over else "planned"
        else:
            status = "missing" if month_over else "not_planned"
        rows.append(
            {
                "branch_id": branch.id,
                "name": branch.name,
                "code": branch.code,
                "members": members.get(branch.id, 0),
                "monthly_meeting": status,
                "meeting": _meeting_json(monthly, attendance, due_days, today) if monthly else None,
                "other_meetings": [
                    _meeting_json(m, attendance, due_days, today) for m in own if m.kind != MeetingKind.REGULAR
                ],
                "overdue_reports": overdue.get(branch.id, 0),
            }
        )
    present = sum(a[0] for a in attendance.values())
    expected = sum(a[1] for a in attendance.values())
    return {
        "commune": {"id": commune.id, "name": commune.name, "report_due_working_days": due_days},
        "month": month.label,
        "branches": rows,
        "totals": {
            "branches": len(rows),
            "held": sum(1 for r in rows if r["monthly_meeting"] == "held"),
            "not_held": sum(1 for r in rows if r["monthly_meeting"] in ("late", "missing")),
            "reports_late": sum(1 for r in rows if r["overdue_reports"] or _report_state_of(r) == "submitted_late"),
            "attendance": {
                "present": present,
                "expected": expected,
                "rate": round(present / expected, 4) if expected else None,
            },
        },
    }


def _report_state_of(row: dict[str, Any]) -> str | None:
    report = (row["meeting"] or {}).get("report")
    return report["state"] if report else None


def _attendance(session: Session, meeting_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(present, expected) per meeting: guests are not counted, exempt members only when they came."""
    if not meeting_ids:
        return {}
    came = Attendance.status.in_(("present", "left"))
    rows = session.execute(
        select(
            Attendance.meeting_id,
            func.sum(case((came, 1), else_=0)),
            func.sum(case((and_(Member.category == Category.EXEMPT, ~came), 0), else_=1)),
        )
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id.in_(meeting_ids), Member.category != Category.GUEST)
        .group_by(Attendance.meeting_id)
    ).all()
    return {meeting_id: (int(present or 0), int(expected or 0)) for meeting_id, present, expected in rows}


def _overdue_reports(
    session: Session, branch_ids: list[int], now: datetime, due_days: int, today: date
) -> dict[int, int]:
    """Meetings held in the last year whose report is past due and not sent, per branch."""
    rows = session.execute(
        select(Meeting.branch_id, Meeting.scheduled_at, Meeting.ended_at)
        .outerjoin(ReportSubmission, ReportSubmission.meeting_id == Meeting.id)
        .where(
            Meeting.branch_id.in_(branch_ids),
            Meeting.status == "ended",
            Meeting.scheduled_at >= now - timedelta(days=HISTORY_DAYS),
            ReportSubmission.meeting_id.is_(None),
        )
    ).all()
    overdue: dict[int, int] = {}
    for branch_id, scheduled_at, ended_at in rows:
        if today > report_due(_aware(ended_at or scheduled_at), due_days):
            overdue[branch_id] = overdue.get(branch_id, 0) + 1
    return overdue


def _meeting_json(meeting: Any, attendance: dict[int, tuple[int, int]], due_days: int, today: date) -> dict[str, Any]:
    present, expected = attendance.get(meeting.id, (0, 0))
    report: dict[str, Any] | None = None
    if meeting.status == "ended":
        due = report_due(_aware(meeting.ended_at or meeting.scheduled_at), due_days)
        report = {
            "state": _report_state(due, _aware(meeting.submitted_at), today),
            "due": due.isoformat(),
            "submitted_at": _aware(meeting.submitted_at).isoformat() if meeting.submitted_at else None,
            "minutes_shared": bool(meeting.minutes_shared),
        }
    return {
        "meeting_id": meeting.id,
        "kind": meeting.kind,
        "title": meeting.title,
        "status": meeting.status,
        "scheduled_at": _aware(meeting.scheduled_at).isoformat(),
        "attendance": {
            "present": present,
            "expected": expected,
            "rate": round(present / expected, 4) if expected else None,
        }
        if meeting.status == "ended"
        else None,
        "report": report,
    }


# -- what the commune may read of a branch's meeting ---------------------------------------------------------------
def commune_meeting(session: Session, commune: Commune, meeting_id: int) -> Meeting:
    """A meeting of one of the commune's branches (404 for any other, so nothing leaks about it)."""
    meeting = session.get(Meeting, meeting_id)
    branch = session.get(Branch, meeting.branch_id) if meeting else None
    if meeting is None or branch is None or branch.commune_id != commune.id:
        raise Rejected("not_found", status=404, what="meeting")
    return meeting


def submission_of(session: Session, meeting_id: int) -> ReportSubmission | None:
    return session.get(ReportSubmission, meeting_id)


def shared_minutes(session: Session, commune: Commune, meeting_id: int) -> dict[str, Any]:
    """The minutes of a meeting, only when the branch shared them with its report."""
    meeting = commune_meeting(session, commune, meeting_id)
    submission = submission_of(session, meeting_id)
    if submission is None or not submission.minutes_shared:
        raise Rejected("minutes_not_shared", status=403)
    names = dict(
        session.execute(select(Member.id, Member.full_name).where(Member.branch_id == meeting.branch_id)).all()
    )
    items = session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position))
    entries = session.scalars(
        select(MinuteEntry)
        .where(MinuteEntry.meeting_id == meeting_id)
        .order_by(MinuteEntry.position, MinuteEntry.created_at)
    ).all()
    return {
        "meeting_id": meeting.id,
        "title": meeting.title,
        "items": [
            {
                "id": item.id,
                "title": item.title,
                "conclusion": item.conclusion,
                "entries": [
                    {
                        "kind": e.kind,
                        "speaker": names.get(e.speaker_id) if e.speaker_id else None,
                        "text": e.text,
                    }
                    for e in entries
                    if e.item_id == item.id
                ],
            }
            for item in items
        ],
    }


def submit_report(
    session: Session,
    meeting: Meeting,
    *,
    user_id: int | None,
    minutes_shared: bool,
    note: str = "",
    now: datetime | None = None,
) -> ReportSubmission:
    """The branch sends its meeting report to the commune (again: the choice to share the minutes and the note
    are updated, the first sending time is kept)."""
    if meeting.status != "ended":
        raise Rejected("report_not_ready")
    submission = session.get(ReportSubmission, meeting.id)
    if submission is None:
        submission = ReportSubmission(
            meeting_id=meeting.id, branch_id=meeting.branch_id, submitted_at=now or datetime.now(UTC)
        )
        session.add(submission)
    submission.submitted_by = user_id
    submission.minutes_shared = minutes_shared
    submission.note = (note or "")[:5000]
    session.flush()
    return submission
