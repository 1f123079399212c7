"""The branch's roster and rules page (/members) in Debian's Chromium, as the secretary uses it: add a member with a
sign-in, change one's category, take one off the roster, be stopped from demoting the last secretary (the form keeps
what was typed), change the quorum rule; and a plain member is told the page is not theirs."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting.db.models import Branch, Member
from tests.browser.conftest import DESKTOP, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors


def _member(server: LiveServer, member_id: int) -> Member:
    with server.context.sessions() as session:
        member = session.get(Member, member_id)
        session.expunge(member)
        return member


def _row(page: Page, name: str):
    return page.locator("#roster > li").filter(has=page.get_by_text(name, exact=True))


def test_the_secretary_keeps_the_roster_and_the_rules(browser, live_server: LiveServer, artifacts):
    branch = live_server.branch
    context = open_context(browser, DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    watch_errors(page, errors, "members")
    sign_in(page, live_server, branch.chair, "/members")
    expect(page.locator("#roster > li")).to_have_count(len(branch.everyone))
    expect(page.locator("#roster-summary")).to_contain_text(f"{len(branch.everyone)} người đang sinh hoạt")
    assert axe_violations(page) == [], describe(axe_violations(page))

    # A new probationary member who signs in.
    page.get_by_label("Họ và tên").fill("Lê Thị Mới")
    page.get_by_label("Loại đảng viên").select_option("probationary")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Tên đăng nhập", exact=True).fill("le-thi-moi")
    page.get_by_label("Mật khẩu", exact=True).fill("ngan")
    page.get_by_role("button", name="Thêm vào danh sách").click()
    expect(page.locator("#member-error")).to_have_text("Mật khẩu phải có ít nhất 8 ký tự.")
    assert page.get_by_label("Họ và tên").input_value() == "Lê Thị Mới"  # nothing typed is lost
    page.get_by_label("Mật khẩu", exact=True).fill("mat-khau-moi-1")
    page.get_by_role("button", name="Thêm vào danh sách").click()
    expect(_row(page, "Lê Thị Mới")).to_contain_text("Dự bị")
    expect(_row(page, "Lê Thị Mới")).to_contain_text("đăng nhập: le-thi-moi")
    with live_server.context.sessions() as session:
        created = session.scalars(select(Member).where(Member.full_name == "Lê Thị Mới")).one()
        assert (created.category, created.phone, created.user.username) == (
            "probationary",
            "0912 345 678",
            "le-thi-moi",
        )
        created_id = created.id
    signed_in = page.request.post(
        f"{live_server.url}/api/auth/login", data={"username": "le-thi-moi", "password": "mat-khau-moi-1"}
    )
    assert signed_in.status == 200

    # The probationary member of the seed becomes official.
    probationary = _member(live_server, branch.probationary)
    _row(page, probationary.full_name).get_by_role("button", name="Sửa").click()
    page.get_by_label("Loại đảng viên").select_option("official")
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(_row(page, probationary.full_name)).to_contain_text("Chính thức")
    assert _member(live_server, branch.probationary).category == "official"

    # The new member is taken off the roster (after a confirmation); the history stays.
    _row(page, "Lê Thị Mới").get_by_role("button", name="Thôi sinh hoạt").click()
    page.get_by_role("button", name="Xác nhận").click()
    expect(_row(page, "Lê Thị Mới")).to_have_count(0)
    assert _member(live_server, created_id).active is False
    page.get_by_label("Hiện cả người đã thôi sinh hoạt").check()
    expect(_row(page, "Lê Thị Mới")).to_contain_text("đã thôi sinh hoạt")

    # The only secretary may not make themselves a plain member: the server says why, the form keeps it all.
    me = _member(live_server, branch.chair)
    _row(page, me.full_name).get_by_role("button", name="Sửa").click()
    page.get_by_label("Chức vụ trong chi bộ").select_option("member")
    page.get_by_label("Số điện thoại").fill("0988 000 111")
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.locator("#member-error")).to_contain_text("Chi bộ phải luôn có một bí thư")
    assert page.get_by_label("Số điện thoại").input_value() == "0988 000 111"
    assert _member(live_server, branch.chair).role == "secretary"
    page.get_by_role("button", name="Huỷ").click()

    # The quorum rule: at least 3/4; a fraction above one is refused before anything is sent.
    page.locator("#quorum-strict").select_option("false")
    page.locator("#quorum-numerator").fill("5")
    page.locator("#quorum-denominator").fill("4")
    page.get_by_role("button", name="Lưu quy định").click()
    expect(page.locator("#rules-error")).to_contain_text("Tỉ lệ phải là một phân số")
    page.locator("#quorum-numerator").fill("3")
    expect(page.locator("#quorum-text")).to_have_text(
        "Cuộc họp hợp lệ khi số đảng viên có mặt ít nhất 3/4 số đảng viên chính thức."
    )
    page.get_by_role("button", name="Lưu quy định").click()
    expect(page.locator("#toast")).to_contain_text("Đã lưu quy định của chi bộ.")
    with live_server.context.sessions() as session:
        saved = session.get(Branch, branch.branch_id)
        assert (saved.quorum_numerator, saved.quorum_denominator, saved.quorum_strict) == (3, 4, False)
    screens(page, artifacts, "members")
    # The browser logs the refused demotion (409) as a failed load; nothing else may fail.
    assert [e for e in errors if "status of 409" not in e] == [], errors
    assert len(errors) == 1, errors
    context.close()


def test_a_plain_member_is_told_the_page_is_not_theirs(browser, live_server: LiveServer):
    context = open_context(browser, DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    watch_errors(page, errors, "members")
    sign_in(page, live_server, live_server.branch.officials[3], "/members")
    expect(page.locator("#load-error")).to_have_text(
        "Chỉ bí thư và phó bí thư chi bộ được quản lý danh sách đảng viên."
    )
    expect(page.locator("#roster-card")).to_be_hidden()
    assert errors == [], errors
    context.close()
