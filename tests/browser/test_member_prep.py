"""A member's own business around a meeting, in Debian's Chromium: the absence notice (báo vắng) sent and withdrawn
from the sign-in page's meeting list and from the member page, held by the database and seen on the chair's list of
notices; a refusal once the meeting has started, written on the page; "Thêm vào lịch" downloading the meeting's
calendar file; "Nhiệm vụ của đồng chí", the member's own tasks from past resolutions with their status in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting import planning
from meeting.auth import issue_invite_token
from meeting.calendar_vn import VN_TZ as VN
from meeting.db.models import AbsenceNotice, ActionItem, Meeting, Resolution
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from meeting.record import resolutions as res
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, watch_errors
from tests.conftest import TEST_SECRET

TITLE = "Sinh hoạt chi bộ tháng 11"


def sign_in_home(page: Page, server: LiveServer, member_id: int) -> None:
    """The sign-in page with no ?next=: the member lands on their own meeting list."""
    page.goto(server.url + "/")
    page.get_by_label("Tên đăng nhập").fill(server.username(member_id))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#meetings-view")).to_be_visible()


def notice_of(server: LiveServer, meeting_id: int, member_id: int) -> tuple[str, bool] | None:
    """(reason, withdrawn) of the member's absence notice for the meeting, as the database holds it."""
    with server.context.sessions() as session:
        notice = session.scalars(
            select(AbsenceNotice).where(AbsenceNotice.meeting_id == meeting_id, AbsenceNotice.member_id == member_id)
        ).first()
        return None if notice is None else (notice.reason, notice.withdrawn_at is not None)


def chairs_absence_list(browser, server: LiveServer, meeting_id: int) -> list[tuple[str, str]]:
    """The preparers' list of notices (GET /api/prep/meetings/{id}/absences), read with the chair's own sign-in."""
    context = browser.new_context()
    try:
        signed_in = context.request.post(
            server.url + "/api/auth/login",
            data={"username": server.username(server.branch.chair), "password": PASSWORD},
        )
        token = signed_in.json()["access_token"]
        answer = context.request.get(
            f"{server.url}/api/prep/meetings/{meeting_id}/absences", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status == 200, answer.text()
        return [(n["name"], n["reason"]) for n in answer.json()["absences"]]
    finally:
        context.close()


def answer_reason(page: Page, reason: str) -> None:
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Lý do vắng mặt").fill(reason)
    dialog.get_by_role("button", name="Đồng ý").click()


def test_a_member_sends_and_withdraws_an_absence_notice_from_their_meeting_list(
    browser, live_server: LiveServer, artifacts
):
    server, branch = live_server, live_server.branch
    meeting_id, member_id = branch.meeting_id, branch.officials[2]
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "login")
    sign_in_home(page, server, member_id)
    row = page.locator("#meetings > li", has_text=TITLE)
    send = row.get_by_role("button", name=f"Báo vắng: {TITLE}")
    expect(send).to_be_visible()

    # A reason of spaces is no reason: asked again, saying why.
    send.click()
    answer_reason(page, "   ")
    expect(page.get_by_role("dialog")).to_contain_text("Xin ghi rõ lý do vắng mặt.")
    answer_reason(page, "Đi viện kiểm tra sức khỏe")
    expect(row.locator(".absence-sent")).to_have_text("Đã báo vắng: Đi viện kiểm tra sức khỏe")
    withdraw = row.get_by_role("button", name=f"Rút lại: {TITLE}")
    expect(withdraw).to_be_focused()  # the keyboard's place moves to the button that took the other's place
    assert notice_of(server, meeting_id, member_id) == ("Đi viện kiểm tra sức khỏe", False)
    assert chairs_absence_list(browser, server, meeting_id) == [("Đảng viên chính thức 3", "Đi viện kiểm tra sức khỏe")]
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "login-absence-sent")

    # What the page shows comes from the server: the same after a reload, and in English.
    page.reload()
    expect(row.locator(".absence-sent")).to_have_text("Đã báo vắng: Đi viện kiểm tra sức khỏe")
    page.get_by_role("button", name="English").click()
    expect(row.locator(".absence-sent")).to_have_text("Absence notice sent: Đi viện kiểm tra sức khỏe")
    expect(row.get_by_role("button", name=f"Withdraw: {TITLE}")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()

    # Withdrawn: asked first; the database keeps it as withdrawn and the chair's list no longer has it.
    withdraw.click()
    page.get_by_role("dialog").get_by_role("button", name="Huỷ").click()
    assert notice_of(server, meeting_id, member_id) == ("Đi viện kiểm tra sức khỏe", False)
    withdraw.click()
    expect(page.get_by_role("dialog")).to_contain_text(f'Rút lại báo vắng cuộc họp "{TITLE}"?')
    page.get_by_role("dialog").get_by_role("button", name="Rút lại báo vắng").click()
    expect(send).to_be_visible()
    expect(row.locator(".absence-sent")).to_have_count(0)
    assert notice_of(server, meeting_id, member_id) == ("Đi viện kiểm tra sức khỏe", True)
    assert chairs_absence_list(browser, server, meeting_id) == []
    assert errors == []
    context.close()


def test_the_member_page_takes_an_absence_notice_until_the_meeting_starts(browser, live_server: LiveServer, artifacts):
    """An invite link for a meeting two hours away: "Báo vắng" under the Join button; once the chair has started
    the meeting, withdrawing is refused and the page says why, in words that stay."""
    server, branch, service = live_server, live_server.branch, live_server.context.service
    member_id = branch.officials[3]
    with server.context.sessions.begin() as session:
        soon = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Họp chi bộ bất thường",
            scheduled_at=datetime.now(UTC) + timedelta(hours=2),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        soon_id = soon.id
    invite = issue_invite_token(
        meeting_id=soon_id,
        member_id=member_id,
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=4),
    )
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "member")
    page.goto(f"{server.url}/join#invite={invite}")
    area = page.locator("#before-meeting")
    expect(area).to_contain_text("Nếu không dự họp được, xin đồng chí báo vắng và ghi rõ lý do.")
    expect(page.get_by_role("button", name="Tham gia")).to_be_enabled()
    area.get_by_role("button", name="Báo vắng: Họp chi bộ bất thường").click()
    answer_reason(page, "Con ốm phải đưa đi viện")
    expect(area.locator(".absence-sent")).to_have_text("Đã báo vắng: Con ốm phải đưa đi viện")
    assert notice_of(server, soon_id, member_id) == ("Con ốm phải đưa đi viện", False)
    assert chairs_absence_list(browser, server, soon_id) == [("Đảng viên chính thức 4", "Con ốm phải đưa đi viện")]
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "member-absence-sent")

    # The chair opens and starts the meeting while the page is open: too late to withdraw, said on the page.
    service.open(soon_id)
    service.execute(soon_id, c.StartMeeting(), Actor.member(branch.chair))
    area.get_by_role("button", name="Rút lại: Họp chi bộ bất thường").click()
    page.get_by_role("dialog").get_by_role("button", name="Rút lại báo vắng").click()
    refusal = area.locator(".absence-refused")
    expect(refusal).to_have_text(
        'Cuộc họp đã bắt đầu, không rút lại báo vắng được nữa. Nếu đồng chí đến dự, xin bấm "Tham gia" '
        "hoặc báo thư ký điểm danh."
    )
    expect(area.locator(".absence").get_by_role("button")).to_have_count(0)
    expect(area.locator(".absence-sent")).to_have_text("Đã báo vắng: Con ốm phải đưa đi viện")
    assert notice_of(server, soon_id, member_id) == ("Con ốm phải đưa đi viện", False)
    # A failed request shows in the console as a failed load (409); nothing else may.
    assert [e for e in errors if "409" not in e] == [], errors
    page.set_viewport_size(DESKTOP)
    context.close()


def calendar_lines(path: str) -> list[str]:
    """The calendar file's content lines, unfolded (RFC 5545: a line break followed by a space continues a line)."""
    text = Path(path).read_bytes().decode("utf-8")  # as downloaded, CRLF line ends and all
    return text.replace("\r\n ", "").split("\r\n")


def test_add_to_calendar_downloads_the_meetings_calendar_file(browser, live_server: LiveServer):
    server, branch = live_server, live_server.branch
    member_id = branch.officials[4]
    with server.context.sessions() as session:
        scheduled = session.get(Meeting, branch.meeting_id).scheduled_at.replace(tzinfo=UTC)
    start = f"DTSTART:{scheduled.strftime('%Y%m%dT%H%M%SZ')}"
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "login")

    # From the sign-in page's list: a download named after the meeting, fetched with the member's token.
    sign_in_home(page, server, member_id)
    row = page.locator("#meetings > li", has_text=TITLE)
    with page.expect_download() as downloading:
        row.get_by_role("button", name=f"Thêm vào lịch: {TITLE}").click()
    download = downloading.value
    assert download.suggested_filename == f"{TITLE}.ics"
    lines = calendar_lines(download.path())
    assert lines[0] == "BEGIN:VCALENDAR"
    assert f"SUMMARY:{TITLE}" in lines and start in lines
    assert "LOCATION:Nhà văn hóa thôn" in lines
    expect(page.locator("#toast")).to_contain_text("Đã tải tệp lịch của cuộc họp.")

    # From the member page an invite link opens: the same file.
    page.goto(server.invite_link(member_id))
    with page.expect_download() as downloading:
        page.locator("#before-meeting").get_by_role("button", name=f"Thêm vào lịch: {TITLE}").click()
    assert downloading.value.suggested_filename == f"{TITLE}.ics"
    lines = calendar_lines(downloading.value.path())
    assert f"SUMMARY:{TITLE}" in lines and start in lines
    page.get_by_role("button", name="English").click()
    expect(page.locator("#before-meeting").get_by_role("button", name=f"Add to calendar: {TITLE}")).to_be_visible()
    assert errors == []
    context.close()


def held_meeting(server: LiveServer, title: str, days_ago: int) -> int:
    """A meeting of the branch `days_ago` days back, opened, started and ended."""
    branch, service = server.branch, server.context.service
    with server.context.sessions.begin() as session:
        meeting_id = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title=title,
            scheduled_at=datetime.now(UTC) - timedelta(days=days_ago),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        ).id
    service.open(meeting_id)
    service.execute(meeting_id, c.StartMeeting(), Actor.member(branch.chair))
    service.execute(meeting_id, c.EndMeeting(), Actor.member(branch.chair))
    return meeting_id


def test_a_member_sees_their_own_tasks_with_their_status(browser, live_server: LiveServer, artifacts):
    """Signed in: every task of theirs, those overdue first, each "5 rõ" field and the status in words. With the
    invite link for the coming meeting: the tasks that meeting reviews (not the old one done long ago), also once
    they have joined."""
    server, branch = live_server, live_server.branch
    member_id, other = branch.officials[5], branch.officials[4]
    older = held_meeting(server, "Sinh hoạt chi bộ tháng 9", 60)
    previous = held_meeting(server, "Sinh hoạt chi bộ tháng 10", 30)
    today, now = datetime.now(UTC).date(), datetime.now(UTC)
    with server.context.sessions.begin() as session:
        made = {m: Resolution(meeting_id=m, title="Nghị quyết", text="") for m in (older, previous)}
        session.add_all(made.values())
        session.flush()

        def task(meeting_id: int, who: int, text: str, deadline, done: bool = False) -> None:
            fields = res.ActionFields(who, text, deadline, "Đồng chí Bí thư", "Hoàn thành đúng hạn")
            action = res.add_action(session, made[meeting_id], branch.branch_id, fields)
            if done:
                res.set_done(action, True, now - timedelta(days=2))

        task(older, member_id, "Thu đảng phí quý III", today - timedelta(days=40), done=True)
        task(previous, member_id, "Thu đảng phí quý IV", today - timedelta(days=5), done=True)
        task(previous, member_id, "Sửa nhà văn hóa thôn", today + timedelta(days=20))
        task(previous, member_id, "Vận động quỹ khuyến học", today - timedelta(days=10))
        task(previous, other, "Việc của đồng chí khác", today + timedelta(days=20))
    errors: list[str] = []
    context = open_context(browser, PHONE, mic=True)
    page = context.new_page()
    watch_errors(page, errors, "member")

    sign_in_home(page, server, member_id)
    section = page.locator("#tasks-view")
    expect(section.get_by_role("heading")).to_have_text("Nhiệm vụ của đồng chí")
    rows = section.locator("li.task-row")
    expect(rows).to_have_count(4)
    expect(rows.locator(".review-task")).to_have_text(
        ["Vận động quỹ khuyến học", "Sửa nhà văn hóa thôn", "Thu đảng phí quý IV", "Thu đảng phí quý III"]
    )
    expect(rows.locator(".review-status")).to_have_text(["Quá hạn", "Đang thực hiện", "Đã hoàn thành", "Đã hoàn thành"])
    expect(section.locator(".tasks-counts")).to_have_text("Quá hạn: 1 · Đang thực hiện: 1 · Đã hoàn thành: 2")
    overdue = rows.first
    deadline = (today - timedelta(days=10)).strftime("%d/%m/%Y")
    held_on = (now - timedelta(days=30)).astimezone(VN).strftime("%d/%m/%Y")
    for text in (
        f"Thời hạn: {deadline} · Chịu trách nhiệm: Đồng chí Bí thư",
        "Kết quả cần đạt: Hoàn thành đúng hạn",
        f"Theo nghị quyết cuộc họp: Sinh hoạt chi bộ tháng 10 ({held_on})",
    ):
        expect(overdue).to_contain_text(text)
    expect(section).not_to_contain_text("Việc của đồng chí khác")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "login-tasks")
    page.get_by_role("button", name="English").click()
    expect(rows.locator(".review-status")).to_have_text(["Overdue", "In progress", "Done", "Done"])
    expect(section.get_by_role("heading")).to_have_text("Your tasks")
    page.get_by_role("button", name="Tiếng Việt").click()

    # The invite link for tomorrow's meeting: what that meeting's review goes through, said so.
    page.goto(server.invite_link(member_id))
    card = page.locator("#tasks-card")
    expect(card.locator(".tasks-scope")).to_have_text(
        "Nhiệm vụ đồng chí cần báo cáo tại cuộc họp này, và nhiệm vụ cuộc họp này giao."
    )
    expect(card.locator(".review-task")).to_have_text(
        ["Vận động quỹ khuyến học", "Sửa nhà văn hóa thôn", "Thu đảng phí quý IV"]
    )
    expect(card.locator(".tasks-counts")).to_have_text("Quá hạn: 1 · Đang thực hiện: 1 · Đã hoàn thành: 1")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "member-tasks")
    # Joined: the card is part of the meeting view, above "Rời cuộc họp".
    page.get_by_role("button", name="Tham gia").click()
    expect(page.locator("#meeting-view")).to_be_visible()
    expect(page.locator("#meeting-view #tasks-card")).to_be_visible()
    assert page.evaluate("() => document.querySelector('#tasks-card').nextElementSibling.id") == "leave-card"
    assert errors == []
    context.close()


def task_state(server: LiveServer, action_id: int) -> tuple[str, bool]:
    """(status, has done_at) of an action item, as the database holds it."""
    with server.context.sessions() as session:
        action = session.get(ActionItem, action_id)
        return action.status, action.done_at is not None


def test_a_member_reports_a_task_done_and_takes_it_back(browser, live_server: LiveServer, artifacts):
    """From the home page: "Báo đã xong" asks first (cancelled, nothing sent), then tells the branch; the task keeps
    its place with its new status and "Chưa xong", which has the keyboard, and takes it back. A refusal stays
    written under the task, which keeps its state, and a second try goes through. On the member page by the
    invite link for the next meeting the same, for a task of the previous meeting (which the link does not reach
    otherwise)."""
    server, branch = live_server, live_server.branch
    member_id, other = branch.officials[3], branch.officials[2]
    previous = held_meeting(server, "Họp chi bộ chuyên đề", 25)  # the last meeting before tomorrow's
    today = datetime.now(UTC).date()
    with server.context.sessions.begin() as session:
        resolution = Resolution(meeting_id=previous, title="Nghị quyết chuyên đề", text="")
        session.add(resolution)
        session.flush()

        def task(text: str, deadline) -> int:
            fields = res.ActionFields(member_id, text, deadline, "Đồng chí Bí thư", "Hoàn thành đúng hạn")
            return res.add_action(session, resolution, branch.branch_id, fields).id

        overdue = task("Nộp báo cáo công tác dân vận", today - timedelta(days=3))
        open_one = task("Trồng cây xanh đường thôn", today + timedelta(days=20))
    errors: list[str] = []
    context = open_context(browser, PHONE, mic=True)
    page = context.new_page()
    watch_errors(page, errors, "member")

    sign_in_home(page, server, member_id)
    section = page.locator("#tasks-view")
    rows = section.locator("li.task-row")
    expect(rows.locator(".review-task")).to_have_text(["Nộp báo cáo công tác dân vận", "Trồng cây xanh đường thôn"])
    expect(section.locator(".tasks-counts")).to_have_text("Quá hạn: 1 · Đang thực hiện: 1 · Đã hoàn thành: 0")
    report = section.get_by_role("button", name="Báo đã xong: Trồng cây xanh đường thôn")
    report.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text('Báo với chi bộ là đã hoàn thành nhiệm vụ "Trồng cây xanh đường thôn"?')
    dialog.get_by_role("button", name="Huỷ").click()
    expect(dialog).to_have_count(0)
    assert task_state(server, open_one) == ("open", False)
    report.click()
    page.get_by_role("dialog").get_by_role("button", name="Báo đã xong").click()
    reopen = section.get_by_role("button", name="Chưa xong: Trồng cây xanh đường thôn")
    expect(reopen).to_be_focused()
    expect(rows.locator(".review-status")).to_have_text(["Quá hạn", "Đã hoàn thành"])  # in place
    expect(section.locator(".tasks-counts")).to_have_text("Quá hạn: 1 · Đang thực hiện: 0 · Đã hoàn thành: 1")
    assert task_state(server, open_one) == ("done", True)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "login-task-done")
    reopen.click()  # taking it back asks nothing
    expect(report).to_be_focused()
    expect(rows.locator(".review-status")).to_have_text(["Quá hạn", "Đang thực hiện"])
    assert task_state(server, open_one) == ("open", False)

    # The secretary gives the overdue task to someone else meanwhile: the report is refused, under the task.
    with server.context.sessions.begin() as session:
        session.get(ActionItem, overdue).assignee_id = other
    late = section.get_by_role("button", name="Báo đã xong: Nộp báo cáo công tác dân vận")
    late.click()
    page.get_by_role("dialog").get_by_role("button", name="Báo đã xong").click()
    refusal = rows.first.locator(".task-refused")
    expect(refusal).to_have_attribute("role", "alert")
    expect(refusal).to_have_text("Bạn không có quyền thực hiện việc này.")
    expect(late).to_be_focused()
    expect(rows.first.locator(".review-status")).to_have_text("Quá hạn")
    assert task_state(server, overdue) == ("open", False)
    with server.context.sessions.begin() as session:
        session.get(ActionItem, overdue).assignee_id = member_id
    late.click()
    page.get_by_role("dialog").get_by_role("button", name="Báo đã xong").click()
    expect(section.get_by_role("button", name="Chưa xong: Nộp báo cáo công tác dân vận")).to_be_focused()
    expect(rows.first.locator(".task-refused")).to_have_count(0)
    assert task_state(server, overdue) == ("done", True)
    page.get_by_role("button", name="English").click()
    expect(section.get_by_role("button", name="Not done yet: Nộp báo cáo công tác dân vận")).to_be_visible()
    expect(section.get_by_role("button", name="Report done: Trồng cây xanh đường thôn")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()

    # The member page by the invite link for tomorrow's meeting: the previous meeting's tasks, reported the same.
    page.goto(server.invite_link(member_id))
    card = page.locator("#tasks-card")
    expect(card.locator(".review-task")).to_have_text(["Trồng cây xanh đường thôn", "Nộp báo cáo công tác dân vận"])
    card.get_by_role("button", name="Báo đã xong: Trồng cây xanh đường thôn").click()
    page.get_by_role("dialog").get_by_role("button", name="Báo đã xong").click()
    expect(card.get_by_role("button", name="Chưa xong: Trồng cây xanh đường thôn")).to_be_focused()
    assert task_state(server, open_one) == ("done", True)
    card.get_by_role("button", name="Chưa xong: Nộp báo cáo công tác dân vận").click()
    expect(card.get_by_role("button", name="Báo đã xong: Nộp báo cáo công tác dân vận")).to_be_focused()
    expect(card.locator(".review-status")).to_have_text(["Đã hoàn thành", "Quá hạn"])
    assert task_state(server, overdue) == ("open", False)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screens(page, artifacts, "member-task-done")
    # The refused report showed in the console as a failed load (403); nothing else may.
    assert [e for e in errors if "403" not in e] == [], errors
    context.close()
