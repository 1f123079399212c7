"""Attendance rules: check-in in the room or online, leaving and returning, late arrival, absences."""

import pytest

from meeting.domain import commands as c
from meeting.domain.model import AttendanceMode, AttendanceStatus
from tests.domain.builders import CHAIR, CLERK, HALL, NOT_IN_ROSTER, SYSTEM, T0, Meeting, started, types


def record(meeting: Meeting, member_id: int):
    return meeting.state.attendance_of(member_id)


@pytest.mark.parametrize("mode", [AttendanceMode.IN_PERSON, AttendanceMode.REMOTE])
def test_clerk_checks_members_in_in_the_room_or_online(mode):
    meeting = Meeting()
    events = meeting.do(c.CheckIn(member_id=3, mode=mode), CLERK)
    assert types(events) == ["checked_in"] and events[0].by == CLERK
    attendance = record(meeting, 3)
    assert (attendance.status, attendance.mode, attendance.first_arrived_at) == (
        AttendanceStatus.PRESENT,
        mode,
        T0.isoformat(),
    )


def test_member_checks_in_only_themselves():
    meeting = Meeting()
    meeting.do(c.CheckIn(member_id=3, mode="remote"), 3)
    assert meeting.state.is_present(3)
    assert meeting.refuse(c.CheckIn(member_id=4, mode="remote"), 3) == "self_only"
    assert meeting.refuse(c.CheckIn(member_id=4, mode="in_person"), CHAIR) == "self_only"
    assert meeting.refuse(c.CheckIn(member_id=4, mode="in_person"), HALL) == "self_only"


def test_service_checks_in_a_remote_member_when_they_connect():
    meeting = Meeting()
    events = meeting.do(c.CheckIn(member_id=4, mode="remote"), SYSTEM)
    assert events[0].by is None
    assert meeting.state.is_present(4)


def test_only_roster_members_check_in():
    assert Meeting().refuse(c.CheckIn(member_id=NOT_IN_ROSTER, mode="remote"), CLERK) == "not_in_roster"


def test_checking_in_twice_the_same_way_is_refused():
    meeting = Meeting()
    meeting.check_in(3)
    assert meeting.refuse(c.CheckIn(member_id=3, mode="in_person"), CLERK) == "already_present"


def test_member_may_move_between_online_and_the_room():
    meeting = started(3, item=None, mode="remote")
    meeting.do(c.CheckIn(member_id=3, mode="in_person"), CLERK)
    attendance = record(meeting, 3)
    assert (attendance.mode, attendance.late) == (AttendanceMode.IN_PERSON, False)


def test_arrival_before_the_start_is_on_time():
    meeting = Meeting()
    events = meeting.do(c.CheckIn(member_id=3, mode="in_person"), CLERK)
    assert events[0].late is False and not record(meeting, 3).late


def test_arrival_after_the_start_is_late():
    meeting = started()
    meeting.advance(600)
    events = meeting.do(c.CheckIn(member_id=3, mode="remote"), 3)
    assert events[0].late is True
    assert record(meeting, 3).late
    assert record(meeting, 3).first_arrived_at == meeting.now.isoformat()


def test_member_may_leave_and_return():
    meeting = started(3)
    meeting.advance(60)
    meeting.do(c.Leave(member_id=3), 3)
    assert record(meeting, 3).status == AttendanceStatus.LEFT
    assert not meeting.state.is_present(3)
    meeting.advance(60)
    events = meeting.do(c.CheckIn(member_id=3, mode="in_person"), CLERK)
    assert events[0].returning is True
    assert events[0].late is False  # coming back is not arriving late
    attendance = record(meeting, 3)
    assert attendance.status == AttendanceStatus.PRESENT
    assert attendance.first_arrived_at < meeting.now.isoformat()  # the first arrival is kept


def test_late_arrival_stays_late_after_leaving_and_returning():
    meeting = started()
    meeting.check_in(3)
    meeting.do(c.Leave(member_id=3), CLERK)
    meeting.check_in(3)
    assert record(meeting, 3).late


def test_clerk_or_the_member_records_a_departure():
    meeting = started(3, 4)
    meeting.do(c.Leave(member_id=3), CLERK)
    assert meeting.refuse(c.Leave(member_id=4), 5) == "self_only"
    meeting.do(c.Leave(member_id=4), SYSTEM)  # a dropped connection
    assert not meeting.state.is_present(3) and not meeting.state.is_present(4)


def test_only_someone_present_can_leave():
    meeting = started(3)
    assert meeting.refuse(c.Leave(member_id=4), CLERK) == "not_checked_in"
    meeting.do(c.Leave(member_id=3), CLERK)
    assert meeting.refuse(c.Leave(member_id=3), CLERK) == "not_checked_in"


def test_absence_with_a_reason_is_excused():
    meeting = Meeting()
    meeting.do(c.MarkAbsent(member_id=3, reason="  Đi công tác  "), CLERK)
    attendance = record(meeting, 3)
    assert (attendance.status, attendance.reason) == (AttendanceStatus.ABSENT_EXCUSED, "Đi công tác")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_absence_without_a_reason_is_unexcused(reason):
    meeting = Meeting()
    meeting.do(c.MarkAbsent(member_id=3, reason=reason), CLERK)
    attendance = record(meeting, 3)
    assert (attendance.status, attendance.reason) == (AttendanceStatus.ABSENT_UNEXCUSED, None)


@pytest.mark.parametrize("who", [CHAIR, 3, HALL])
def test_only_clerk_records_an_absence(who):
    meeting = Meeting()
    assert meeting.refuse(c.MarkAbsent(member_id=3, reason="Ốm"), who) == "clerk_only"


def test_service_records_absence_notices_sent_before_the_meeting():
    meeting = Meeting()
    meeting.do(c.MarkAbsent(member_id=4, reason="Báo vắng trước"), SYSTEM)
    assert record(meeting, 4).status == AttendanceStatus.ABSENT_EXCUSED


def test_present_member_cannot_be_marked_absent():
    meeting = started(3)
    assert meeting.refuse(c.MarkAbsent(member_id=3, reason="Nhầm"), CLERK) == "present_cannot_be_absent"
    assert meeting.refuse(c.MarkAbsent(member_id=3), SYSTEM) == "present_cannot_be_absent"


def test_a_member_who_attended_and_left_cannot_be_marked_absent():
    """Leaving early is in the record as such; marking them absent afterwards would erase that they attended."""
    meeting = started(3)
    meeting.do(c.Leave(member_id=3), CLERK)
    assert meeting.refuse(c.MarkAbsent(member_id=3, reason="Về sớm"), CLERK) == "attended_cannot_be_absent"
    assert record(meeting, 3).status == AttendanceStatus.LEFT


def test_absent_member_who_comes_anyway_checks_in():
    meeting = Meeting()
    meeting.do(c.MarkAbsent(member_id=3, reason="Ốm"), CLERK)
    meeting.check_in(3, mode="remote")
    attendance = record(meeting, 3)
    assert (attendance.status, attendance.reason) == (AttendanceStatus.PRESENT, None)


def test_absence_only_for_roster_members():
    assert Meeting().refuse(c.MarkAbsent(member_id=NOT_IN_ROSTER), CLERK) == "not_in_roster"
