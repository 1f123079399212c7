"""The review of the last resolution, in Debian's Chromium: the previous meeting's action items ("5 rõ") with
their status today on the chair's console and the hall's screen, fetched when the step becomes current (not on
every update), a failed fetch said plainly and made again when the step comes round again, a long list trimmed on
the hall with "và N nhiệm vụ khác"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Page, expect

from meeting import planning
from meeting.db.models import ActionItem, Resolution
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from meeting.record import resolutions as res
from tests.browser.conftest import DESKTOP, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors

REVIEW = "Kiểm điểm việc thực hiện nghị quyết kỳ trước"
OPENING = "Khai mạc, báo cáo số lượng đảng viên dự họp"
REPORT = "Báo cáo tình hình và nhiệm vụ"
DONE, OPEN, OVERDUE = "Thu đảng phí quý IV", "Sửa nhà văn hóa thôn", "Vận động quỹ khuyến học"
PROJECTORS = ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720})  # 16:9 projectors
# The failure made on purpose below shows in the console as a failed load; nothing else may.
EXPECTED_FAILURE = "Failed to load resource: net::ERR_FAILED"


def five_clear(assignee: int, task: str, deadline: date) -> res.ActionFields:
    return res.ActionFields(assignee, task, deadline, "Đồng chí Bí thư", "Hoàn thành đúng hạn")


def hold_previous_meeting(server: LiveServer) -> tuple[int, int]:
    """The branch's meeting a month ago, held and ended, whose resolution set three tasks: one done, one still
    within its deadline, one past it. Returns the previous meeting's and its resolution's ids."""
    branch, service = server.branch, server.context.service
    now = datetime.now(UTC)
    with server.context.sessions.begin() as session:
        previous = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ tháng 10",
            scheduled_at=now - timedelta(days=30),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        previous_id = previous.id
    service.open(previous_id)
    service.execute(previous_id, c.StartMeeting(), Actor.member(branch.chair))
    service.execute(previous_id, c.EndMeeting(), Actor.member(branch.chair))
    today = now.date()
    with server.context.sessions.begin() as session:
        resolution = Resolution(meeting_id=previous_id, title="Nghị quyết tháng 10", text="")
        session.add(resolution)
        session.flush()
        o3, o4 = branch.officials[2], branch.officials[3]
        done = res.add_action(session, resolution, branch.branch_id, five_clear(o3, DONE, today - timedelta(days=5)))
        res.add_action(session, resolution, branch.branch_id, five_clear(o4, OPEN, today + timedelta(days=20)))
        res.add_action(session, resolution, branch.branch_id, five_clear(o4, OVERDUE, today - timedelta(days=10)))
        res.set_done(done, True, now - timedelta(days=7))
        return previous_id, resolution.id


def fits(page: Page, size: dict) -> bool:
    """Whether all of the page shows at `size` without scrolling (then back to the size it had)."""
    before = page.viewport_size
    page.set_viewport_size(size)
    try:
        page.wait_for_function(f"() => document.documentElement.clientWidth === {size['width']}")
        bottom = page.evaluate("() => document.querySelector('main').getBoundingClientRect().bottom + scrollY")
        scrolls = page.evaluate("() => document.documentElement.scrollHeight > innerHeight")
        return bottom <= size["height"] and not scrolls
    finally:
        if before:
            page.set_viewport_size(before)


def review_requests(page: Page, meeting_id: int) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: request.url.endswith(f"/api/meetings/{meeting_id}/review") and seen.append(request.url),
    )
    return seen


def status_of(page: Page, selector: str, task: str):
    return page.locator(selector, has_text=task).locator(".review-status")


def test_the_review_step_shows_the_last_resolutions_tasks(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    meeting_id = branch.meeting_id
    _, resolution_id = hold_previous_meeting(server)
    errors: list[str] = []

    chair_context = open_context(browser, DESKTOP)
    chair = chair_context.new_page()
    watch_errors(chair, errors, "chair")
    chair_fetches = review_requests(chair, meeting_id)
    sign_in(chair, server, branch.chair, f"/chair?m={meeting_id}")
    hall_context = open_context(browser, DESKTOP)
    hall = hall_context.new_page()
    watch_errors(hall, errors, "hall")
    hall_fetches = review_requests(hall, meeting_id)
    sign_in(hall, server, branch.clerk, f"/hall?m={meeting_id}")  # the clerk's sign-in runs the hall station
    expect(hall.locator("#meeting-title")).to_have_text("Sinh hoạt chi bộ tháng 11")

    # Before the step: the chair may look ahead (fetched when the list is opened); the hall shows nothing yet.
    card = chair.locator("#review-card")
    expect(card).to_contain_text("Mục này chưa bắt đầu: mở danh sách để xem trước.")
    assert chair_fetches == [] and hall.locator("#review-card").is_hidden()
    card.get_by_text("Danh sách nhiệm vụ (5 rõ)").click()
    expect(chair.locator("#review-summary")).to_have_text("1/3 nhiệm vụ đã hoàn thành (1 quá hạn, 1 đang thực hiện)")
    assert len(chair_fetches) == 1
    card.get_by_text("Danh sách nhiệm vụ (5 rõ)").click()  # folded away again before the meeting starts

    # The chair opens and starts the meeting and goes to the review step.
    chair.get_by_role("button", name="Mở cuộc họp").click()
    expect(chair.locator("#open-card")).to_be_hidden()
    chair.get_by_role("button", name="Bắt đầu cuộc họp").click()
    for title in (OPENING, REVIEW):
        chair.get_by_role("button", name=f"Sang mục: {title}").click()
        expect(chair.locator("#meeting-status")).to_contain_text(f"Đang thảo luận: {title}")

    # The chair's console: the list opens by itself, every "5 rõ" field, the status in words.
    expect(chair.locator("#review-details")).to_have_attribute("open", "")
    expect(card).to_contain_text("Đang kiểm điểm ở mục này.")
    expect(chair.locator("#review-summary")).to_have_text("1/3 nhiệm vụ đã hoàn thành (1 quá hạn, 1 đang thực hiện)")
    rows = chair.locator("#review-body li.review-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(OVERDUE)  # what is still to do comes first
    expect(status_of(chair, "#review-body li", DONE)).to_have_text("Đã hoàn thành")
    expect(status_of(chair, "#review-body li", OPEN)).to_have_text("Đang thực hiện")
    expect(status_of(chair, "#review-body li", OVERDUE)).to_have_text("Quá hạn")
    overdue_row = chair.locator("#review-body li", has_text=OVERDUE)
    deadline = (datetime.now(UTC).date() - timedelta(days=10)).strftime("%d/%m/%Y")
    for text in (
        "Người thực hiện: Đảng viên chính thức 4",
        f"Thời hạn: {deadline}",
        "Chịu trách nhiệm: Đồng chí Bí thư",
    ):
        expect(overdue_row).to_contain_text(text)
    expect(overdue_row).to_contain_text("Kết quả cần đạt: Hoàn thành đúng hạn")

    # The hall's screen: task, who, deadline, status in words, and the summary.
    hall_card = hall.locator("#review-card")
    expect(hall_card).to_be_visible()
    expect(hall_card.get_by_role("heading")).to_have_text(REVIEW)
    expect(hall.locator("#review-summary")).to_have_text("1/3 nhiệm vụ đã hoàn thành (1 quá hạn, 1 đang thực hiện)")
    expect(hall.locator("#review-body tbody tr")).to_have_count(3)
    expect(status_of(hall, "#review-body tr", DONE)).to_have_text("Đã hoàn thành")
    expect(status_of(hall, "#review-body tr", OPEN)).to_have_text("Đang thực hiện")
    expect(status_of(hall, "#review-body tr", OVERDUE)).to_have_text("Quá hạn")
    expect(hall.locator("#review-body tr", has_text=OVERDUE)).to_contain_text(f"Đảng viên chính thức 4{deadline}")
    expect(hall.locator("#review-body th")).to_have_text(["Nhiệm vụ", "Người thực hiện", "Thời hạn", "Tình trạng"])
    assert (len(chair_fetches), len(hall_fetches)) == (2, 1)
    # The review card takes the agenda's place: the hall's screen fits a 16:9 projector without scrolling.
    expect(hall.locator("#agenda-card")).to_be_hidden()
    for size in PROJECTORS:
        assert fits(hall, size), f"the hall's review screen scrolls at {size}"
    for page, name in ((hall, "hall-review"), (chair, "chair-review")):
        violations = axe_violations(page)
        assert violations == [], describe(violations)
        screens(page, artifacts, name)

    # Live updates keep coming during the step (people arriving): the list is not fetched again for them.
    for member_id in branch.officials[2:5]:
        server.context.service.execute(
            meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), Actor.member(branch.clerk)
        )
    expect(hall.locator("#figures .figure").first).to_contain_text("3")
    expect(chair.locator("#attendance-figures .figure").first).to_contain_text("3")
    assert (len(chair_fetches), len(hall_fetches)) == (2, 1)

    # English on the hall.
    hall.get_by_role("button", name="English").click()
    expect(hall.locator("#review-summary")).to_have_text("1/3 tasks completed (1 overdue, 1 in progress)")
    expect(status_of(hall, "#review-body tr", OVERDUE)).to_have_text("Overdue")
    hall.get_by_role("button", name="Tiếng Việt").click()

    # The next item: the hall's list goes away. The fetch fails when the chair comes back to the review:
    # a clear message on both, nothing breaks.
    chair.get_by_role("button", name=f"Sang mục: {REPORT}").click()
    expect(hall_card).to_be_hidden()
    expect(hall.locator("#agenda-card")).to_be_visible()  # the agenda is back once the step is over
    for page in (chair, hall):
        page.route(f"**/api/meetings/{meeting_id}/review", lambda route: route.abort())
    chair.get_by_role("button", name=f"Mở lại: {REVIEW}").click()
    failed = "Chưa tải được danh sách nhiệm vụ kỳ trước. Máy sẽ thử lại khi mục này được mở lại."
    expect(hall.locator("#review-body")).to_have_text(failed)
    expect(chair.locator("#review-body .review-failed")).to_contain_text(failed)
    expect(hall.locator("#review-summary")).to_have_text("")
    assert (len(chair_fetches), len(hall_fetches)) == (3, 2)

    # Back online, with five more tasks set since: the next time the step comes round the list is fetched
    # again; the hall shows six rows, those still to do first, and counts the rest.
    for page in (chair, hall):
        page.unroute(f"**/api/meetings/{meeting_id}/review")
    chair.locator("#review-body").get_by_role("button", name="Thử lại").click()  # the chair need not wait
    expect(chair.locator("#review-body li.review-row")).to_have_count(3)
    assert (len(chair_fetches), len(hall_fetches)) == (4, 2)
    with server.context.sessions.begin() as session:
        resolution = session.get(Resolution, resolution_id)
        for n in range(5):
            task = five_clear(
                branch.officials[4], f"Nhiệm vụ bổ sung {n + 1}", datetime.now(UTC).date() + timedelta(days=9)
            )
            res.add_action(session, resolution, branch.branch_id, task)
        assert len(session.query(ActionItem).filter_by(resolution_id=resolution_id).all()) == 8
    chair.get_by_role("button", name=f"Mở lại: {REPORT}").click()
    expect(hall_card).to_be_hidden()
    chair.get_by_role("button", name=f"Mở lại: {REVIEW}").click()
    expect(hall.locator("#review-summary")).to_have_text("1/8 nhiệm vụ đã hoàn thành (1 quá hạn, 6 đang thực hiện)")
    expect(hall.locator("#review-body tbody tr")).to_have_count(6)
    expect(hall.locator("#review-body tbody tr").first).to_contain_text(OVERDUE)
    expect(hall.locator("#review-body .review-more")).to_have_text("và 2 nhiệm vụ khác")
    expect(hall.locator("#review-body")).not_to_contain_text(DONE)  # the done one is among those counted
    expect(chair.locator("#review-body li.review-row")).to_have_count(8)  # the chair sees every one
    expect(chair.locator("#review-summary")).to_have_text("1/8 nhiệm vụ đã hoàn thành (1 quá hạn, 6 đang thực hiện)")
    assert (len(chair_fetches), len(hall_fetches)) == (5, 3)
    expect(hall.locator("#agenda-card")).to_be_hidden()
    for size in PROJECTORS:
        assert fits(hall, size), f"the hall's long review screen scrolls at {size}"
    screens(hall, artifacts, "hall-review-long")

    unexpected = [e for e in errors if not e.endswith(EXPECTED_FAILURE)]
    assert unexpected == [], unexpected
    chair_context.close()
    hall_context.close()


def test_a_review_with_nothing_before_it_says_so(browser, live_server: LiveServer):
    """The branch's first meeting has no earlier resolution: the hall, opened in the middle of the review step,
    says so in words instead of showing an empty table."""
    server, branch, service = live_server, live_server.branch, live_server.context.service
    with server.context.sessions.begin() as session:
        first = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ đầu tiên",
            scheduled_at=datetime.now(UTC) - timedelta(days=90),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        first_id, items = first.id, [(item.kind, item.id) for item in first.agenda]
    service.open(first_id)
    chair = Actor.member(branch.chair)
    service.execute(first_id, c.StartMeeting(), chair)
    service.execute(first_id, c.OpenItem(item_id=dict(items)["review"]), chair)
    context = open_context(browser, DESKTOP)
    hall = context.new_page()
    errors: list[str] = []
    watch_errors(hall, errors, "hall")
    sign_in(hall, server, branch.chair, f"/hall?m={first_id}")
    expect(hall.locator("#review-body")).to_have_text("Kỳ trước không có nhiệm vụ nào.")
    expect(hall.locator("#review-summary")).to_have_text("")
    expect(hall.locator("#review-body table")).to_have_count(0)
    hall.get_by_role("button", name="English").click()
    expect(hall.locator("#review-body")).to_have_text("The last meeting set no tasks.")
    assert errors == []
    context.close()
