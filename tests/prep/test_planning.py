"""Planning rules: presenter and designated speakers, the thematic warnings, absence notices, calendar files."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from meeting import planning
from meeting.db.models import AgendaItem, Attendance, Document, Meeting, Member
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import AttendanceStatus, MeetingKind
from meeting.errors import Rejected
from tests.factories import seed_branch


@pytest.fixture
def thematic(context):
    return seed_branch(context.sessions, code="cb-chuyen-de", kind=MeetingKind.THEMATIC)


def _item(session, meeting_id: int, kind: str) -> AgendaItem:
    meeting = session.get(Meeting, meeting_id)
    return next(item for item in meeting.agenda if item.kind == kind)


def _codes(session, meeting_id: int) -> list[str]:
    return [w.code for w in planning.plan_warnings(session, session.get(Meeting, meeting_id))]


def test_thematic_plan_warns_until_presenter_and_five_designated_speakers(context, thematic):
    with context.sessions.begin() as session:
        discussion = _item(session, thematic.meeting_id, "discussion")
        topic = _item(session, thematic.meeting_id, "topic_report")
        assert "warn_no_presenter" in _codes(session, thematic.meeting_id)
        planning.assign_speakers(
            session, thematic.meeting_id, discussion.id, presenter_id=None, designated_speakers=thematic.officials[:4]
        )
        warnings = planning.plan_warnings(session, session.get(Meeting, thematic.meeting_id))
        few = next(w for w in warnings if w.code == "warn_too_few_designated")
        assert few.params == {"count": 4, "minimum": 5} and few.item_id == discussion.id
        assert "4" in few.to_json()["message"] and "5" in few.to_json()["message_en"]

        planning.assign_speakers(
            session, thematic.meeting_id, topic.id, presenter_id=thematic.chair, designated_speakers=[]
        )
        five = [*thematic.officials[2:6], thematic.probationary]
        planning.assign_speakers(
            session, thematic.meeting_id, discussion.id, presenter_id=None, designated_speakers=five
        )
        codes = _codes(session, thematic.meeting_id)
    assert "warn_too_few_designated" not in codes
    assert "warn_no_presenter" not in codes
    with context.sessions() as session:
        stored = _item(session, thematic.meeting_id, "discussion")
        assert stored.designated_speakers == five
        assert _item(session, thematic.meeting_id, "topic_report").presenter_id == thematic.chair


def test_regular_meeting_has_no_designated_speaker_minimum(context, branch):
    with context.sessions() as session:
        assert _codes(session, branch.meeting_id) == []


@pytest.mark.parametrize("who", ["guest", "other_branch", "duplicate"])
def test_only_the_branch_own_members_can_be_designated_once(context, thematic, who):
    other = seed_branch(context.sessions, code="cb-khac")
    speakers = {
        "guest": [thematic.officials[0], thematic.guest],
        "other_branch": [thematic.officials[0], other.officials[0]],
        "duplicate": [thematic.officials[0], thematic.officials[0]],
    }[who]
    with context.sessions.begin() as session:
        discussion = _item(session, thematic.meeting_id, "discussion")
        with pytest.raises(Rejected) as refused:
            planning.assign_speakers(
                session, thematic.meeting_id, discussion.id, presenter_id=None, designated_speakers=speakers
            )
    assert refused.value.code == ("designated_duplicate" if who == "duplicate" else "designated_not_member")
    with context.sessions() as session:
        assert _item(session, thematic.meeting_id, "discussion").designated_speakers == []


def test_designated_speakers_are_pre_placed_in_their_item_queue(context, thematic):
    designated = [thematic.officials[3], thematic.officials[2], thematic.probationary]
    with context.sessions.begin() as session:
        discussion_id = _item(session, thematic.meeting_id, "discussion").id
        planning.assign_speakers(
            session, thematic.meeting_id, discussion_id, presenter_id=None, designated_speakers=designated
        )
    context.service.open(thematic.meeting_id)
    state, _ = context.service.state(thematic.meeting_id)
    assert [hand.member_id for hand in state.queue(discussion_id)] == designated
    # Once the journal is open the plan is the journal's: no more changes here.
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        planning.assign_speakers(
            session, thematic.meeting_id, discussion_id, presenter_id=None, designated_speakers=designated[:1]
        )
    assert refused.value.code == "plan_locked"


def _draft(session, meeting_id: int, branch_id: int, distributed_at: datetime | None) -> None:
    session.add(
        Document(
            branch_id=branch_id,
            meeting_id=meeting_id,
            filename="du-thao.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_key=f"k-{distributed_at}",
            kind="draft_report",
            distributed_at=distributed_at,
        )
    )


@pytest.mark.parametrize(
    ("distributed_at", "late"),
    [
        # The meeting is on Tuesday 4 Feb 2025, right after Tết: the deadline is Thursday 23 January.
        (datetime(2025, 1, 23, 16, 59, tzinfo=UTC), False),  # 23:59 on the 23rd in Hà Nội
        (datetime(2025, 1, 23, 17, 0, tzinfo=UTC), True),  # 00:00 on the 24th in Hà Nội
        (datetime(2025, 2, 3, 2, 0, tzinfo=UTC), True),
    ],
)
def test_thematic_draft_must_reach_members_three_working_days_before(context, thematic, distributed_at, late):
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, thematic.meeting_id)
        meeting.scheduled_at = datetime(2025, 2, 4, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
        assert "warn_draft_not_distributed" in _codes(session, thematic.meeting_id)
        _draft(session, thematic.meeting_id, thematic.branch_id, None)  # uploaded, not distributed: still missing
        assert "warn_draft_not_distributed" in _codes(session, thematic.meeting_id)
        _draft(session, thematic.meeting_id, thematic.branch_id, distributed_at)
        session.flush()
        status = planning.draft_status(session, meeting)
        warnings = planning.plan_warnings(session, meeting)
    assert status.deadline.isoformat() == "2025-01-23"
    assert status.on_time is (not late)
    codes = [w.code for w in warnings]
    assert "warn_draft_not_distributed" not in codes
    assert ("warn_draft_late" in codes) is late
    if late:
        warning = next(w for w in warnings if w.code == "warn_draft_late")
        assert warning.params["deadline"] == "2025-01-23"


def test_absence_notice_prefills_the_attendance_log_when_the_journal_opens(context, branch):
    absent, withdrawn, comes_anyway = branch.officials[3], branch.officials[4], branch.officials[5]
    with context.sessions.begin() as session:
        planning.send_absence_notice(session, branch.meeting_id, absent, "  Đi   công tác tỉnh ")
        planning.send_absence_notice(session, branch.meeting_id, withdrawn, "Ốm")
        planning.withdraw_absence_notice(session, branch.meeting_id, withdrawn)
        planning.send_absence_notice(session, branch.meeting_id, comes_anyway, "Bận việc gia đình")
    context.service.open(branch.meeting_id)  # the clerk's console opens it (a member's command opens nothing)
    context.service.execute(
        branch.meeting_id, c.CheckIn(member_id=comes_anyway, mode="remote"), Actor.member(comes_anyway)
    )
    state, _ = context.service.state(branch.meeting_id)
    assert state.attendance_of(absent).status == AttendanceStatus.ABSENT_EXCUSED
    assert state.attendance_of(absent).reason == "Đi công tác tỉnh"
    assert state.attendance_of(withdrawn).status == AttendanceStatus.EXPECTED
    assert state.attendance_of(comes_anyway).status == AttendanceStatus.PRESENT
    with context.sessions() as session:
        row = session.get(Attendance, (branch.meeting_id, absent))
        assert (row.status, row.reason) == ("absent_excused", "Đi công tác tỉnh")
    # The pre-filled absences are part of the chained journal, rebuilt the same from it.
    assert context.service.rebuild(branch.meeting_id)[0] == state


def test_absence_notice_needs_a_reason_and_a_meeting_not_yet_started(context, branch):
    member = branch.officials[3]
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        planning.send_absence_notice(session, branch.meeting_id, member, "   ")
    assert refused.value.code == "absence_reason_required"
    clerk, chair = Actor.member(branch.clerk), Actor.member(branch.chair)
    context.service.execute(branch.meeting_id, c.CheckIn(member_id=branch.chair, mode="in_person"), clerk)
    context.service.execute(branch.meeting_id, c.StartMeeting(), chair)
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        planning.send_absence_notice(session, branch.meeting_id, member, "Ốm")
    assert refused.value.code == "absence_too_late"
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        planning.withdraw_absence_notice(session, branch.meeting_id, member)
    assert refused.value.code == "absence_withdraw_too_late"


def test_designated_speaker_who_sends_an_absence_notice_is_flagged(context, thematic):
    speaker = thematic.officials[2]
    with context.sessions.begin() as session:
        discussion = _item(session, thematic.meeting_id, "discussion")
        planning.assign_speakers(
            session, thematic.meeting_id, discussion.id, presenter_id=None, designated_speakers=[speaker]
        )
        planning.send_absence_notice(session, thematic.meeting_id, speaker, "Nằm viện")
        warnings = planning.plan_warnings(session, session.get(Meeting, thematic.meeting_id))
        name = session.get(Member, speaker).full_name
    flagged = [w for w in warnings if w.code == "warn_designated_absent"]
    assert len(flagged) == 1 and flagged[0].params == {"name": name} and flagged[0].item_id == discussion.id


def _unfold(ics: str) -> list[str]:
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    lines: list[str] = []
    for raw in ics.split("\r\n")[:-1]:
        assert len(raw.encode("utf-8")) <= 75, raw
        if raw.startswith(" "):
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def test_calendar_file_is_valid_icalendar_with_the_meeting(context, branch):
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, branch.meeting_id)
        meeting.scheduled_at = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
        meeting.place = "Nhà văn hóa thôn Đông, xã Yên Thường; phòng 2"
        ics = planning.meeting_ics(session, meeting, "https://hop.example.vn", now=datetime(2025, 3, 1, tzinfo=UTC))
        agenda_titles = [item.title for item in meeting.agenda]
    lines = _unfold(ics)
    fields = dict(line.split(":", 1) for line in lines if not line.startswith(("BEGIN", "END")))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert fields["UID"] == f"meeting-{branch.meeting_id}@hop.example.vn"
    assert fields["DTSTART"] == "20250314T013000Z" and fields["DTEND"] == "20250314T033000Z"
    assert fields["LOCATION"] == "Nhà văn hóa thôn Đông\\, xã Yên Thường\\; phòng 2"
    description = _unescape(next(line for line in lines if line.startswith("DESCRIPTION:Chi")))
    assert all(f"{n}. {title}\n" in description for n, title in enumerate(agenda_titles, 1))
    assert f"/join/{branch.meeting_id}" in description
    assert "TRIGGER:-PT2H" in lines


def test_member_meeting_list_shows_the_absence_notice(context, branch):
    member_id = branch.officials[4]
    with context.sessions.begin() as session:
        planning.send_absence_notice(session, branch.meeting_id, member_id, "Đi viện")
        member = session.get(Member, member_id)
        listed = planning.member_meetings(session, member)
        other = planning.member_meetings(session, session.get(Member, branch.officials[3]))
    assert [m["meeting_id"] for m in listed] == [branch.meeting_id]
    assert listed[0]["absence_notice"]["reason"] == "Đi viện"
    assert other[0]["absence_notice"] is None


def test_agenda_can_be_edited_until_the_journal_opens(context, branch):
    with context.sessions.begin() as session:
        added = planning.add_item(session, branch.meeting_id, title="  Công tác  phát triển đảng ", position=2)
        planning.remove_item(session, branch.meeting_id, branch.item_ids[1])
        added_id = added.id
    with context.sessions() as session:
        agenda = session.get(Meeting, branch.meeting_id).agenda
        assert [i.id for i in agenda] == [branch.item_ids[0], added_id, *branch.item_ids[2:]]
        assert [i.position for i in agenda] == list(range(len(agenda)))
        assert agenda[1].title == "Công tác phát triển đảng"
        order = [i.id for i in reversed(agenda)]
    with context.sessions.begin() as session:
        planning.reorder_items(session, branch.meeting_id, order)
        with pytest.raises(Rejected) as refused:
            planning.reorder_items(session, branch.meeting_id, order[:-1])
        assert refused.value.code == "bad_order"
        with pytest.raises(Rejected) as refused:
            planning.add_item(session, branch.meeting_id, title="   ")
        assert refused.value.status == 422
    context.service.open(branch.meeting_id)
    state, _ = context.service.state(branch.meeting_id)
    assert [item.id for item in state.agenda] == order  # the journal starts from the edited plan
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        planning.add_item(session, branch.meeting_id, title="Quá muộn")
    assert refused.value.code == "plan_locked"
