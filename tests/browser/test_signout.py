"""Signing out and sessions ended on the server (issue 13), in Debian's Chromium.

The clerk, signed in on a laptop and a phone, presses the page's own "Đăng xuất" on the laptop: the laptop is back
at the sign-in form, and the phone's clerk console, whose live connection the server closes, goes to the sign-in
page saying why. A deputy taken off the roster by the secretary (on the roster page, its own buttons) finds, at
their next step, the sign-in page and the same words, and cannot sign in again.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting.db.models import AccountEvent, Member
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import open_context, sign_in, watch_errors

ENDED_VI = "Phiên đăng nhập đã kết thúc"
# What a revoked session leaves in the console: the refused request itself (the page then goes to sign-in).
REVOKED_NOISE = "Failed to load resource: the server responded with a status of 401"


def _stored_session(page: Page) -> str | None:
    return page.evaluate("() => localStorage.getItem('chibo.session')")


def _token(page: Page) -> str:
    return page.evaluate("() => JSON.parse(localStorage.getItem('chibo.session')).token")


def _audit(server: LiveServer, member_id: int) -> list[str]:
    with server.context.sessions() as session:
        rows = session.scalars(
            select(AccountEvent).where(AccountEvent.subject_member_id == member_id).order_by(AccountEvent.id)
        )
        return [row.action for row in rows]


def test_sign_out_with_the_pages_button_ends_the_session_on_every_device(browser, live_server: LiveServer):
    branch = live_server.branch
    clerk_console = f"/clerk?m={branch.meeting_id}"
    laptop_context, phone_context = open_context(browser, DESKTOP), open_context(browser, PHONE)
    laptop, phone = laptop_context.new_page(), phone_context.new_page()
    errors: list[str] = []
    watch_errors(laptop, errors, "laptop")
    watch_errors(phone, errors, "phone")
    for page in (laptop, phone):
        sign_in(page, live_server, branch.clerk, clerk_console)
        expect(page.locator("html")).to_have_attribute("data-ready", "clerk")
    old_token = _token(laptop)

    laptop.get_by_role("button", name="Đăng xuất").click()
    laptop.wait_for_url(f"{live_server.url}/")
    expect(laptop.get_by_label("Tên đăng nhập")).to_be_visible()
    assert _stored_session(laptop) is None
    refused = laptop.request.get(f"{live_server.url}/api/me", headers={"Authorization": f"Bearer {old_token}"})
    assert refused.status == 401 and refused.json()["error"]["code"] == "token_revoked"
    # The phone's console had its live connection closed by the server: it is at sign-in, told why.
    phone.wait_for_url(re.compile(r"/\?next=%2Fclerk%3Fm%3D" + str(branch.meeting_id) + "$"))
    expect(phone.locator("#login-error")).to_contain_text(ENDED_VI)
    assert _stored_session(phone) is None
    assert _audit(live_server, branch.clerk) == ["signed_out"]
    # Signing in again brings the clerk back to the console.
    phone.get_by_label("Tên đăng nhập").fill(live_server.username(branch.clerk))
    phone.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url(re.compile(re.escape(clerk_console)))
    expect(phone.locator("html")).to_have_attribute("data-ready", "clerk")
    # In English the button says so too.
    phone.get_by_role("button", name="English").click()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    assert [e for e in errors if REVOKED_NOISE not in e and "WebSocket" not in e] == []
    laptop_context.close()
    phone_context.close()


def test_a_deputy_taken_off_the_roster_is_sent_to_sign_in(browser, live_server: LiveServer):
    branch = live_server.branch
    deputy = branch.officials[5]
    with live_server.context.sessions.begin() as session:
        session.get(Member, deputy).role = "deputy"
        deputy_name = session.get(Member, deputy).full_name
    secretary_context, deputy_context = open_context(browser, DESKTOP), open_context(browser, DESKTOP)
    secretary, deputy_page = secretary_context.new_page(), deputy_context.new_page()
    sign_in(deputy_page, live_server, deputy, "/members")
    expect(deputy_page.locator("html")).to_have_attribute("data-ready", "members")
    expect(deputy_page.get_by_role("button", name="Đăng xuất")).to_be_visible()

    sign_in(secretary, live_server, branch.chair, "/members")
    row = secretary.locator("#roster > li").filter(has=secretary.get_by_text(deputy_name, exact=True))
    row.get_by_role("button", name=f"Thôi sinh hoạt: {deputy_name}").click()
    secretary.get_by_role("button", name="Xác nhận").click()
    expect(row).to_have_count(0)  # off the active roster
    expect(secretary.locator("#roster-summary")).to_contain_text(f"{len(branch.everyone) - 1} người đang sinh hoạt")
    assert _audit(live_server, deputy) == ["deactivated"]

    deputy_page.reload()  # the deputy's next step: the page asks the server again
    deputy_page.wait_for_url(re.compile(r"/\?next=%2Fmembers$"))
    expect(deputy_page.locator("#login-error")).to_contain_text(ENDED_VI)
    deputy_page.get_by_label("Tên đăng nhập").fill(live_server.username(deputy))
    deputy_page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    deputy_page.get_by_role("button", name="Đăng nhập").click()
    expect(deputy_page.locator("#login-error")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")
    secretary_context.close()
    deputy_context.close()
