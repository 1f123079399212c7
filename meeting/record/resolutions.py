"""Resolutions and their action items in the "5 rõ" form, tracked until done.

"5 rõ": clear person (rõ người: the assignee), clear task (rõ việc), clear deadline (rõ thời gian), clear
responsibility (rõ trách nhiệm: who answers for it), clear result (rõ kết quả). Every field is required.

An item is open, done, or overdue; overdue is never stored: it is an open item whose deadline has passed, at
the moment asked about. The next meeting's "review of the last resolution" item lists the previous meeting's
items with their status, and every older item still not done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meeting.calendar_vn import VN_TZ, local_date
from meeting.db.models import ActionItem, Meeting, Member, Resolution
from meeting.domain.model import Category
from meeting.errors import Rejected
from meeting.record.model import ActionRow, ResolutionRecord

FIELDS_VI = {
    "assignee_id": "rõ người (người thực hiện)",
    "task": "rõ việc (nội dung công việc)",
    "deadline": "rõ thời gian (thời hạn)",
    "responsible": "rõ trách nhiệm (người chịu trách nhiệm)",
    "expected_result": "rõ kết quả (kết quả cần đạt)",
}
STATUS_VI = {"open": "Đang thực hiện", "done": "Đã hoàn thành", "overdue": "Quá hạn"}


@dataclass(frozen=True, slots=True)
class ActionFields:
    """What a caller sends for one action item; None means "not given"."""

    assignee_id: int | None = None
    task: str | None = None
    deadline: date | None = None
    responsible: str | None = None
    expected_result: str | None = None


def deadline_moment(day: date) -> datetime:
    """A deadline is a Vietnamese calendar day: the item is overdue once that day has passed."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=VN_TZ).astimezone(UTC) - timedelta(seconds=1)


def deadline_day(moment: datetime | None) -> date | None:
    return local_date(moment) if moment is not None else None


def status_at(action: ActionItem, at: datetime) -> str:
    """open | done | overdue, as things stood at `at`."""
    if action.status == "done" and (action.done_at is None or _aware(action.done_at) <= at):
        return "done"
    if action.deadline is not None and _aware(action.deadline) < at:
        return "overdue"
    return "open"


def require_five_clear(fields: ActionFields) -> None:
    missing: list[str] = []
    for name in FIELDS_VI:
        value = getattr(fields, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    if missing:
        raise Rejected(
            "action_incomplete",
            status=422,
            missing="; ".join(FIELDS_VI[name] for name in missing),
            fields=", ".join(missing),
        )


def _assignee(session: Session, branch_id: int, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.branch_id != branch_id or not member.active or member.category == Category.GUEST:
        raise Rejected("designated_not_member", status=422)
    return member


def add_action(session: Session, resolution: Resolution, branch_id: int, fields: ActionFields) -> ActionItem:
    require_five_clear(fields)
    assert fields.assignee_id is not None and fields.deadline is not None  # require_five_clear saw to it
    _assignee(session, branch_id, fields.assignee_id)
    action = ActionItem(
        resolution_id=resolution.id,
        assignee_id=fields.assignee_id,
        task=(fields.task or "").strip(),
        deadline=deadline_moment(fields.deadline),
        responsible=(fields.responsible or "").strip(),
        expected_result=(fields.expected_result or "").strip(),
        status="open",
    )
    session.add(action)
    session.flush()
    return action


def update_action(session: Session, action: ActionItem, branch_id: int, changes: dict[str, Any]) -> ActionItem:
    """Change the given 5 rõ fields; the result must still be complete."""
    current = ActionFields(
        assignee_id=action.assignee_id,
        task=action.task,
        deadline=deadline_day(action.deadline),
        responsible=action.responsible,
        expected_result=action.expected_result,
    )
    merged = ActionFields(**{name: changes.get(name, getattr(current, name)) for name in FIELDS_VI})
    require_five_clear(merged)
    assert merged.assignee_id is not None and merged.deadline is not None
    _assignee(session, branch_id, merged.assignee_id)
    action.assignee_id = merged.assignee_id
    action.task = (merged.task or "").strip()
    action.deadline = deadline_moment(merged.deadline)
    action.responsible = (merged.responsible or "").strip()
    action.expected_result = (merged.expected_result or "").strip()
    session.flush()
    return action


def set_done(action: ActionItem, done: bool, now: datetime) -> None:
    action.status = "done" if done else "open"
    action.done_at = now if done else None


# -- reading ------------------------------------------------------------------------------------------------------
def names_of(session: Session, member_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {m for m in member_ids if m is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Member.id, Member.full_name).where(Member.id.in_(wanted))).all())


def action_row(action: ActionItem, names: dict[int, str], at: datetime, meeting_id: int | None = None) -> ActionRow:
    day = deadline_day(action.deadline)
    return ActionRow(
        action_id=action.id,
        assignee_id=action.assignee_id,
        assignee=names.get(action.assignee_id, "") if action.assignee_id else "",
        task=action.task,
        deadline=day.isoformat() if day else None,
        responsible=action.responsible,
        expected_result=action.expected_result,
        status=status_at(action, at),
        meeting_id=meeting_id,
    )


def resolutions_of(session: Session, meeting_id: int) -> list[tuple[Resolution, list[ActionItem]]]:
    resolutions = list(
        session.scalars(select(Resolution).where(Resolution.meeting_id == meeting_id).order_by(Resolution.id))
    )
    actions = (
        list(
            session.scalars(
                select(ActionItem)
                .where(ActionItem.resolution_id.in_([r.id for r in resolutions]))
                .order_by(ActionItem.id)
            )
        )
        if resolutions
        else []
    )
    return [(r, [a for a in actions if a.resolution_id == r.id]) for r in resolutions]


def resolution_records(session: Session, meeting_id: int, at: datetime) -> list[ResolutionRecord]:
    found = resolutions_of(session, meeting_id)
    names = names_of(session, (a.assignee_id for _, actions in found for a in actions))
    return [
        ResolutionRecord(
            resolution_id=r.id,
            title=r.title,
            text=r.text,
            actions=[action_row(a, names, at, meeting_id) for a in actions],
        )
        for r, actions in found
    ]


def previous_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    """The branch's meeting held just before this one (the one whose resolution this one reviews)."""
    return session.scalars(
        select(Meeting)
        .where(
            Meeting.branch_id == meeting.branch_id,
            Meeting.id != meeting.id,
            Meeting.status == "ended",
            Meeting.scheduled_at <= meeting.scheduled_at,
        )
        .order_by(Meeting.scheduled_at.desc(), Meeting.id.desc())
        .limit(1)
    ).first()


def review_rows(session: Session, meeting: Meeting, at: datetime) -> list[ActionRow]:
    """What the "review of the last resolution" item goes through: every action item of the previous meeting,
    and every older one not done by `at`, with their status at `at`."""
    earlier = session.execute(
        select(ActionItem, Resolution.meeting_id, Meeting.scheduled_at)
        .join(Resolution, Resolution.id == ActionItem.resolution_id)
        .join(Meeting, Meeting.id == Resolution.meeting_id)
        .where(
            Meeting.branch_id == meeting.branch_id,
            Meeting.id != meeting.id,
            Meeting.scheduled_at <= meeting.scheduled_at,
        )
        .order_by(Meeting.scheduled_at, ActionItem.id)
    ).all()
    previous = previous_meeting(session, meeting)
    names = names_of(session, (row[0].assignee_id for row in earlier))
    rows = []
    for action, meeting_id, _ in earlier:
        row = action_row(action, names, at, meeting_id)
        if (previous is not None and meeting_id == previous.id) or row.status != "done":
            rows.append(row)
    return rows


def member_actions(session: Session, member_id: int, at: datetime) -> list[dict[str, Any]]:
    """A member's own action items, newest meeting first, with the meeting they came from."""
    found = session.execute(
        select(ActionItem, Meeting)
        .join(Resolution, Resolution.id == ActionItem.resolution_id)
        .join(Meeting, Meeting.id == Resolution.meeting_id)
        .where(ActionItem.assignee_id == member_id)
        .order_by(Meeting.scheduled_at.desc(), ActionItem.id)
    ).all()
    names = names_of(session, [member_id])
    return [
        {
            **action_row(action, names, at, meeting.id).model_dump(mode="json"),
            "meeting_title": meeting.title,
            "meeting_date": local_date(_aware(meeting.scheduled_at)).isoformat(),
        }
        for action, meeting in found
    ]


def member_actions_for_meeting(
    session: Session, member_id: int, meeting: Meeting, at: datetime
) -> list[dict[str, Any]]:
    """The member's own items that `meeting` deals with: those its review step goes through (`review_rows`: the
    previous meeting's items whatever their status, and older ones not yet done), which the member reports on
    there, and those the meeting itself sets. Newest meeting first, as `member_actions`."""
    reviewed = {row.action_id for row in review_rows(session, meeting, at)}
    return [
        item
        for item in member_actions(session, member_id, at)
        if item["meeting_id"] == meeting.id or item["action_id"] in reviewed
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
