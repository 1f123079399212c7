"""Participation statistics: each figure from a meeting run through the real service, and the demo history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from meeting import planning, stats
from meeting.db.models import ActionItem, DocumentAccess, JournalEvent, Meeting, ReportSubmission, Resolution
from meeting.domain import Actor
from meeting.domain import commands as c


def _run_known_meeting(context, branch):
    """Officials 0-3 in the room (3 comes late), 4 online, 5 absent with notice; probationary online; the
    exempt member stays away. Official 2 speaks twice, the probationary member once."""
    o = branch.officials
    with context.sessions.begin() as session:
        planning.send_absence_notice(session, branch.meeting_id, o[5], "Đi công tác")
    service, m = context.service, branch.meeting_id
    clerk, chair = Actor.member(branch.clerk), Actor.member(branch.chair)
    for member_id in o[:3]:
        service.execute(m, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    service.execute(m, c.CheckIn(member_id=o[4], mode="remote"), Actor.member(o[4]))
    service.execute(m, c.CheckIn(member_id=branch.probationary, mode="remote"), Actor.member(branch.probationary))
    service.execute(m, c.StartMeeting(), chair)
    service.execute(m, c.CheckIn(member_id=o[3], mode="in_person"), clerk)
    service.execute(m, c.OpenItem(item_id=branch.item_ids[3]), chair)
    for speaker in (o[2], branch.probationary, o[2]):
        service.execute(m, c.RaiseHand(), Actor.member(speaker))
        service.execute(m, c.NextSpeaker(), chair)
        service.execute(m, c.YieldFloor(), Actor.member(speaker))
    service.execute(m, c.WriteEntry(entry_id="e1", item_id=branch.item_ids[3], text="Đồng ý.", speaker_id=o[2]), clerk)
    service.execute(m, c.EndMeeting(), chair)


def _add_actions(context, branch, now):
    o = branch.officials
    with context.sessions.begin() as session:
        resolution = Resolution(meeting_id=branch.meeting_id, title="Nghị quyết", status="adopted")
        session.add(resolution)
        session.flush()
        deadline = now - timedelta(days=5)
        for assignee, status, done_at in (
            (o[2], "done", deadline - timedelta(days=1)),  # on time
            (o[2], "done", deadline + timedelta(days=2)),  # late
            (o[2], "open", None),  # overdue
            (o[4], "open", None),  # overdue
        ):
            session.add(
                ActionItem(
                    resolution_id=resolution.id,
                    assignee_id=assignee,
                    task="Việc",
                    deadline=deadline,
                    status=status,
                    done_at=done_at,
                )
            )
        session.add(
            ActionItem(resolution_id=resolution.id, assignee_id=o[4], task="Chưa đến hạn", deadline=now + timedelta(1))
        )


def test_participation_figures_per_member(context, branch):
    _run_known_meeting(context, branch)
    now = datetime.now(UTC)
    _add_actions(context, branch, now)
    with context.sessions() as session:
        report = stats.branch_participation(session, branch.branch_id, now=now)
    people = {p.member_id: p for p in report.members}
    o = branch.officials
    assert [m["meeting_id"] for m in report.meetings] == [branch.meeting_id]
    assert (people[o[0]].in_room, people[o[0]].online, people[o[0]].attendance_rate) == (1, 0, 1.0)
    assert (people[o[3]].attended, people[o[3]].late) == (1, 1)
    assert (people[o[4]].online, people[o[4]].in_room) == (1, 0)
    assert (people[o[5]].absent_excused, people[o[5]].attended, people[o[5]].attendance_rate) == (1, 0, 0.0)
    assert (people[o[2]].times_spoken, people[o[2]].opinions_recorded) == (2, 1)
    assert people[branch.probationary].times_spoken == 1
    assert branch.exempt not in people  # exempt and absent: not held against them, nothing to show
    assert branch.guest not in people
    two = people[o[2]]
    assert (two.actions_assigned, two.actions_done_on_time, two.actions_done_late, two.actions_overdue) == (3, 1, 1, 1)
    assert two.on_time_rate == round(1 / 3, 4)
    four = people[o[4]]
    assert (four.actions_assigned, four.actions_overdue, four.on_time_rate) == (2, 1, 0.0)
    summary = report.to_json()["summary"]
    assert summary["meetings"] == 1 and summary["times_spoken"] == 3
    # 6 came (officials 0-4, the probationary member) of 7 expected (official 5 absent; the exempt member not counted)
    assert summary["attendance_rate"] == round(6 / 7, 4)


def test_meetings_not_ended_or_outside_the_period_are_left_out(context, branch):
    with context.sessions() as session:
        report = stats.branch_participation(session, branch.branch_id)
    assert report.meetings == [] and report.members == []
    _run_known_meeting(context, branch)
    with context.sessions() as session:
        later = stats.branch_participation(session, branch.branch_id, since=datetime.now(UTC) + timedelta(days=2))
    assert later.meetings == []


def test_chart_is_well_formed_svg_with_one_bar_group_per_member(context, branch):
    _run_known_meeting(context, branch)
    with context.sessions() as session:
        report = stats.branch_participation(session, branch.branch_id)
    svg = stats.participation_svg(report)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    texts = [t.text for t in root.iter(f"{ns}text")]
    for person in report.members:
        assert person.name in texts
    assert "100% · 2 phát biểu" in texts  # official 2: came, spoke twice
    assert "0% · 0 phát biểu" in texts  # official 5: absent with notice
    bars = [r for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    # every counted status of every member is a bar, and no bar is wider than the plot
    assert len(bars) == sum(
        bool(getattr(p, k)) for p in report.members for k in ("in_room", "online", "absent_excused", "absent_unexcused")
    )
    assert all(0 < float(bar.get("width")) <= 360 for bar in bars)
    english = stats.participation_svg(report, lang="en")
    assert "In the room" in english and "spoke" in english


def test_chart_escapes_names(context, branch):
    report = stats.BranchParticipation(
        branch.branch_id,
        datetime.now(UTC),
        datetime.now(UTC),
        [],
        [stats.MemberParticipation(1, "<A & B>", "official")],
    )
    svg = stats.participation_svg(report)
    assert "&lt;A &amp; B&gt;" in svg
    ET.fromstring(svg)


def test_seed_history_makes_real_meetings_the_statistics_can_show(context, branch):
    now = datetime(2025, 6, 20, 3, 0, tzinfo=UTC)
    meeting_ids = stats.seed_history(context, branch.branch_id, months=1, now=now)
    assert len(meeting_ids) == 2
    with context.sessions() as session:
        meetings = [session.get(Meeting, mid) for mid in meeting_ids]
        assert [m.status for m in meetings] == ["ended", "ended"]
        assert {m.kind for m in meetings} == {"regular", "thematic"}
        assert all(stats._aware(m.scheduled_at) < now for m in meetings)
        for meeting_id in meeting_ids:
            assert context.service.events_after(meeting_id, 0)[0].event.type == "journal_opened"
            events = session.scalar(select(func.count()).where(JournalEvent.meeting_id == meeting_id))
            assert events > 20
        from meeting import journal

        assert all(journal.verify(session, mid).valid for mid in meeting_ids)
        assert session.scalar(select(func.count()).select_from(ReportSubmission)) == 1
        thematic = next(m for m in meetings if m.kind == "thematic")
        assert planning.draft_status(session, thematic).on_time is True
        assert session.scalar(select(func.count()).select_from(DocumentAccess)) > 0
        report = stats.branch_participation(session, branch.branch_id, now=now)
    assert len(report.meetings) == 2
    assert sum(p.attended for p in report.members) > 0
    assert sum(p.times_spoken for p in report.members) >= 4
    assert sum(p.actions_assigned for p in report.members) == 6
    again = stats.seed_history(context, branch.branch_id, months=1, now=now)
    assert len(set(again) & set(meeting_ids)) == 0  # a second call adds meetings, never rewrites
