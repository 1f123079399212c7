"""The commune overview: monthly meetings held or missing, late reports, attendance; minutes only when shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meeting import commune as cm
from meeting.auth import Principal
from meeting.db.models import Branch, Commune, Meeting, User
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.errors import Rejected
from meeting.service import MeetingService
from tests.factories import seed_branch


def hold(context, seeded, meeting_id: int, at: datetime, present: list[int]) -> None:
    """Run a meeting through the service at a fixed past time: check in `present`, start, write one minute, end."""
    service = MeetingService(context.sessions, clock=lambda: at)
    clerk, chair = Actor.member(seeded.clerk), Actor.member(seeded.chair)
    for member_id in present:
        service.execute(meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    state, _ = service.state(meeting_id)
    service.execute(meeting_id, c.OpenItem(item_id=state.agenda[0].id), chair)
    service.execute(
        meeting_id,
        c.WriteEntry(entry_id="e1", item_id=state.agenda[0].id, text="Ý kiến kín của chi bộ.", speaker_id=seeded.chair),
        clerk,
    )
    service.execute(meeting_id, c.EndMeeting(), chair)


@pytest.fixture
def commune_setup(context):
    with context.sessions.begin() as session:
        commune = Commune(name="Đảng ủy xã Yên Thường", code="yen-thuong")
        elsewhere = Commune(name="Đảng ủy xã Khác", code="khac")
        session.add_all([commune, elsewhere])
        session.flush()
        admin = User(username="admin-yt", display_name="Ban Xây dựng Đảng", is_admin=True, commune_id=commune.id)
        session.add(admin)
        session.flush()
        ids = {"commune": commune.id, "elsewhere": elsewhere.id, "admin": admin.id}
    branches = {code: seed_branch(context.sessions, code=code) for code in ("a", "b", "c", "d")}
    march = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)
    with context.sessions.begin() as session:
        for code, seeded in branches.items():
            session.get(Branch, seeded.branch_id).commune_id = ids["elsewhere" if code == "d" else "commune"]
            # the seeded meeting becomes March's monthly meeting (c's is moved to April: March missed)
            when = march + timedelta(days=2) if code == "b" else march
            session.get(Meeting, seeded.meeting_id).scheduled_at = when + timedelta(days=30 if code == "c" else 0)
    a, b = branches["a"], branches["b"]
    hold(context, a, a.meeting_id, march, [*a.officials[:5], a.exempt, a.guest])
    hold(context, b, b.meeting_id, march + timedelta(days=2), b.officials)
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, a.meeting_id)
        cm.submit_report(session, meeting, user_id=None, minutes_shared=True, now=march + timedelta(days=2))
    return ids, branches


def _principal(user_id: int, admin: bool = True) -> Principal:
    return Principal(user_id=user_id, member_id=None, branch_id=None, role="admin", is_admin=admin)


def test_overview_shows_held_missing_late_and_attendance(context, commune_setup):
    ids, _ = commune_setup
    now = datetime(2025, 4, 15, 3, 0, tzinfo=UTC)
    with context.sessions() as session:
        commune = cm.admin_commune(session, _principal(ids["admin"]))
        view = cm.overview(session, commune, cm.Month.parse("2025-03", now), now=now)
    rows = {row["code"]: row for row in view["branches"]}
    assert set(rows) == {"a", "b", "c"}  # d belongs to another commune
    a, b, c_ = rows["a"], rows["b"], rows["c"]
    assert (a["monthly_meeting"], b["monthly_meeting"], c_["monthly_meeting"]) == ("held", "held", "missing")
    # a: 5 officials and the exempt member came; expected: 6 officials, the probationary and the exempt member who came
    assert a["meeting"]["attendance"] == {"present": 6, "expected": 8, "rate": 0.75}
    assert a["members"] == 8  # the guest is not a member of the branch
    assert a["meeting"]["report"]["state"] == "submitted" and a["meeting"]["report"]["minutes_shared"] is True
    # held Monday 10 March: 5 working days later is Monday 17 March
    assert a["meeting"]["report"]["due"] == "2025-03-17"
    assert b["meeting"]["report"]["state"] == "late" and b["overdue_reports"] == 1
    assert c_["meeting"] is None and c_["overdue_reports"] == 0
    totals = view["totals"]
    assert (totals["branches"], totals["held"], totals["not_held"], totals["reports_late"]) == (3, 2, 1, 1)
    # b: its 6 officials came, the probationary member did not (the absent exempt member is not expected)
    assert rows["b"]["meeting"]["attendance"] == {"present": 6, "expected": 7, "rate": round(6 / 7, 4)}
    assert totals["attendance"] == {"present": 12, "expected": 15, "rate": 0.8}


def test_current_month_shows_planned_not_missing(context, commune_setup):
    ids, _ = commune_setup
    now = datetime(2025, 4, 2, 3, 0, tzinfo=UTC)
    with context.sessions() as session:
        commune = session.get(Commune, ids["commune"])
        view = cm.overview(session, commune, cm.Month.parse(None, now), now=now)
    rows = {row["code"]: row for row in view["branches"]}
    assert view["month"] == "2025-04"
    assert rows["c"]["monthly_meeting"] == "planned"
    assert rows["a"]["monthly_meeting"] == "not_planned"
    assert view["totals"]["not_held"] == 0


def test_report_due_follows_working_days_and_submission_time(context, commune_setup):
    ids, branches = commune_setup
    before_due = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
    with context.sessions.begin() as session:
        commune = session.get(Commune, ids["commune"])
        view = cm.overview(session, commune, cm.Month(2025, 3), now=before_due)
        b = next(r for r in view["branches"] if r["code"] == "b")
        assert b["meeting"]["report"]["state"] == "due" and b["overdue_reports"] == 0
        # Held Wednesday 12 March: due Wednesday 19 March. Sent on the 20th: late, though sent.
        meeting = session.get(Meeting, branches["b"].meeting_id)
        cm.submit_report(session, meeting, user_id=None, minutes_shared=False, now=datetime(2025, 3, 20, 3, tzinfo=UTC))
        view = cm.overview(session, commune, cm.Month(2025, 3), now=datetime(2025, 4, 15, tzinfo=UTC))
    b = next(r for r in view["branches"] if r["code"] == "b")
    assert b["meeting"]["report"]["due"] == "2025-03-19"
    assert b["meeting"]["report"]["state"] == "submitted_late" and b["overdue_reports"] == 0


def test_minutes_only_when_the_branch_shared_them(context, commune_setup):
    ids, branches = commune_setup
    with context.sessions() as session:
        commune = session.get(Commune, ids["commune"])
        minutes = cm.shared_minutes(session, commune, branches["a"].meeting_id)
        assert minutes["items"][0]["entries"][0]["text"] == "Ý kiến kín của chi bộ."
        with pytest.raises(Rejected) as refused:
            cm.shared_minutes(session, commune, branches["b"].meeting_id)
        assert (refused.value.code, refused.value.status) == ("minutes_not_shared", 403)
        with pytest.raises(Rejected) as refused:
            cm.shared_minutes(session, commune, branches["d"].meeting_id)
        assert refused.value.status == 404


def test_only_the_commune_admin_gets_the_overview(context, commune_setup):
    ids, branches = commune_setup
    with context.sessions.begin() as session:
        other = User(username="admin-khac", display_name="X", is_admin=True, commune_id=ids["elsewhere"])
        plain = User(username="dv", display_name="Y", is_admin=False, commune_id=ids["commune"])
        session.add_all([other, plain])
        session.flush()
        assert cm.admin_commune(session, _principal(other.id)).id == ids["elsewhere"]
        for principal in (_principal(plain.id), _principal(plain.id, admin=False), _principal(ids["admin"], False)):
            with pytest.raises(Rejected) as refused:
                cm.admin_commune(session, principal)
            assert refused.value.status == 403
        elsewhere = session.get(Commune, ids["elsewhere"])
        with pytest.raises(Rejected):
            cm.commune_meeting(session, elsewhere, branches["a"].meeting_id)


def test_report_can_only_be_sent_after_the_meeting(context, branch):
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        cm.submit_report(session, session.get(Meeting, branch.meeting_id), user_id=None, minutes_shared=False)
    assert refused.value.code == "report_not_ready"


@pytest.mark.parametrize("text", ["2025-13", "25-03", "abc", "2025-03-01"])
def test_bad_month_is_refused(text):
    with pytest.raises(Rejected) as refused:
        cm.Month.parse(text, datetime.now(UTC))
    assert refused.value.status == 422


def test_month_bounds_are_vietnamese_months():
    start, end = cm.Month(2025, 12).bounds()
    assert start == datetime(2025, 11, 30, 17, 0, tzinfo=UTC)
    assert end == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
