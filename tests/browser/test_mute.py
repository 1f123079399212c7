"""The chair's mute, in Debian's Chromium: the chair clicks "Tắt micrô" next to a present member on the console's
attendance list, the member's phone says the chair has muted them (and keeps saying so after a reload), the media
plane stops mixing them, and "Bật micrô" undoes it; the hall's microphone has its own button."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from signaling.media.floor_gate import HALL, Who
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, wait_until, watch_errors

MUTED_NOTICE = "Chủ trì đã tắt micrô của đồng chí."


def join(page: Page, server: LiveServer, member_id: int) -> None:
    page.goto(server.invite_link(member_id))
    page.get_by_role("button", name="Tham gia").click()
    expect(page.locator("#meeting-view")).to_be_visible()


def test_the_chair_mutes_a_member_from_the_console_and_the_members_page_says_so(
    browser, live_server: LiveServer, artifacts
):
    server, branch = live_server, live_server.branch
    service, meeting_id = server.context.service, branch.meeting_id
    member_id = branch.officials[3]
    service.open(meeting_id)
    name = service.state(meeting_id)[0].roster[member_id].name
    errors: list[str] = []

    member_context = open_context(browser, PHONE, mic=True)
    member = member_context.new_page()
    watch_errors(member, errors, "member")
    join(member, server, member_id)
    expect(member.locator("#muted-notice")).to_be_hidden()

    def muted_in_the_mix() -> set[Who] | None:
        """Whom the server's media room drops now (None while no room is open: a reload closes it for a moment)."""
        room = server.media.rooms.get(meeting_id)
        return None if room is None or Who.member(member_id) not in room.peers else set(room.gate.muted)

    # The phone joins the meeting's audio; the server's room then follows the journal.
    wait_until(lambda: muted_in_the_mix() is not None, what="the member's audio joined")

    chair_context = open_context(browser, DESKTOP)
    chair = chair_context.new_page()
    watch_errors(chair, errors, "chair")
    sign_in(chair, server, branch.chair, f"/chair?m={meeting_id}")
    chair.get_by_text("Danh sách điểm danh").click()  # the attendance list opens
    row = chair.locator("#attendance > li", has_text=name)
    expect(row).to_contain_text("Trực tuyến")
    row.get_by_role("button", name=f"Tắt micrô: {name}").click()

    notice = member.locator("#muted-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(MUTED_NOTICE)
    expect(member.locator("#mic-state")).to_have_text("Micrô đang tắt: mọi người không nghe thấy đồng chí.")
    expect(row).to_contain_text("micrô đã tắt")
    expect(row.get_by_role("button", name=f"Bật micrô: {name}")).to_be_visible()
    assert service.state(meeting_id)[0].muted == {member_id}
    wait_until(lambda: Who.member(member_id) in (muted_in_the_mix() or ()), what="the server's gate muting the member")
    screens(member, artifacts, "member-muted")
    screens(chair, artifacts, "chair-mute")
    assert axe_violations(chair) == [], describe(axe_violations(chair))
    assert axe_violations(member) == [], describe(axe_violations(member))

    # A reload is a new connection: the mute is in the meeting's state, so the notice is back at once.
    member.reload()
    join(member, server, member_id)
    expect(member.locator("#muted-notice")).to_have_text(MUTED_NOTICE)
    wait_until(lambda: Who.member(member_id) in (muted_in_the_mix() or ()), what="the rejoined member still muted")

    # The hall's microphone has its own row and button.
    chair.get_by_role("button", name="Tắt micrô: Micrô hội trường").click()
    expect(chair.get_by_role("button", name="Bật micrô: Micrô hội trường")).to_be_visible()
    wait_until(lambda: service.state(meeting_id)[0].hall_muted, what="the hall muted")
    wait_until(lambda: HALL in (muted_in_the_mix() or ()), what="the server's gate muting the hall")

    row.get_by_role("button", name=f"Bật micrô: {name}").click()
    expect(notice).to_be_hidden()
    expect(member.locator("#toast")).to_contain_text("Chủ trì đã bật lại micrô của đồng chí.")
    expect(row.get_by_role("button", name=f"Tắt micrô: {name}")).to_be_visible()
    assert service.state(meeting_id)[0].muted == frozenset()
    wait_until(lambda: muted_in_the_mix() == {HALL}, what="the server's gate unmuting the member")
    assert errors == []
    member_context.close()
    chair_context.close()
