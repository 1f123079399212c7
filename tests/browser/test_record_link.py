"""From the live pages to the minutes: the chair's and clerk's consoles show the way to the record viewer (where the
minutes are read, adopted and signed) once the meeting reaches its "adopt the minutes" step; the member's page
opens the draft inside the meeting."""

from __future__ import annotations

from playwright.sync_api import expect

from meeting.domain import Actor
from meeting.domain import commands as c
from tests.browser.conftest import DESKTOP, LiveServer
from tests.browser.helpers import open_context, sign_in, watch_errors


def test_the_consoles_lead_to_the_minutes_from_the_adoption_step(browser, live_server: LiveServer):
    branch, service = live_server.branch, live_server.context.service
    chair = Actor.member(branch.chair)
    service.open(branch.meeting_id)
    service.execute(branch.meeting_id, c.StartMeeting(), chair)
    state, _ = service.state(branch.meeting_id)
    minutes_item = next(item.id for item in state.agenda if item.kind == "minutes")
    first_item = state.agenda[0].id
    service.execute(branch.meeting_id, c.OpenItem(item_id=first_item), chair)

    context = open_context(browser, DESKTOP)
    errors: list[str] = []
    pages = {}
    for console in ("chair", "clerk"):  # one browser, one session: the secretary may open both consoles
        page = context.new_page()
        watch_errors(page, errors, console)
        if not pages:
            sign_in(page, live_server, branch.chair, f"/{console}?m={branch.meeting_id}")
        else:
            page.goto(f"{live_server.url}/{console}?m={branch.meeting_id}")
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        expect(page.locator("#record-card")).to_be_hidden()
        pages[console] = page
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")  # a member by invite link
    member = phone.new_page()
    watch_errors(member, errors, "member")
    member.goto(live_server.invite_link(branch.officials[3]))
    member.get_by_role("button", name="Tham gia").click()
    expect(member.locator("#meeting-view")).to_be_visible()
    expect(member.locator("#record-card")).to_be_hidden()

    service.execute(branch.meeting_id, c.OpenItem(item_id=minutes_item), chair)
    for name, page in pages.items():
        link = page.get_by_role("link", name="Mở biên bản")
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", f"/web/meetings/{branch.meeting_id}/record?from={name}")  # way back
    pages["chair"].get_by_role("link", name="Mở biên bản").click()
    pages["chair"].wait_for_url(f"**/web/meetings/{branch.meeting_id}/record?from=chair")
    expect(pages["chair"].locator("#main")).to_contain_text("BIÊN BẢN", ignore_case=True)
    # The member reads the draft too, without leaving the meeting (test_member_record.py follows it further).
    member.get_by_role("button", name="Đọc dự thảo biên bản").click()
    expect(member.get_by_role("dialog", name="Dự thảo biên bản")).to_contain_text("BIÊN BẢN", ignore_case=True)
    assert member.url.endswith("/join")
    assert errors == [], errors
    phone.close()
    context.close()
