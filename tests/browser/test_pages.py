"""The pages on their own, in Debian's Chromium: both languages complete and switchable, errors from the API
in the reader's language, nothing wider than a 360 px phone, axe-core clean before anyone signs in."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from meeting.auth import Principal, issue_access_token
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, watch_errors
from tests.conftest import TEST_SECRET


def keys(table: dict, prefix: str = "") -> set[str]:
    found = set()
    for key, value in table.items():
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{key}.")
        else:
            found.add(f"{prefix}{key}")
    return found


def test_both_languages_name_the_same_strings(browser, live_server: LiveServer):
    context = open_context(browser, PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/")
    vi = page.evaluate("async () => (await import('/static/i18n/vi.js')).default")
    en = page.evaluate("async () => (await import('/static/i18n/en.js')).default")
    assert keys(vi) == keys(en)
    assert len(keys(vi)) > 200
    # Every key a page asks for exists (data-i18n in the shells).
    for path in ("/", "/join", "/chair", "/clerk", "/hall"):
        html = page.request.get(live_server.url + path).text()
        for key in {part.split('"')[0] for part in html.split('data-i18n="')[1:]}:
            assert key in keys(vi), f"{path}: {key}"
    context.close()


def test_sign_in_errors_in_the_chosen_language(browser, live_server: LiveServer, artifacts):
    context = open_context(browser, PHONE)
    page = context.new_page()
    errors: list[str] = []
    watch_errors(page, errors, "login")
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_have_text("Xin nhập tên đăng nhập và mật khẩu.")
    page.get_by_label("Tên đăng nhập").fill("khong-co-ai")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    assert axe_violations(page) == []
    screens(page, artifacts, "login-error")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    page.reload()  # the choice is remembered on this device
    expect(page.get_by_role("button", name="Tiếng Việt")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    assert errors == ["login: Failed to load resource: the server responded with a status of 401 (Unauthorized)"] * 2
    context.close()


def test_member_page_without_or_with_a_bad_invite(browser, live_server: LiveServer, artifacts):
    context = open_context(browser, PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/join")
    expect(page.locator("#join-status")).to_contain_text("mở đường liên kết mời")
    expect(page.get_by_role("button", name="Tham gia")).to_be_disabled()
    expect(page.get_by_role("link", name="Đăng nhập")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(live_server.url + "/join#invite=eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")
    page.reload()
    expect(page.locator("#join-status")).to_have_text("Liên kết mời không hợp lệ hoặc đã hết hạn.")
    assert page.evaluate("() => location.hash") == ""  # the token does not stay in the address bar
    context.close()


def test_keyboard_alone_signs_in_and_joins(browser, live_server: LiveServer):
    server = live_server
    context = open_context(browser, PHONE, mic=True)
    page = context.new_page()
    page.goto(server.url + "/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Chuyển đến nội dung chính")).to_be_focused()  # first stop: skip link
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id"))
    assert focused == ["lang", "username", "password", "login-submit"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type(server.username(server.branch.officials[2]))
    page.keyboard.press("Tab")
    page.keyboard.type("sai")
    page.keyboard.press("Enter")
    expect(page.locator("#login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    # The member's page: Tab to the big button, Enter joins.
    page.goto(server.invite_link(server.branch.officials[2]))
    expect(page.get_by_role("button", name="Tham gia")).to_be_enabled()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "join":
            break
    assert page.evaluate("() => document.activeElement.id") == "join", "Tab never reached the join button"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#meeting-view")).to_be_visible(timeout=20_000)  # joining opens the hub and the media
    context.close()


def test_a_tap_before_the_meeting_is_found_still_joins(browser, live_server: LiveServer):
    """The button works at once on a slow link: a tap that comes while the invite is still being exchanged
    must join when the answer arrives, not be dropped."""
    server = live_server
    context = open_context(browser, PHONE, mic=True)
    page = context.new_page()
    held = []
    page.route("**/api/auth/invite", lambda route: held.append(route))  # the slow link: no answer yet
    page.goto(server.invite_link(server.branch.officials[3]))
    page.get_by_role("button", name="Tham gia").click()
    expect(page.locator("#join-status")).to_have_text("Đang vào phòng họp...")
    assert len(held) == 1 and page.locator("#meeting-view").is_hidden()
    held[0].continue_()
    expect(page.locator("#meeting-view")).to_be_visible(timeout=20_000)
    context.close()


def test_no_page_is_wider_than_a_phone(browser, live_server: LiveServer):
    server, branch = live_server, live_server.branch
    context = open_context(browser, PHONE, mic=True)
    page = context.new_page()
    page.goto(server.invite_link(branch.guest))
    page.get_by_role("button", name="Tham gia").click()
    expect(page.locator("#meeting-view")).to_be_visible()
    pages = {"/join": page}
    for path in ("/chair", "/clerk", "/hall", "/"):
        other = context.new_page()
        other.goto(f"{server.url}{path}?m={branch.meeting_id}")
        pages[path] = other
    for path, each in pages.items():
        each.wait_for_load_state("networkidle")
        width = each.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
    # English words are longer in places: the same in English.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Raise hand to speak")).to_be_visible()
    for path, each in pages.items():
        if each is not page:
            each.reload()
            each.wait_for_load_state("networkidle")
        assert each.evaluate("() => document.documentElement.lang") == "en", path
        width = each.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} in English is {width} px wide"
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    page.set_viewport_size(DESKTOP)
    context.close()


def test_the_pages_fold_every_kind_of_event_as_the_server_does(browser, live_server: LiveServer):
    """net.js keeps each page's state by folding journal events; here every event type the domain has is
    folded in the browser and compared with the server's own state (meeting/views.py)."""
    from meeting.domain import Actor
    from meeting.domain import commands as c
    from meeting.views import state_to_json

    server, branch = live_server, live_server.branch
    service, meeting_id = server.context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    a, b, exempt = branch.officials[3], branch.officials[4], branch.exempt

    def run(actor, command) -> None:
        service.execute(meeting_id, command, actor)

    for member in (branch.chair, branch.clerk, a, b, exempt):  # online by themselves, in the room by the clerk
        remote = member in (a, b)
        run(
            Actor.member(member) if remote else clerk,
            c.CheckIn(member_id=member, mode="remote" if remote else "in_person"),
        )
    state = service.state(meeting_id)[0]
    items = [item.id for item in state.agenda]
    run(chair, c.ReorderAgenda(order=[items[1], items[0], *items[2:]]))
    run(chair, c.SkipItem(item_id=items[2]))
    run(chair, c.StartMeeting())
    run(chair, c.OpenItem(item_id=items[0]))
    run(Actor.member(a), c.RaiseHand())
    run(Actor.member(b), c.RaiseHand(kind="point_of_order"))
    run(chair, c.LowerHand(member_id=a))
    run(chair, c.NextSpeaker())
    run(Actor.member(b), c.YieldFloor())
    run(chair, c.MuteMicrophone(member_id=b))
    run(chair, c.MuteMicrophone(member_id=a))
    run(chair, c.MuteMicrophone(hall=True))
    run(chair, c.UnmuteMicrophone(member_id=b))  # a stays muted, and the hall
    run(clerk, c.WriteEntry(entry_id="e-1", item_id=items[0], text="Ý kiến", speaker_id=b))
    run(clerk, c.ReviseEntry(entry_id="e-1", text="Ý kiến đã sửa"))
    run(clerk, c.WriteEntry(entry_id="e-2", item_id=items[0], text="Ghi chú", kind="note"))
    run(clerk, c.MoveEntry(entry_id="e-2", direction="up"))
    run(chair, c.ConcludeItem(item_id=items[0], text="Kết luận"))
    run(chair, c.OpenVote(vote_id="v-1", question="Thông qua?"))
    run(Actor.member(a), c.CastBallot(vote_id="v-1", choice="for"))
    run(clerk, c.RecordHallCount(vote_id="v-1", votes_for=2, votes_against=0, votes_abstain=1))
    run(chair, c.CloseVote(vote_id="v-1"))
    run(Actor.member(b), c.Leave(member_id=b))
    run(clerk, c.MarkAbsent(member_id=branch.officials[5], reason="Ốm"))
    run(clerk, c.MarkAbsent(member_id=branch.probationary))  # no reason: unexcused
    run(chair, c.CloseItem(item_id=items[0]))
    run(chair, c.EndMeeting())
    recorded = service.events_after(meeting_id, 0)
    kinds = {r.event.type for r in recorded}
    every_kind = {t.model_fields["type"].default for t in event_types()}
    assert kinds == every_kind, every_kind - kinds

    context = open_context(browser, PHONE)
    page = context.new_page()
    page.goto(server.url + "/")
    who = Principal(user_id=None, member_id=branch.chair, branch_id=branch.branch_id, role="secretary")
    token = issue_access_token(who, TEST_SECRET)
    folded = page.evaluate(
        """async ([meetingId, token]) => {
            const net = await import('/static/js/net.js');
            net.saveSession(net.sessionFromToken(token));
            const { events } = await net.request(`/api/meetings/${meetingId}/journal?limit=1000`);
            let state = net.emptyState(meetingId);
            for (const recorded of events) state = net.foldEvent(state, recorded);
            return state;
        }""",
        [meeting_id, token],
    )
    assert folded == json.loads(json.dumps(state_to_json(*service.state(meeting_id))))
    context.close()


def event_types() -> list[type]:
    """Every event class of the domain's Event union."""
    from typing import get_args

    from meeting.domain.events import Event

    union = get_args(Event)[0]
    return list(get_args(union))


def test_a_phone_whose_clock_is_hours_ahead_still_uses_a_fresh_token(browser, live_server: LiveServer):
    branch = live_server.branch
    context = open_context(browser, PHONE)
    context.add_init_script("{ const real = Date.now; Date.now = () => real() + 3 * 3600 * 1000; }")
    page = context.new_page()
    page.goto(live_server.url + "/")
    who = Principal(user_id=None, member_id=branch.clerk, branch_id=branch.branch_id, role="member")
    token = issue_access_token(who, TEST_SECRET)
    used = page.evaluate(
        """async (token) => {
            const net = await import('/static/js/net.js');
            net.saveSession(net.sessionFromToken(token));
            return await net.token();
        }""",
        token,
    )
    assert used == token  # a 30-minute token issued just now is not "expired" on a clock 3 hours ahead
    context.close()
