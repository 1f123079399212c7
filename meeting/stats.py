"""Participation statistics per member across a branch's meetings ("đánh giá mức độ tham gia của đảng viên"):
attendance rate, in the room or online, times spoken, action items done on time; with a chart drawn as SVG.

Everything is read from the projection tables of ended meetings (attendance, speaker turns, minutes) and the
record's action items, with a handful of grouped queries whatever the number of meetings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meeting.db.models import (
    ActionItem,
    Attendance,
    Meeting,
    Member,
    MinuteEntry,
    ReportSubmission,
    Resolution,
    SpeakerRequest,
)
from meeting.domain.model import AttendanceStatus, Category, MeetingKind

if TYPE_CHECKING:
    from meeting.context import AppContext

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LEFT)


@dataclass
class MemberParticipation:
    member_id: int
    name: str
    category: str
    meetings_expected: int = 0  # meetings the member was expected at (an exempt member: only those attended)
    attended: int = 0
    in_room: int = 0
    online: int = 0
    late: int = 0
    absent_excused: int = 0
    absent_unexcused: int = 0  # no reason given, or never recorded at all
    times_spoken: int = 0  # turns at the floor
    opinions_recorded: int = 0  # opinions in the minutes under the member's name
    actions_assigned: int = 0
    actions_done_on_time: int = 0
    actions_done_late: int = 0
    actions_overdue: int = 0  # still open after the deadline

    @property
    def attendance_rate(self) -> float | None:
        return round(self.attended / self.meetings_expected, 4) if self.meetings_expected else None

    @property
    def on_time_rate(self) -> float | None:
        due = self.actions_done_on_time + self.actions_done_late + self.actions_overdue
        return round(self.actions_done_on_time / due, 4) if due else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "attendance_rate": self.attendance_rate, "on_time_rate": self.on_time_rate}


@dataclass
class BranchParticipation:
    branch_id: int
    since: datetime
    until: datetime
    meetings: list[dict[str, Any]]
    members: list[MemberParticipation]

    def to_json(self) -> dict[str, Any]:
        expected = sum(m.meetings_expected for m in self.members)
        attended = sum(m.attended for m in self.members)
        in_room = sum(m.in_room for m in self.members)
        return {
            "branch_id": self.branch_id,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "meetings": self.meetings,
            "summary": {
                "meetings": len(self.meetings),
                "attendance_rate": round(attended / expected, 4) if expected else None,
                "in_room_share": round(in_room / attended, 4) if attended else None,
                "times_spoken": sum(m.times_spoken for m in self.members),
            },
            "members": [m.to_json() for m in self.members],
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def branch_participation(
    session: Session,
    branch_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> BranchParticipation:
    """Per-member participation over the branch's ended meetings scheduled in [since, until) (default: the
    last twelve months)."""
    now = now or datetime.now(UTC)
    until = until or now + timedelta(days=1)
    since = since or until - timedelta(days=366)
    meetings = session.execute(
        select(Meeting.id, Meeting.title, Meeting.kind, Meeting.scheduled_at)
        .where(
            Meeting.branch_id == branch_id,
            Meeting.status == "ended",
            Meeting.scheduled_at >= since,
            Meeting.scheduled_at < until,
        )
        .order_by(Meeting.scheduled_at)
    ).all()
    meeting_ids = [row.id for row in meetings]
    people = {
        m.id: MemberParticipation(m.id, m.full_name, m.category)
        for m in session.scalars(
            select(Member).where(Member.branch_id == branch_id, Member.category != Category.GUEST).order_by(Member.id)
        )
    }
    _count_attendance(session, meeting_ids, people)
    for member_id, turns in session.execute(
        select(SpeakerRequest.member_id, func.count())
        .where(SpeakerRequest.meeting_id.in_(meeting_ids), SpeakerRequest.granted_at.is_not(None))
        .group_by(SpeakerRequest.member_id)
    ):
        if member_id in people:
            people[member_id].times_spoken = turns
    for member_id, opinions in session.execute(
        select(MinuteEntry.speaker_id, func.count())
        .where(MinuteEntry.meeting_id.in_(meeting_ids), MinuteEntry.kind == "opinion")
        .group_by(MinuteEntry.speaker_id)
    ):
        if member_id in people:
            people[member_id].opinions_recorded = opinions
    _count_actions(session, meeting_ids, people, now)
    # Members who left the branch and never attended in the period are of no interest here.
    members = [p for p in people.values() if p.meetings_expected or p.actions_assigned]
    listed = [
        {
            "meeting_id": row.id,
            "title": row.title,
            "kind": row.kind,
            "scheduled_at": _aware(row.scheduled_at).isoformat(),
        }
        for row in meetings
    ]
    return BranchParticipation(branch_id, since, until, listed, members)


def _count_attendance(session: Session, meeting_ids: list[int], people: dict[int, MemberParticipation]) -> None:
    rows = session.execute(
        select(Attendance.member_id, Attendance.status, Attendance.mode, Attendance.late, func.count())
        .where(Attendance.meeting_id.in_(meeting_ids))
        .group_by(Attendance.member_id, Attendance.status, Attendance.mode, Attendance.late)
    )
    for member_id, status, mode, late, count in rows:
        person = people.get(member_id)
        if person is None:
            continue
        if status in ATTENDED:
            person.meetings_expected += count
            person.attended += count
            person.late += count if late else 0
            if mode == "remote":
                person.online += count
            else:
                person.in_room += count
        elif person.category == Category.EXEMPT:
            continue  # exempt from meetings: an absence is not held against them
        elif status == AttendanceStatus.ABSENT_EXCUSED:
            person.meetings_expected += count
            person.absent_excused += count
        else:
            person.meetings_expected += count
            person.absent_unexcused += count


def _count_actions(
    session: Session, meeting_ids: list[int], people: dict[int, MemberParticipation], now: datetime
) -> None:
    rows = session.execute(
        select(ActionItem.assignee_id, ActionItem.status, ActionItem.deadline, ActionItem.done_at)
        .join(Resolution, Resolution.id == ActionItem.resolution_id)
        .where(Resolution.meeting_id.in_(meeting_ids), ActionItem.assignee_id.is_not(None))
    )
    for assignee_id, status, deadline, done_at in rows:
        person = people.get(assignee_id)
        if person is None:
            continue
        person.actions_assigned += 1
        deadline, done_at = _aware(deadline), _aware(done_at)
        if status == "done":
            if deadline is None or (done_at is not None and done_at <= deadline):
                person.actions_done_on_time += 1
            else:
                person.actions_done_late += 1
        elif deadline is not None and deadline < now:
            person.actions_overdue += 1


# -- the chart ------------------------------------------------------------------------------------------------
CHART_COLOURS = {
    "in_room": "#1d4e89",
    "online": "#4fa3d1",
    "absent_excused": "#c9c9c9",
    "absent_unexcused": "#c0392b",
}
LEGEND = (
    ("in_room", "Dự tại hội trường", "In the room"),
    ("online", "Dự trực tuyến", "Online"),
    ("absent_excused", "Vắng có lý do", "Absent, excused"),
    ("absent_unexcused", "Vắng không lý do", "Absent, no reason"),
)


def participation_svg(report: BranchParticipation, lang: str = "vi") -> str:
    """One bar per member: the meetings they were expected at, split into in the room / online / absent with
    and without reason; the number of times they spoke at the end. Plain SVG, readable without scripts."""
    label_w, bar_w, tail_w, row_h, top = 220, 360, 170, 26, 64
    width = label_w + bar_w + tail_w
    height = top + row_h * max(len(report.members), 1) + 20
    english = lang == "en"
    title = "Participation per member" if english else "Mức độ tham gia của từng đảng viên"
    spoke = "spoke" if english else "phát biểu"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="20" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    x = 8
    for key, vi, en in LEGEND:
        text = en if english else vi
        parts.append(f'<rect x="{x}" y="32" width="12" height="12" fill="{CHART_COLOURS[key]}"/>')
        parts.append(f'<text x="{x + 16}" y="43">{escape(text)}</text>')
        x += 22 + 7 * len(text)
    if not report.members:
        parts.append(f'<text x="8" y="{top + 16}">{"No meetings yet" if english else "Chưa có cuộc họp nào"}</text>')
    for index, person in enumerate(report.members):
        y = top + index * row_h
        parts.append(f'<text x="8" y="{y + 16}">{escape(person.name[:30])}</text>')
        total = max(person.meetings_expected, 1)
        offset = label_w
        for key in ("in_room", "online", "absent_excused", "absent_unexcused"):
            count = getattr(person, key)
            if not count:
                continue
            w = round(bar_w * count / total, 1)
            parts.append(
                f'<rect x="{offset}" y="{y + 4}" width="{w}" height="{row_h - 8}" fill="{CHART_COLOURS[key]}">'
                f"<title>{escape(person.name)}: {count}</title></rect>"
            )
            offset += w
        rate = person.attendance_rate
        rate_text = f"{round(rate * 100)}%" if rate is not None else "–"
        parts.append(
            f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{rate_text} · {person.times_spoken} {escape(spoke)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- demo history -----------------------------------------------------------------------------------------------
ABSENCE_REASONS = ("Đi công tác", "Ốm, đang điều trị", "Việc gia đình", "Trực cơ quan")
OPINIONS = (
    "Đồng ý với báo cáo; đề nghị bổ sung chỉ tiêu vệ sinh môi trường.",
    "Cần phân công cụ thể người theo dõi việc thu quỹ.",
    "Đề nghị chi bộ quan tâm hơn đến đảng viên cao tuổi.",
    "Nhất trí với dự thảo nghị quyết.",
    "Đề nghị làm rõ thời hạn hoàn thành đường bê tông.",
)


def seed_history(
    context: AppContext, branch_id: int, months: int = 1, now: datetime | None = None, seed: int | None = None
) -> list[int]:
    """Past meetings for a branch, run through the real MeetingService (so journals, attendance, speaker turns,
    votes and minutes are all real): each month a regular meeting, and a thematic one in the first month.
    Some members send absence notices, some join online, some speak. Resolutions get action items, some done
    on time, some late, some still open; every report but the latest is sent to the commune.
    Returns the ids of the meetings, oldest first. Deterministic for a given branch and seed."""
    from meeting import planning  # imported here: this module stays light for the read-only statistics

    now = now or datetime.now(UTC)
    rng = random.Random(seed if seed is not None else branch_id)
    with context.sessions() as session:
        members = list(
            session.scalars(
                select(Member).where(Member.branch_id == branch_id, Member.active.is_(True)).order_by(Member.id)
            )
        )
    officials = [m for m in members if m.category == Category.OFFICIAL]
    if len(officials) < 2:
        raise ValueError("seed_history needs a branch with at least two official members")
    chair = next((m for m in officials if m.role == "secretary"), officials[0])
    clerk = next((m for m in officials if m.id != chair.id and m.role == "deputy"), None)
    clerk = clerk or next(m for m in officials if m.id != chair.id)

    plans: list[tuple[MeetingKind, datetime]] = []
    for back in range(months, 0, -1):
        plans.append((MeetingKind.REGULAR, (now - timedelta(days=30 * back - 2)).replace(hour=1, minute=0)))
    plans.append((MeetingKind.THEMATIC, (now - timedelta(days=30 * months - 16)).replace(hour=7, minute=30)))
    plans.sort(key=lambda plan: plan[1])

    created: list[int] = []
    for index, (kind, start) in enumerate(plans):
        title = f"Sinh hoạt chi bộ {'chuyên đề' if kind == MeetingKind.THEMATIC else 'thường kỳ'} {start:%m/%Y}"
        with context.sessions.begin() as session:
            meeting = planning.create_meeting(
                session,
                branch_id=branch_id,
                kind=kind,
                title=title,
                scheduled_at=start,
                place="Hội trường nhà văn hóa",
                chair_id=chair.id,
                clerk_id=clerk.id,
            )
            meeting_id = meeting.id
            discussion = next(item for item in meeting.agenda if item.kind == "discussion")
            others = [m.id for m in members if m.category != Category.GUEST and m.id not in (chair.id, clerk.id)]
            designated = rng.sample(others, min(5, len(others))) if kind == MeetingKind.THEMATIC else []
            planning.assign_speakers(
                session, meeting_id, discussion.id, presenter_id=None, designated_speakers=designated
            )
            absent = [m for m in members if m.id not in (chair.id, clerk.id, *designated) and rng.random() < 0.12]
            for member in absent:
                planning.send_absence_notice(
                    session, meeting_id, member.id, rng.choice(ABSENCE_REASONS), now=start - timedelta(days=2)
                )
        if kind == MeetingKind.THEMATIC:
            _distribute_draft(context, meeting_id, start, members, rng)
        _run_meeting(context, meeting_id, start, members, chair.id, clerk.id, {m.id for m in absent}, rng)
        _record_outcome(context, meeting_id, start, members, chair.id, rng, now, submit=index < len(plans) - 1)
        created.append(meeting_id)
    return created


def _distribute_draft(
    context: AppContext, meeting_id: int, start: datetime, members: list[Member], rng: random.Random
) -> None:
    """The thematic meeting's draft report, distributed on time, and opened by most members."""
    from fpdf import FPDF

    from meeting import documents
    from meeting.calendar_vn import VN_TZ, add_working_days, local_date

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.multi_cell(0, 8, "Du thao bao cao chuyen de (demo)")
    deadline = add_working_days(local_date(start), -5)
    distributed_at = datetime(deadline.year, deadline.month, deadline.day, 9, 0, tzinfo=VN_TZ).astimezone(UTC)
    store = documents.store_from_settings(context.settings)
    with context.sessions.begin() as session:
        draft = documents.upload(
            session,
            store,
            meeting_id=meeting_id,
            filename="Dự thảo báo cáo chuyên đề.pdf",
            data=bytes(pdf.output()),
            kind=documents.DocumentKind.DRAFT_REPORT,
            now=distributed_at - timedelta(hours=1),
        )
        documents.distribute(session, meeting_id, [draft.id], now=distributed_at)
        for member in members:
            if member.category != Category.GUEST and rng.random() < 0.7:
                opened_at = distributed_at + timedelta(hours=rng.randint(1, 60))
                documents.open_document(session, store, draft, user_id=None, member_id=member.id, now=opened_at)


def _clock(start: datetime) -> Iterator[datetime]:
    moment = start - timedelta(minutes=15)
    while True:
        moment += timedelta(seconds=40)
        yield moment


def _run_meeting(
    context: AppContext,
    meeting_id: int,
    start: datetime,
    members: list[Member],
    chair_id: int,
    clerk_id: int,
    notified_absent: set[int],
    rng: random.Random,
) -> None:
    from meeting.domain import Actor
    from meeting.domain import commands as c
    from meeting.domain.rules import hall_voters_without_ballot, may_vote
    from meeting.service import MeetingService

    ticks = _clock(start)
    service = MeetingService(context.sessions, clock=lambda: next(ticks))
    chair, clerk = Actor.member(chair_id), Actor.member(clerk_id)
    run = service.execute
    late_comers: list[int] = []
    for member in members:
        if member.id in notified_absent:
            continue
        if member.id in (chair_id, clerk_id):
            run(meeting_id, c.CheckIn(member_id=member.id, mode="in_person"), clerk)
            continue
        roll = rng.random()
        if roll < 0.06 and member.category != Category.GUEST:
            continue  # did not come and sent no word: marked absent without reason below
        if roll < 0.12:
            late_comers.append(member.id)
        elif roll < 0.40:
            run(meeting_id, c.CheckIn(member_id=member.id, mode="remote"), Actor.member(member.id))
        else:
            run(meeting_id, c.CheckIn(member_id=member.id, mode="in_person"), clerk)
    run(meeting_id, c.StartMeeting(), chair)
    for member_id in late_comers:
        run(meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    state, _ = service.state(meeting_id)
    for member in members:
        if member.category != Category.GUEST and state.attendance_of(member.id).status == AttendanceStatus.EXPECTED:
            run(meeting_id, c.MarkAbsent(member_id=member.id, reason=None), clerk)
    for item in state.agenda:
        run(meeting_id, c.OpenItem(item_id=item.id), chair)
        if item.kind == "discussion":
            present = [m.id for m in members if service.state(meeting_id)[0].is_present(m.id) and m.id != chair_id]
            for member_id in rng.sample(present, min(len(present), rng.randint(2, 4))):
                if not any(h.member_id == member_id for h in service.state(meeting_id)[0].queue(item.id)):
                    run(meeting_id, c.RaiseHand(), Actor.member(member_id))
            while True:
                current = service.state(meeting_id)[0]
                if not [h for h in current.queue(item.id) if current.is_present(h.member_id)]:
                    break
                granted = run(meeting_id, c.NextSpeaker(), chair)
                speaker = granted[-1].event.member_id
                run(meeting_id, c.YieldFloor(), Actor.member(speaker))
                entry = f"e-{meeting_id}-{speaker}"
                run(
                    meeting_id,
                    c.WriteEntry(entry_id=entry, item_id=item.id, text=rng.choice(OPINIONS), speaker_id=speaker),
                    clerk,
                )
        if item.kind == "conclusion":
            run(meeting_id, c.ConcludeItem(item_id=item.id, text="Chi bộ thống nhất các nhiệm vụ tháng tới."), chair)
        if item.kind in ("resolution", "minutes"):
            vote_id = f"v-{item.kind}"
            question = "Thông qua nghị quyết" if item.kind == "resolution" else "Thông qua biên bản"
            run(meeting_id, c.OpenVote(vote_id=vote_id, question=question), chair)
            current = service.state(meeting_id)[0]
            for member_id, record in current.attendance.items():
                if record.mode == "remote" and may_vote(current, member_id):
                    run(meeting_id, c.CastBallot(vote_id=vote_id, choice="for"), Actor.member(member_id))
            current = service.state(meeting_id)[0]
            in_room = hall_voters_without_ballot(current, current.votes[vote_id])
            run(
                meeting_id,
                c.RecordHallCount(vote_id=vote_id, votes_for=in_room, votes_against=0, votes_abstain=0),
                clerk,
            )
            run(meeting_id, c.CloseVote(vote_id=vote_id), chair)
        run(meeting_id, c.CloseItem(item_id=item.id), chair)
    run(meeting_id, c.EndMeeting(), chair)


def _record_outcome(
    context: AppContext,
    meeting_id: int,
    start: datetime,
    members: list[Member],
    chair_id: int,
    rng: random.Random,
    now: datetime,
    submit: bool,
) -> None:
    """The resolution's action items ("5 rõ") and, for all but the latest meeting, the report to the commune."""
    assignees = [m for m in members if m.category in (Category.OFFICIAL, Category.PROBATIONARY)]
    with context.sessions.begin() as session:
        resolution = Resolution(
            meeting_id=meeting_id,
            title="Nghị quyết chi bộ",
            text="Tập trung hoàn thành các nhiệm vụ trọng tâm của tháng.",
            status="adopted",
            created_at=start + timedelta(hours=2),
        )
        session.add(resolution)
        session.flush()
        tasks = ("Vận động bà con tham gia làm đường", "Thu quỹ khuyến học", "Tổ chức họp tổ dân cư")
        for task in tasks:
            assignee = rng.choice(assignees)
            deadline = start + timedelta(days=rng.randint(7, 25))
            fate = rng.random()
            done_at = None
            if deadline < now and fate < 0.6:
                done_at = deadline - timedelta(days=rng.randint(0, 5))
            elif deadline < now and fate < 0.8:
                done_at = deadline + timedelta(days=rng.randint(1, 4))
            session.add(
                ActionItem(
                    resolution_id=resolution.id,
                    assignee_id=assignee.id,
                    task=task,
                    deadline=deadline,
                    responsible=assignee.full_name,
                    expected_result="Hoàn thành đúng hạn",
                    status="done" if done_at else "open",
                    done_at=done_at,
                )
            )
        if submit:
            session.add(
                ReportSubmission(
                    meeting_id=meeting_id,
                    branch_id=session.get(Meeting, meeting_id).branch_id,
                    submitted_at=start + timedelta(days=2),
                    minutes_shared=rng.random() < 0.5,
                )
            )
