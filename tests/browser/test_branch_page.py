"""The branch's preparation page (/branch), in Debian's Chromium, driven as the branch secretary: the branch's
meetings, a meeting created from a template with its chair and clerk, a one-tap invite link; what the page shows
and what the database then holds. A plain member who opens the page is told it is not theirs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting.auth import decode_invite_token
from meeting.db.models import Meeting
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors
from tests.conftest import TEST_SECRET

SEEDED = "Sinh hoạt chi bộ tháng 11"


def name_of(server: LiveServer, member_id: int) -> str:
    with server.context.sessions() as session:
        from meeting.db.models import Member

        return session.get(Member, member_id).full_name


def meeting_row(server: LiveServer, meeting_id: int) -> Meeting:
    with server.context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        session.expunge(meeting)
        return meeting


def open_as_secretary(browser, server: LiveServer, errors: list[str], viewport: dict = DESKTOP) -> Page:
    context = open_context(browser, viewport)
    page = context.new_page()
    watch_errors(page, errors, "secretary")
    sign_in(page, server, server.branch.chair, "/branch")
    expect(page.locator("html")).to_have_attribute("data-ready", "branch")
    return page


def no_wider_than_a_phone(page: Page) -> None:
    before = page.viewport_size
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a phone"
    if before:
        page.set_viewport_size(before)


def test_a_plain_member_is_told_the_page_is_not_theirs(browser, live_server: LiveServer, artifacts):
    server = live_server
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "member")
    member = server.branch.officials[2]
    page.goto(server.url + "/")
    page.get_by_label("Tên đăng nhập").fill(server.username(member))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#meetings-view")).to_be_visible()
    expect(page.get_by_role("link", name="Chuẩn bị cuộc họp")).to_have_count(0)  # not offered to a plain member

    page.goto(server.url + "/branch")  # typed by hand
    expect(page.locator("html")).to_have_attribute("data-ready", "branch")
    denied = page.get_by_role("alert")
    expect(denied).to_contain_text("Trang này dành cho bí thư và phó bí thư chi bộ.")
    expect(page.get_by_role("link", name="Về trang cuộc họp của đồng chí")).to_have_attribute("href", "/")
    assert page.locator("#list-view").is_hidden() and page.locator("#meeting-view").is_hidden()
    assert axe_violations(page) == []
    screens(page, artifacts, "branch-denied")
    page.get_by_role("button", name="English").click()
    expect(denied).to_contain_text("for the branch secretary and deputy secretary")
    assert errors == []
    context.close()


def test_the_secretary_creates_a_meeting_and_an_invite_link(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    errors: list[str] = []
    context = open_context(browser, DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    watch_errors(page, errors, "secretary")

    # From the sign-in page's list of other work.
    page.goto(server.url + "/")
    page.get_by_label("Tên đăng nhập").fill(server.username(branch.chair))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Chuẩn bị cuộc họp").click()
    page.wait_for_url(re.compile(r"/branch$"))
    expect(page.locator("html")).to_have_attribute("data-ready", "branch")

    upcoming = page.locator("#upcoming > li")
    expect(upcoming.filter(has_text=SEEDED)).to_contain_text("Sinh hoạt thường kỳ")
    expect(upcoming.filter(has_text=SEEDED)).to_contain_text("Chưa bắt đầu")
    expect(page.locator("#past")).to_contain_text("Chưa có cuộc họp nào đã kết thúc.")

    # A thematic meeting from its template: the title is suggested from the template and the month.
    page.get_by_role("button", name="Tạo cuộc họp").click()
    form = page.locator("#create-form")
    form.get_by_label("Sinh hoạt chuyên đề").check()
    day = (datetime.now(UTC) + timedelta(days=20)).date()
    form.get_by_label("Ngày họp").fill(day.isoformat())
    expect(form.get_by_label("Tên cuộc họp")).to_have_value(f"Sinh hoạt chi bộ chuyên đề tháng {day.month}/{day.year}")
    form.get_by_text("Xem chương trình mẫu").click()
    expect(page.locator("#template-items > li")).to_have_count(7)
    expect(page.locator("#template-items")).to_contain_text("Trình bày chuyên đề")

    # Missing fields are said, next to a focused field.
    form.get_by_label("Tên cuộc họp").fill("")
    form.get_by_role("button", name="Tạo cuộc họp").click()
    expect(page.locator("#create-error")).to_have_text("Xin nhập tên cuộc họp.")
    expect(form.get_by_label("Tên cuộc họp")).to_be_focused()
    title = "Chuyên đề: Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"
    form.get_by_label("Tên cuộc họp").fill(title)
    form.get_by_role("button", name="Tạo cuộc họp").click()
    expect(page.locator("#create-error")).to_have_text("Xin chọn giờ họp.")
    form.get_by_label("Giờ họp").fill("19:30")
    form.get_by_label("Địa điểm").fill("Hội trường thôn Đông")
    chair, clerk = branch.officials[2], branch.officials[3]
    form.get_by_label("Người chủ trì").select_option(label=name_of(server, chair))
    form.get_by_label("Thư ký").select_option(label=name_of(server, clerk))

    # The network fails once: the error is said and nothing typed is lost.
    failed = []

    def fail_once(route):
        if route.request.method == "POST" and not failed:
            failed.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/branches/*/meetings", fail_once)
    form.get_by_role("button", name="Tạo cuộc họp").click()
    expect(page.locator("#create-error")).to_contain_text("Không kết nối được máy chủ")
    expect(form.get_by_label("Tên cuộc họp")).to_have_value(title)
    expect(form.get_by_label("Giờ họp")).to_have_value("19:30")
    expect(form.get_by_label("Địa điểm")).to_have_value("Hội trường thôn Đông")
    expect(form.get_by_label("Thư ký")).to_have_value(str(clerk))
    expect(form.get_by_label("Sinh hoạt chuyên đề")).to_be_checked()
    errors[:] = [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e]

    form.get_by_role("button", name="Tạo cuộc họp").click()
    page.wait_for_url(re.compile(r"/branch\?m=\d+$"))
    meeting_id = int(page.url.rsplit("=", 1)[1])
    expect(page.locator("#m-created")).to_contain_text("Đã tạo cuộc họp.")
    expect(page.locator("#m-title")).to_have_text(title)
    expect(page.locator("#m-meta")).to_contain_text("Sinh hoạt chuyên đề")
    expect(page.locator("#m-meta")).to_contain_text("19:30")
    expect(page.locator("#m-officers")).to_have_text(
        f"Chủ trì: {name_of(server, chair)} · Thư ký: {name_of(server, clerk)}"
    )
    created = meeting_row(server, meeting_id)
    assert (created.title, created.kind, created.place) == (title, "thematic", "Hội trường thôn Đông")
    assert (created.chair_id, created.clerk_id, created.branch_id) == (chair, clerk, branch.branch_id)
    local = created.scheduled_at.replace(tzinfo=created.scheduled_at.tzinfo or UTC) + timedelta(hours=7)
    assert (local.date(), local.hour, local.minute) == (day, 19, 30)
    with server.context.sessions() as session:
        kinds = [i.kind for i in session.scalars(select(Meeting).where(Meeting.id == meeting_id)).one().agenda]
    assert kinds[:3] == ["opening", "topic_report", "discussion"] and len(kinds) == 7

    # Links to the meeting's screens.
    links = page.locator("#m-links")
    expect(links.get_by_role("link", name="Màn hình chủ trì")).to_have_attribute("href", f"/chair?m={meeting_id}")
    expect(links.get_by_role("link", name="Màn hình thư ký")).to_have_attribute("href", f"/clerk?m={meeting_id}")
    expect(links.get_by_role("link", name="Màn hình hội trường")).to_have_attribute("href", f"/hall?m={meeting_id}")
    expect(links.get_by_role("link", name="Trang đảng viên")).to_have_attribute("href", f"/join?m={meeting_id}")

    # A one-tap invite link for a member far away, copied for a message.
    invitee = branch.officials[4]
    page.get_by_role("button", name="Tạo liên kết").click()
    expect(page.locator("#invite-error")).to_have_text("Xin chọn đồng chí được mời.")
    page.get_by_label("Mời đồng chí").select_option(label=name_of(server, invitee))
    page.get_by_role("button", name="Tạo liên kết").click()
    link_field = page.get_by_label(f"Liên kết mời cho đồng chí {name_of(server, invitee)}")
    expect(link_field).to_have_value(re.compile("^" + re.escape(server.url + "/join#invite=")))
    link = link_field.input_value()
    invite = decode_invite_token(link.split("#invite=", 1)[1], TEST_SECRET)
    assert (invite.meeting_id, invite.member_id) == (meeting_id, invitee)
    page.get_by_role("button", name="Chép liên kết").click()
    expect(page.locator("#toast")).to_contain_text("Đã chép liên kết.")
    assert page.evaluate("() => navigator.clipboard.readText()") == link

    assert axe_violations(page) == [], describe(axe_violations(page))
    no_wider_than_a_phone(page)
    screens(page, artifacts, "branch-meeting")

    # Back to the list (and the browser's back button): the new meeting is listed among the coming ones.
    page.get_by_role("link", name="Danh sách cuộc họp").click()
    expect(page.locator("#upcoming > li").filter(has_text=title)).to_contain_text("Sinh hoạt chuyên đề")
    page.go_back()
    expect(page.locator("#m-title")).to_have_text(title)
    page.reload()  # the address keeps the meeting
    expect(page.locator("#m-title")).to_have_text(title)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#m-meta")).to_contain_text("Thematic meeting")
    page.get_by_role("link", name="All meetings").click()
    expect(page.locator("#upcoming > li").filter(has_text=title)).to_contain_text("Thematic meeting")
    expect(page.locator("#create-heading")).to_be_focused()  # moved within the page, focus on the new view
    no_wider_than_a_phone(page)
    assert axe_violations(page) == [], describe(axe_violations(page))
    screens(page, artifacts, "branch-list")
    assert errors == []
    context.close()
