"""The hall's screen when the chair mutes the room's microphone, in Debian's Chromium: a big notice says the hall
microphone is off (so the room knows why nobody online hears it), in both languages, after a reload too, and goes
when the chair turns it back on; and every state of the hall's screen on one 16:9 projector screen, unscrolled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from meeting import planning
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
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


PROJECTORS = ({"width": 1280, "height": 720}, {"width": 1920, "height": 1080})  # the room's 16:9 projectors


def on_one_screen(
    page: Page,
    name: str,
    keys: tuple[str, ...],
    artifacts: Path,
    check: Callable[[Page, dict[str, int]], None] | None = None,
) -> None:
    """At each projector size: nothing scrolls, and every key element shows whole, inside the window and inside
    its card (not cut off by it); `check` looks at anything else at each size. A picture of each size is kept for a
    person to look at."""
    before = page.viewport_size
    for size in PROJECTORS:
        page.set_viewport_size(size)
        page.wait_for_function(
            "([w, h]) => document.documentElement.clientWidth === w && innerHeight === h",
            arg=[size["width"], size["height"]],
        )
        if check:
            check(page, size)
        for key in keys:
            expect(page.locator(key)).to_be_visible()
        scroll_height, height = page.evaluate("() => [document.scrollingElement.scrollHeight, innerHeight]")
        assert scroll_height <= height, f"{name} scrolls at {size}: {scroll_height} > {height}"
        for key in keys:
            outside = page.locator(key).evaluate(
                """(el) => {
                    const box = el.getBoundingClientRect();
                    const card = (el.closest('.card') ?? el).getBoundingClientRect();
                    const out = [];
                    const H = innerHeight + 0.5, W = innerWidth + 0.5;
                    if (box.top < 0 || box.bottom > H || box.right > W) out.push('window');
                    if (box.bottom > card.bottom + 0.5 || box.right > card.right + 0.5) out.push('card');
                    const hides = getComputedStyle(el).overflowY !== 'visible';
                    if (hides && el.scrollHeight > el.clientHeight + 1) out.push('clipped');
                    return out;
                }"""
            )
            assert outside == [], f"{name} at {size}: {key} not whole ({outside})"
        # The floor holder's name and the timer are the biggest text on the screen.
        sizes = page.evaluate(
            """() => {
                const px = (el) => parseFloat(getComputedStyle(el).fontSize);
                const others = [...document.querySelectorAll('main li, main p:not(#speaker):not(#timer), main h2')]
                    .filter((el) => el.offsetParent !== null && !el.closest('#hall-muted'));
                return { speaker: px(document.querySelector('#speaker')), others: Math.max(...others.map(px)) };
            }"""
        )
        assert sizes["speaker"] > sizes["others"], f"{name} at {size}: the speaker's name is not the biggest ({sizes})"
        page.screenshot(path=str(artifacts / f"{name}-{size['width']}x{size['height']}.png"))
    if before:
        page.set_viewport_size(before)
    screens(page, artifacts, name)  # the phone (it may scroll there) and the desktop, full length


def test_every_state_of_the_hall_fits_a_projector_without_scrolling(browser, live_server: LiveServer, artifacts):
    """Before the start, a member speaking with eight hands up (the microphone muted too), a vote open and closed,
    the end: each on one 16:9 screen at 1280x720 and 1920x1080, the speaker's name the biggest text; on a phone
    the page may scroll but stays one column no wider than the phone."""
    server, branch, service = live_server, live_server.branch, live_server.context.service
    with server.context.sessions.begin() as session:
        meeting = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ tháng 12 và tổng kết công tác xây dựng Đảng năm",
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        meeting_id, items = meeting.id, [item.id for item in meeting.agenda]
    service.open(meeting_id)
    chair = Actor.member(branch.chair)
    everyone = [*branch.officials, branch.probationary, branch.exempt, branch.guest]
    remote = set(branch.officials[3:])
    for member in everyone:
        mode = "remote" if member in remote else "in_person"
        service.execute(meeting_id, c.CheckIn(member_id=member, mode=mode), Actor.member(branch.clerk))
    errors: list[str] = []
    context = open_context(browser, DESKTOP)
    hall = context.new_page()
    watch_errors(hall, errors, "hall")
    sign_in(hall, server, branch.clerk, f"/hall?m={meeting_id}")
    common = ("#meeting-title", "#item-line", "#speaker", "#queue", "#quorum", "#figures", "#agenda-card")

    # Before the start: the status, nobody speaking, the quorum already met.
    expect(hall.locator("#item-line")).to_have_text("Chưa bắt đầu")
    expect(hall.locator("#quorum")).to_contain_text("Đủ số lượng")
    on_one_screen(hall, "hall-fit-before", common, artifacts)

    # A member speaking, eight hands up behind them (six shown, "và 2 người nữa"), the hall's microphone muted.
    service.execute(meeting_id, c.StartMeeting(), chair)
    service.execute(meeting_id, c.OpenItem(item_id=items[3]), chair)
    speaker, *waiting = [m for m in everyone if m != branch.chair] + [branch.chair]
    service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair)
    for member in waiting:
        service.execute(meeting_id, c.RaiseHand(), Actor.member(member))
    service.execute(meeting_id, c.MuteMicrophone(hall=True), chair)
    roster = service.state(meeting_id)[0].roster
    expect(hall.locator("#speaker")).to_have_text(roster[speaker].name)
    expect(hall.locator("#queue > li")).to_have_count(7)
    expect(hall.locator("#queue > li").last).to_have_text(f"và {len(waiting) - 6} người nữa")
    expect(hall.locator("#hall-muted")).to_be_visible()
    speaking = (*common, "#timer", "#hall-muted", "#queue > li:last-child")
    on_one_screen(hall, "hall-fit-speaking", speaking, artifacts)

    # A vote open, the microphone still muted: the running tally beside the speaker, the queue and the agenda.
    service.execute(meeting_id, c.OpenVote(vote_id="v-fit", question="Thông qua nghị quyết tháng 12?"), chair)
    for member, choice in zip(sorted(remote), ("for", "for", "against"), strict=True):
        service.execute(meeting_id, c.CastBallot(vote_id="v-fit", choice=choice), Actor.member(member))
    expect(hall.locator("#vote-body")).to_contain_text("Đang biểu quyết")
    voting = (*speaking, "#vote-question", "#vote-body .tally")
    on_one_screen(hall, "hall-fit-voting", voting, artifacts)

    # The vote closed: the result and its basis.
    service.execute(
        meeting_id,
        c.RecordHallCount(vote_id="v-fit", votes_for=3, votes_against=0, votes_abstain=0),
        Actor.member(branch.clerk),
    )
    service.execute(meeting_id, c.CloseVote(vote_id="v-fit"), chair)
    expect(hall.locator("#vote-body")).to_contain_text("Được thông qua")
    expect(hall.locator("#vote-body")).to_contain_text("Tính trên")
    closed = (*voting, "#vote-body .hall-result", "#vote-body > p:last-child")
    on_one_screen(hall, "hall-fit-vote-closed", closed, artifacts)
    hall.get_by_role("button", name="English").click()  # English words are longer in places
    expect(hall.locator("#vote-body")).to_contain_text("Passed")
    on_one_screen(hall, "hall-fit-vote-closed-en", closed, artifacts)
    hall.get_by_role("button", name="Tiếng Việt").click()

    # The end (the microphone on again).
    service.execute(meeting_id, c.UnmuteMicrophone(hall=True), chair)
    service.execute(meeting_id, c.EndMeeting(), chair)
    expect(hall.locator("#item-line")).to_have_text("Đã kết thúc")
    on_one_screen(hall, "hall-fit-ended", common, artifacts)
    violations = axe_violations(hall)
    assert violations == [], describe(violations)

    # On a phone: one column, nothing wider than the phone (scrolling down is fine there).
    hall.set_viewport_size(PHONE)
    hall.wait_for_function(f"() => document.documentElement.clientWidth === {PHONE['width']}")
    assert hall.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    columns = hall.evaluate("() => getComputedStyle(document.querySelector('main .grid')).gridTemplateColumns")
    assert len(columns.split()) == 1, columns
    assert errors == []
    context.close()


LONG_ITEMS = (
    "Thảo luận, góp ý dự thảo báo cáo chính trị trình đại hội Đảng bộ xã nhiệm kỳ 2025 – 2030 và phương hướng, "
    "nhiệm vụ của chi bộ trong nhiệm kỳ mới",
    "Kiểm điểm việc thực hiện nghị quyết về xây dựng nông thôn mới kiểu mẫu",
    "Bàn biện pháp vận động đoàn viên, hội viên tham gia hiến đất mở rộng đường liên thôn, làm rãnh thoát nước "
    "và trồng cây xanh trên các tuyến đường chính của thôn",
    "Giới thiệu quần chúng ưu tú để Đảng xem xét kết nạp",
    "Thu, nộp đảng phí và quản lý tài chính của chi bộ",
    "Ý kiến của đảng viên về công tác cán bộ, công tác kiểm tra, giám sát trong năm và các việc khác chi bộ cần "
    "giải quyết",
)


def agenda_shown(page: Page, size: dict[str, int], titles: list[str], current: int, lang: str = "vi") -> None:
    """The agenda card at this size: a window of consecutive items with the current one (highlighted) and the one or
    two done just before it, a '… N' line above and below for exactly the items left out there, all inside the card."""
    page.wait_for_function(  # the window is fitted to the card (hall.js measures on resize)
        "() => { const c = document.querySelector('#agenda-card'); return c.scrollHeight <= c.clientHeight + 1; }"
    )
    rows = page.locator("#agenda > li").evaluate_all(
        """(lis) => lis.map((li) => ({
            text: li.innerText.replace(/\\s+/g, ' ').trim(),
            more: li.classList.contains('agenda-more'),
            current: li.getAttribute('aria-current'),
            done: Boolean(li.querySelector('.done')),
            background: getComputedStyle(li).backgroundColor,
        }))"""
    )
    where = f"at {size}: {[row['text'] for row in rows]}"
    items = [row for row in rows if not row["more"]]
    numbers = [int(row["text"].split(".")[0]) for row in items]
    first, last, n = numbers[0], numbers[-1], len(titles)
    assert numbers == list(range(first, last + 1)), where
    assert len(items) < n, f"the whole agenda shows {where}"  # fourteen items never fit: a window
    for number, row in zip(numbers, items, strict=True):
        assert row["text"].startswith(f"{number}. {titles[number - 1]}"), where
    before, after = ("… {n} earlier", "… {n} more to come") if lang == "en" else ("… {n} mục trước", "… còn {n} mục")
    markers = [row["text"] for row in rows if row["more"]]
    expected = [before.format(n=first - 1)] if first > 1 else []
    expected += [after.format(n=n - last)] if last < n else []
    assert markers == expected, where
    assert (rows[0]["more"], rows[-1]["more"]) == (first > 1, last < n), where
    marked = [number for number, row in zip(numbers, items, strict=True) if row["current"] == "step"]
    assert marked == [current + 1], where
    highlighted = items[numbers.index(current + 1)]
    assert highlighted["background"] == "rgb(58, 47, 0)", where  # the current item's yellow-brown band
    assert first <= current, f"no item just done shows {where}"
    assert current + 1 < last, f"no next item shows {where}"
    assert all(row["done"] for row in items if int(row["text"].split(".")[0]) <= current), where
    expect(page.locator("#agenda > li[aria-current='step']")).to_be_in_viewport()


def test_a_long_agenda_shows_a_window_around_the_current_item(browser, live_server: LiveServer, artifacts):
    """Fourteen items, some with titles of two or three lines: at 1280x720 and 1920x1080 the hall's screen does not
    scroll; the agenda shows the items just done, the current one highlighted and the next ones, with '… N mục
    trước' / '… còn N mục' (in English too) for the rest, the current item in the middle and near the end."""
    server, branch, service = live_server, live_server.branch, live_server.context.service
    with server.context.sessions.begin() as session:
        meeting = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ tháng 12",
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        for position, title in zip((3, 4, 6, 9, 10, 11), LONG_ITEMS, strict=True):
            planning.add_item(session, meeting.id, title=title, position=position)
        meeting_id = meeting.id
        titles = [item.title for item in planning.get_meeting(session, meeting_id).agenda]
        items = [item.id for item in planning.get_meeting(session, meeting_id).agenda]
    assert len(titles) == 14
    service.open(meeting_id)
    chair = Actor.member(branch.chair)
    errors: list[str] = []
    context = open_context(browser, DESKTOP)
    hall = context.new_page()
    watch_errors(hall, errors, "hall")
    sign_in(hall, server, branch.clerk, f"/hall?m={meeting_id}")
    expect(hall.locator("#agenda > li")).not_to_have_count(0)
    keys = ("#meeting-title", "#speaker", "#queue", "#agenda-card", "#agenda", "#agenda > li[aria-current='step']")

    # The current item in the middle (the seventh of fourteen, the eighth already skipped), a member speaking.
    service.execute(meeting_id, c.StartMeeting(), chair)
    for item in items[:7]:
        service.execute(meeting_id, c.OpenItem(item_id=item), chair)
    service.execute(meeting_id, c.SkipItem(item_id=items[7]), chair)
    for member in branch.officials[:4]:
        service.execute(meeting_id, c.CheckIn(member_id=member, mode="in_person"), Actor.member(branch.clerk))
    service.execute(meeting_id, c.GrantFloor(member_id=branch.officials[1]), chair)
    for member in branch.officials[2:4]:
        service.execute(meeting_id, c.RaiseHand(), Actor.member(member))
    expect(hall.locator("#item-line")).to_have_text(titles[6])
    expect(hall.locator("#agenda > li[aria-current='step']")).to_contain_text(f"7. {titles[6]}")
    on_one_screen(hall, "hall-agenda-middle", keys, artifacts, lambda page, size: agenda_shown(page, size, titles, 6))
    hall.get_by_role("button", name="English").click()
    expect(hall.locator("#agenda .agenda-more").first).to_contain_text("earlier")
    on_one_screen(
        hall, "hall-agenda-middle-en", keys, artifacts, lambda page, size: agenda_shown(page, size, titles, 6, "en")
    )
    hall.get_by_role("button", name="Tiếng Việt").click()

    # Near the end (the thirteenth) with a vote open: the agenda shares its row with the queue.
    for item in items[8:13]:
        service.execute(meeting_id, c.OpenItem(item_id=item), chair)
    service.execute(meeting_id, c.OpenVote(vote_id="v-long", question="Thông qua nghị quyết?"), chair)
    expect(hall.locator("#vote-body")).to_contain_text("Đang biểu quyết")
    expect(hall.locator("#agenda > li[aria-current='step']")).to_contain_text(f"13. {titles[12]}")
    on_one_screen(hall, "hall-agenda-end", keys, artifacts, lambda page, size: agenda_shown(page, size, titles, 12))
    assert errors == []
    context.close()
