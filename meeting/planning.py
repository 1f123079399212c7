"""Planning a meeting before it goes live: create it from a template, edit its agenda, assign who presents and
who prepares opinions, warn about what is missing, take absence notices, and give members a calendar file.

Everything here works on the plan (the `meetings` and `agenda_items` rows). When the journal opens, the plan
is copied into its first event (`meeting.service.build_journal_opened`) and can no longer be changed here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meeting.calendar_vn import add_working_days, local_date
from meeting.db.models import AbsenceNotice, AgendaItem, Branch, Document, Meeting, Member
from meeting.domain import events as ev
from meeting.domain.model import Category, MeetingKind
from meeting.errors import Rejected, message
from meeting.templates import DEFAULT_FOR_KIND, TEMPLATES

# A thematic meeting's prepared discussion needs at least this many members designated beforehand (DESIGN.md).
MIN_DESIGNATED_THEMATIC = 5
# A thematic meeting's draft report reaches participants at least this many working days before (DESIGN.md).
DRAFT_LEAD_WORKING_DAYS = 3
# Categories that can be asked to present or prepare an opinion: the branch's own members, not guests.
ASSIGNABLE = frozenset({Category.OFFICIAL, Category.PROBATIONARY, Category.EXEMPT})
# How long a meeting lasts in a member's calendar (the plan has no end time).
CALENDAR_DURATION = {
    MeetingKind.REGULAR: timedelta(hours=2),
    MeetingKind.THEMATIC: timedelta(hours=3),
    MeetingKind.EXTRAORDINARY: timedelta(hours=2),
}


def new_item_id() -> str:
    return uuid.uuid4().hex[:16]


def create_meeting(
    session: Session,
    *,
    branch_id: int,
    kind: MeetingKind,
    title: str,
    scheduled_at: datetime,
    place: str = "",
    chair_id: int | None = None,
    clerk_id: int | None = None,
    template_id: str | None = None,
) -> Meeting:
    """A scheduled meeting with the template's order of business (the kind's own template by default)."""
    template = TEMPLATES[template_id] if template_id else DEFAULT_FOR_KIND[kind]
    meeting = Meeting(
        branch_id=branch_id,
        kind=kind,
        title=title,
        place=place,
        scheduled_at=scheduled_at,
        chair_id=chair_id,
        clerk_id=clerk_id,
        status="scheduled",
    )
    meeting.agenda = [
        AgendaItem(
            id=new_item_id(),
            position=position,
            title=item.title_vi,
            kind=item.kind,
            speaking_limit_s=item.speaking_limit_s,
            designated_speakers=[],
        )
        for position, item in enumerate(template.items)
    ]
    session.add(meeting)
    session.flush()
    return meeting


# -- the plan can change until the journal opens ------------------------------------------------------------
def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    return meeting


def require_plannable(meeting: Meeting) -> None:
    """The plan is copied into the journal when it opens; after that the journal is the meeting."""
    if meeting.status != "scheduled" or (meeting.journal_seq or 0) > 0:
        raise Rejected("plan_locked")


def _item_of(meeting: Meeting, item_id: str) -> AgendaItem:
    for item in meeting.agenda:
        if item.id == item_id:
            return item
    raise Rejected("unknown_item", status=404)


def _assignable_members(session: Session, branch_id: int, member_ids: list[int]) -> dict[int, Member]:
    if not member_ids:
        return {}
    rows = session.scalars(select(Member).where(Member.branch_id == branch_id, Member.id.in_(member_ids)))
    found = {m.id: m for m in rows if m.active and m.category in ASSIGNABLE}
    if set(member_ids) - set(found):
        raise Rejected("designated_not_member", status=422)
    return found


def assign_speakers(
    session: Session,
    meeting_id: int,
    item_id: str,
    *,
    presenter_id: int | None,
    designated_speakers: list[int],
) -> AgendaItem:
    """Set who presents an item and who is designated to prepare an opinion on it. The designated
    speakers are pre-placed, in this order, in the item's speaker queue when the journal opens."""
    meeting = get_meeting(session, meeting_id)
    require_plannable(meeting)
    item = _item_of(meeting, item_id)
    if len(set(designated_speakers)) != len(designated_speakers):
        raise Rejected("designated_duplicate", status=422)
    wanted = [*designated_speakers, *([presenter_id] if presenter_id is not None else [])]
    _assignable_members(session, meeting.branch_id, wanted)
    item.presenter_id = presenter_id
    item.designated_speakers = list(designated_speakers)  # a new list, so the JSON column sees the change
    session.flush()
    return item


def add_item(
    session: Session,
    meeting_id: int,
    *,
    title: str,
    kind: str = "other",
    position: int | None = None,
    speaking_limit_s: int | None = None,
) -> AgendaItem:
    """Insert an agenda item (at the end by default); the items after it move down one place."""
    meeting = get_meeting(session, meeting_id)
    require_plannable(meeting)
    title = " ".join((title or "").split())
    if not title or len(title) > 300:
        raise Rejected("bad_request", status=422, detail="title: 1 to 300 characters")
    if speaking_limit_s is not None and not 10 <= speaking_limit_s <= 3600:
        raise Rejected("bad_request", status=422, detail="speaking_limit_s: 10 to 3600 seconds")
    items = list(meeting.agenda)
    position = len(items) if position is None else max(0, min(position, len(items)))
    item = AgendaItem(
        id=new_item_id(),
        title=title,
        kind=kind[:40] or "other",
        speaking_limit_s=speaking_limit_s,
        designated_speakers=[],
    )
    items.insert(position, item)
    meeting.agenda = items
    _renumber(meeting)
    session.flush()
    return item


def remove_item(session: Session, meeting_id: int, item_id: str) -> None:
    meeting = get_meeting(session, meeting_id)
    require_plannable(meeting)
    item = _item_of(meeting, item_id)
    meeting.agenda = [i for i in meeting.agenda if i.id != item.id]
    _renumber(meeting)
    session.flush()


def reorder_items(session: Session, meeting_id: int, order: list[str]) -> None:
    """Put the items in the given order, which must name each item exactly once."""
    meeting = get_meeting(session, meeting_id)
    require_plannable(meeting)
    by_id = {item.id: item for item in meeting.agenda}
    if len(order) != len(by_id) or set(order) != set(by_id):
        raise Rejected("bad_order", status=422)
    meeting.agenda = [by_id[item_id] for item_id in order]
    _renumber(meeting)
    session.flush()


def _renumber(meeting: Meeting) -> None:
    for position, item in enumerate(meeting.agenda):
        item.position = position


# -- warnings: what the chair should fix before the meeting -------------------------------------------------
@dataclass(frozen=True)
class PlanWarning:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    item_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "item_id": self.item_id,
            "message": message(self.code, "vi", **self.params),
            "message_en": message(self.code, "en", **self.params),
            "details": self.params,
        }


def draft_deadline(meeting: Meeting) -> date:
    """The last day on which the draft report may reach members: 3 working days before the meeting's day."""
    return add_working_days(local_date(meeting.scheduled_at), -DRAFT_LEAD_WORKING_DAYS)


@dataclass(frozen=True)
class DraftStatus:
    deadline: date
    distributed_at: datetime | None
    on_time: bool | None  # None: not distributed yet

    def to_json(self) -> dict[str, Any]:
        return {
            "deadline": self.deadline.isoformat(),
            "distributed_at": self.distributed_at.isoformat() if self.distributed_at else None,
            "on_time": self.on_time,
            "lead_working_days": DRAFT_LEAD_WORKING_DAYS,
        }


def draft_status(session: Session, meeting: Meeting) -> DraftStatus:
    """When the draft report reached members (the earliest distributed draft), against the deadline."""
    deadline = draft_deadline(meeting)
    first = session.scalars(
        select(Document.distributed_at)
        .where(
            Document.meeting_id == meeting.id,
            Document.kind == "draft_report",
            Document.distributed_at.is_not(None),
        )
        .order_by(Document.distributed_at)
        .limit(1)
    ).first()
    if first is None:
        return DraftStatus(deadline, None, None)
    first = _aware(first)
    return DraftStatus(deadline, first, local_date(first) <= deadline)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def plan_warnings(session: Session, meeting: Meeting) -> list[PlanWarning]:
    """What is missing or late in the plan. Never a refusal: the branch decides, the app reminds."""
    warnings: list[PlanWarning] = []
    if meeting.chair_id is None:
        warnings.append(PlanWarning("warn_no_chair"))
    if meeting.clerk_id is None:
        warnings.append(PlanWarning("warn_no_clerk"))
    if meeting.kind == MeetingKind.THEMATIC:
        for item in meeting.agenda:
            if item.kind == "topic_report" and item.presenter_id is None:
                warnings.append(PlanWarning("warn_no_presenter", item_id=item.id))
            if item.kind == "discussion" and len(item.designated_speakers or []) < MIN_DESIGNATED_THEMATIC:
                params = {"count": len(item.designated_speakers or []), "minimum": MIN_DESIGNATED_THEMATIC}
                warnings.append(PlanWarning("warn_too_few_designated", params, item_id=item.id))
        status = draft_status(session, meeting)
        days = DRAFT_LEAD_WORKING_DAYS
        if status.distributed_at is None:
            warnings.append(
                PlanWarning("warn_draft_not_distributed", {"deadline": status.deadline.isoformat(), "days": days})
            )
        elif not status.on_time:
            distributed = local_date(status.distributed_at).isoformat()
            params = {"deadline": status.deadline.isoformat(), "distributed": distributed, "days": days}
            warnings.append(PlanWarning("warn_draft_late", params))
    absent = {n.member_id for n in active_absence_notices(session, meeting.id)}
    designated = {mid: item.id for item in meeting.agenda for mid in (item.designated_speakers or [])}
    for member_id in sorted(absent & designated.keys()):
        member = session.get(Member, member_id)
        name = member.full_name if member else str(member_id)
        warnings.append(PlanWarning("warn_designated_absent", {"name": name}, item_id=designated[member_id]))
    return warnings


def plan_to_json(session: Session, meeting: Meeting) -> dict[str, Any]:
    """The plan as the chair's preparation page shows it: agenda with assignments, draft status, warnings."""
    names = {m.id: m.full_name for m in session.scalars(select(Member).where(Member.branch_id == meeting.branch_id))}
    return {
        "meeting_id": meeting.id,
        "branch_id": meeting.branch_id,
        "title": meeting.title,
        "kind": meeting.kind,
        "status": meeting.status,
        "scheduled_at": _aware(meeting.scheduled_at).isoformat(),
        "place": meeting.place,
        "chair_id": meeting.chair_id,
        "clerk_id": meeting.clerk_id,
        "editable": meeting.status == "scheduled" and not meeting.journal_seq,
        "agenda": [
            {
                "id": item.id,
                "position": item.position,
                "title": item.title,
                "kind": item.kind,
                "presenter": _person(item.presenter_id, names),
                "designated_speakers": [_person(mid, names) for mid in item.designated_speakers or []],
            }
            for item in meeting.agenda
        ],
        "draft": draft_status(session, meeting).to_json() if meeting.kind == MeetingKind.THEMATIC else None,
        "warnings": [w.to_json() for w in plan_warnings(session, meeting)],
    }


def _person(member_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    if member_id is None:
        return None
    return {"member_id": member_id, "name": names.get(member_id, "")}


# -- absence notices ------------------------------------------------------------------------------------------
def send_absence_notice(
    session: Session, meeting_id: int, member_id: int, reason: str, now: datetime | None = None
) -> AbsenceNotice:
    """A member says, before the meeting, that they will be absent and why. Sending again replaces the reason."""
    meeting = get_meeting(session, meeting_id)
    if meeting.status != "scheduled":
        raise Rejected("absence_too_late")
    reason = " ".join((reason or "").split())
    if not reason:
        raise Rejected("absence_reason_required", status=422)
    if len(reason) > 500:
        raise Rejected("bad_request", status=422, detail="reason: at most 500 characters")
    member = session.get(Member, member_id)
    if member is None or member.branch_id != meeting.branch_id or not member.active:
        raise Rejected("not_in_roster", status=404)
    now = now or datetime.now(UTC)
    notice = session.scalars(
        select(AbsenceNotice).where(AbsenceNotice.meeting_id == meeting_id, AbsenceNotice.member_id == member_id)
    ).first()
    if notice is None:
        notice = AbsenceNotice(meeting_id=meeting_id, member_id=member_id, reason=reason, sent_at=now)
        session.add(notice)
    else:
        notice.reason, notice.sent_at, notice.withdrawn_at = reason, now, None
    session.flush()
    return notice


def withdraw_absence_notice(session: Session, meeting_id: int, member_id: int, now: datetime | None = None) -> None:
    """The member will come after all. Kept (withdrawn), so the chair sees the change of plan. Once the meeting
    has started the notice stands (it is in the attendance log); a member who comes anyway simply checks in."""
    meeting = get_meeting(session, meeting_id)
    if meeting.status != "scheduled":
        raise Rejected("absence_withdraw_too_late")
    notice = session.scalars(
        select(AbsenceNotice).where(
            AbsenceNotice.meeting_id == meeting_id,
            AbsenceNotice.member_id == member_id,
            AbsenceNotice.withdrawn_at.is_(None),
        )
    ).first()
    if notice is None:
        raise Rejected("not_found", status=404, what="absence notice")
    notice.withdrawn_at = now or datetime.now(UTC)
    session.flush()


def active_absence_notices(session: Session, meeting_id: int) -> list[AbsenceNotice]:
    return list(
        session.scalars(
            select(AbsenceNotice)
            .where(AbsenceNotice.meeting_id == meeting_id, AbsenceNotice.withdrawn_at.is_(None))
            .order_by(AbsenceNotice.sent_at, AbsenceNotice.id)
        )
    )


def notified_absences(session: Session, meeting_id: int, now: datetime) -> list[ev.MarkedAbsent]:
    """The absences notified before the meeting, as the events that pre-fill the attendance log when the
    journal opens (each an excused absence with its reason). A member who comes anyway simply checks in."""
    roster = set(
        session.scalars(
            select(Member.id).where(
                Member.branch_id == select(Meeting.branch_id).where(Meeting.id == meeting_id).scalar_subquery(),
                Member.active.is_(True),
            )
        )
    )
    return [
        ev.MarkedAbsent(at=now.isoformat(), member_id=notice.member_id, reason=notice.reason)
        for notice in active_absence_notices(session, meeting_id)
        if notice.member_id in roster
    ]


# -- invitations: the member's list and a calendar file -------------------------------------------------------
def member_meetings(session: Session, member: Member, now: datetime | None = None) -> list[dict[str, Any]]:
    """The meetings a member is invited to from yesterday on: their own list, with their absence notice."""
    now = now or datetime.now(UTC)
    meetings = session.scalars(
        select(Meeting)
        .where(Meeting.branch_id == member.branch_id, Meeting.scheduled_at >= now - timedelta(days=1))
        .order_by(Meeting.scheduled_at)
    ).all()
    notices = {
        n.meeting_id: n
        for n in session.scalars(
            select(AbsenceNotice).where(
                AbsenceNotice.member_id == member.id,
                AbsenceNotice.meeting_id.in_([m.id for m in meetings]),
                AbsenceNotice.withdrawn_at.is_(None),
            )
        )
    }
    documents: dict[int, int] = {}
    for meeting_id in session.scalars(
        select(Document.meeting_id).where(
            Document.meeting_id.in_([m.id for m in meetings]), Document.distributed_at.is_not(None)
        )
    ):
        documents[meeting_id] = documents.get(meeting_id, 0) + 1
    return [
        {
            "meeting_id": m.id,
            "title": m.title,
            "kind": m.kind,
            "status": m.status,
            "scheduled_at": _aware(m.scheduled_at).isoformat(),
            "place": m.place,
            "absence_notice": (
                {"reason": notices[m.id].reason, "sent_at": _aware(notices[m.id].sent_at).isoformat()}
                if m.id in notices
                else None
            ),
            "documents": documents.get(m.id, 0),
        }
        for m in meetings
    ]


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT escaping."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1) without splitting a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _ics_time(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def meeting_ics(session: Session, meeting: Meeting, public_url: str, now: datetime | None = None) -> str:
    """The meeting as an iCalendar file (RFC 5545) for the member's phone calendar, with a reminder."""
    branch = session.get(Branch, meeting.branch_id)
    now = now or datetime.now(UTC)
    start = _aware(meeting.scheduled_at)
    end = start + CALENDAR_DURATION.get(MeetingKind(meeting.kind), timedelta(hours=2))
    host = public_url.split("://", 1)[-1].split("/", 1)[0] or "chibo"
    link = f"{public_url.rstrip('/')}/join/{meeting.id}"
    agenda = "\n".join(f"{i + 1}. {item.title}" for i, item in enumerate(meeting.agenda))
    description = f"{branch.name if branch else ''}\n\nChương trình:\n{agenda}\n\nTham gia trực tuyến: {link}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//chibo//hop chi bo//VI",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{host}",
        f"DTSTAMP:{_ics_time(now)}",
        f"DTSTART:{_ics_time(start)}",
        f"DTEND:{_ics_time(end)}",
        f"SUMMARY:{_ics_text(meeting.title)}",
        f"LOCATION:{_ics_text(meeting.place or '')}",
        f"DESCRIPTION:{_ics_text(description)}",
        f"URL:{link}",
        "STATUS:CONFIRMED",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_ics_text('Nhắc họp: ' + meeting.title)}",
        "TRIGGER:-PT2H",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
