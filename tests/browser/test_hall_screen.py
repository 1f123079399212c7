"""The hall's screen when the chair mutes the room's microphone, in Debian's Chromium: a big notice says the hall
microphone is off (so the room knows why nobody online hears it), in both languages, after a reload too, and goes
when the chair turns it back on."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, wait_until, watch_errors

NOTICE = (
    "Micrô hội trường đang tắt. "
    "Chủ trì đã tắt micrô của hội trường: người dự họp trực tuyến không nghe thấy hội trường."
)


def test_the_hall_says_its_microphone_is_off_when_the_chair_mutes_it(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    service, meeting_id = server.context.service, branch.meeting_id
    service.open(meeting_id)
    errors: list[str] = []

    hall_context = open_context(browser, DESKTOP)
    hall = hall_context.new_page()
    watch_errors(hall, errors, "hall")
    sign_in(hall, server, branch.clerk, f"/hall?m={meeting_id}")  # the clerk's sign-in runs the hall station
    expect(hall.locator("#meeting-title")).to_have_text("Sinh hoạt chi bộ tháng 11")
    notice = hall.locator("#hall-muted")
    expect(notice).to_be_hidden()

    chair_context = open_context(browser, DESKTOP)
    chair = chair_context.new_page()
    watch_errors(chair, errors, "chair")
    sign_in(chair, server, branch.chair, f"/chair?m={meeting_id}")
    chair.get_by_text("Danh sách điểm danh").click()  # the attendance list, with the hall's microphone on it
    chair.get_by_role("button", name="Tắt micrô: Micrô hội trường").click()

    expect(notice).to_be_visible()
    expect(notice).to_have_text(NOTICE)
    assert service.state(meeting_id)[0].hall_muted
    violations = axe_violations(hall)
    assert violations == [], describe(violations)
    screens(hall, artifacts, "hall-muted")
    hall.get_by_role("button", name="English").click()
    expect(notice).to_have_text(
        "The hall microphone is off. The chair has muted the room's microphone: members online cannot hear the room."
    )
    hall.get_by_role("button", name="Tiếng Việt").click()

    # A reload (the projector's laptop restarted): the mute is in the meeting's state, the notice is back at once.
    hall.reload()
    expect(hall.locator("#meeting-title")).to_have_text("Sinh hoạt chi bộ tháng 11")
    expect(notice).to_have_text(NOTICE)

    chair.get_by_role("button", name="Bật micrô: Micrô hội trường").click()
    expect(notice).to_be_hidden()
    wait_until(lambda: not service.state(meeting_id)[0].hall_muted, what="the hall unmuted")
    assert errors == []
    hall_context.close()
    chair_context.close()
