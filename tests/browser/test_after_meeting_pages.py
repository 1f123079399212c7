"""The pages for what happens after a meeting, in Debian's Chromium: the secretary's resolutions and their "5 rõ"
tasks (/resolutions), the branch's participation statistics (/stats), the commune committee's overview of its
branches (/commune). Each page sends a signed-out visitor to sign in and tells someone without the role so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting import planning, stats
from meeting.db.models import ActionItem, RecordDocument, Resolution
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors

TASK = "Vận động bà con góp công làm đường bê tông"
LATE_TASK = "Thu quỹ khuyến học"
SEALED_TASK = "Tổ chức họp tổ dân cư"
SEALED_REFUSAL = "Biên bản đã được ký và niêm phong, không sửa được nữa"


def hold_meeting(server: LiveServer, title: str, when: datetime) -> int:
    """A meeting of the test branch, opened, started and ended through the service."""
    branch, service = server.branch, server.context.service
    with server.context.sessions.begin() as session:
        meeting = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title=title,
            scheduled_at=when,
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        meeting_id = meeting.id
    service.open(meeting_id)
    service.execute(meeting_id, c.StartMeeting(), Actor.member(branch.chair))
    service.execute(meeting_id, c.EndMeeting(), Actor.member(branch.chair))
    return meeting_id


def actions_of(server: LiveServer, meeting_id: int) -> list[ActionItem]:
    with server.context.sessions() as session:
        found = session.scalars(
            select(ActionItem)
            .join(Resolution, Resolution.id == ActionItem.resolution_id)
            .where(Resolution.meeting_id == meeting_id)
            .order_by(ActionItem.id)
        ).all()
        session.expunge_all()
        return list(found)


def fill_task(form, *, assignee: str, task: str, deadline: str, responsible: str, result: str) -> None:
    form.get_by_label("Rõ người").select_option(label=assignee)
    form.get_by_label("Rõ việc").fill(task)
    form.get_by_label("Rõ thời gian").fill(deadline)
    form.get_by_label("Rõ trách nhiệm").fill(responsible)
    form.get_by_label("Rõ kết quả").fill(result)


def api_posts(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: request.method in ("POST", "PATCH") and seen.append(request.url))
    return seen


def test_the_secretary_drafts_a_resolution_adds_a_task_and_marks_it_done(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    now = datetime.now(UTC)
    meeting_id = hold_meeting(server, "Sinh hoạt chi bộ tháng trước", now - timedelta(days=3))
    assignee = "Đảng viên chính thức 3"
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "secretary")
    writes = api_posts(page)
    sign_in(page, server, branch.chair, f"/resolutions?m={meeting_id}")

    # The meeting is chosen from the address; it has no resolution yet: the form to draft one is open.
    expect(page.get_by_label("Cuộc họp", exact=True)).to_have_value(str(meeting_id))
    expect(page.get_by_role("heading", name="Cuộc họp này chưa có dự thảo nghị quyết")).to_be_visible()
    expect(page.get_by_label("Tên nghị quyết")).to_have_value("Nghị quyết — Sinh hoạt chi bộ tháng trước")
    page.get_by_label("Tên nghị quyết").fill("Nghị quyết chi bộ tháng 10")
    page.get_by_role("button", name="Tạo dự thảo nghị quyết").click()
    expect(page.get_by_role("heading", name="Nghị quyết chi bộ tháng 10")).to_be_visible()
    with server.context.sessions() as session:
        resolution_id = session.scalar(select(Resolution.id).where(Resolution.meeting_id == meeting_id))
    assert resolution_id is not None

    # Every "5 rõ" field is required: checked before anything is sent, each field says what it lacks.
    form = page.locator(f"#add-{resolution_id}-form")
    sent_before = len(writes)
    form.get_by_role("button", name="Thêm nhiệm vụ").click()
    expect(form.get_by_role("alert").first).to_contain_text("Chưa gửi: còn thiếu")
    expect(form.get_by_label("Rõ việc")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_text("Xin chọn ngày hết hạn.")).to_be_visible()
    expect(form.get_by_label("Rõ người")).to_be_focused()
    assert len(writes) == sent_before

    deadline = (now + timedelta(days=20)).date()
    fill_task(
        form,
        assignee=assignee,
        task=TASK,
        deadline=deadline.isoformat(),
        responsible="Đồng chí Bí thư chi bộ",
        result="Hoàn thành 300 m đường",
    )
    expect(form.get_by_label("Rõ việc")).not_to_have_attribute("aria-invalid", "true")
    form.get_by_role("button", name="Thêm nhiệm vụ").click()
    item = page.locator("li.action-item", has_text=TASK)
    expect(item.locator(".action-status")).to_have_text("Đang thực hiện")
    expect(item).to_contain_text(assignee)
    expect(item).to_contain_text(deadline.strftime("%d/%m/%Y"))
    (stored,) = actions_of(server, meeting_id)
    assert (stored.task, stored.responsible, stored.expected_result, stored.status) == (
        TASK,
        "Đồng chí Bí thư chi bộ",
        "Hoàn thành 300 m đường",
        "open",
    )
    assert stored.assignee_id == branch.officials[2]

    # Marked done: the word says so, and the database holds it.
    item.get_by_role("button", name=f"Đánh dấu đã hoàn thành: {TASK}").click()
    expect(item.locator(".action-status")).to_have_text("Đã hoàn thành")
    expect(item.get_by_role("button", name=f"Mở lại (chưa hoàn thành): {TASK}")).to_be_focused()
    (stored,) = actions_of(server, meeting_id)
    assert stored.status == "done" and stored.done_at is not None

    # A second task whose deadline has passed reads "Quá hạn"; editing keeps the other fields.
    page.get_by_role("button", name="Thêm nhiệm vụ").click()
    fill_task(
        form,
        assignee="Đảng viên dự bị",
        task=LATE_TASK,
        deadline=(now - timedelta(days=2)).date().isoformat(),
        responsible="Đồng chí Phó Bí thư",
        result="Thu đủ quỹ",
    )
    form.get_by_role("button", name="Thêm nhiệm vụ").click()
    late = page.locator("li.action-item", has_text=LATE_TASK)
    expect(late.locator(".action-status")).to_have_text("Quá hạn")
    late.get_by_role("button", name=f"Sửa: {LATE_TASK}").click()
    edit = late.locator("form")
    expect(edit.get_by_label("Rõ kết quả")).to_have_value("Thu đủ quỹ")
    edit.get_by_label("Rõ kết quả").fill("Thu đủ quỹ khuyến học năm nay")
    edit.get_by_role("button", name="Lưu nhiệm vụ").click()
    expect(late).to_contain_text("Thu đủ quỹ khuyến học năm nay")
    expect(page.locator(".action-counts")).to_have_text("2 nhiệm vụ: 1 đã hoàn thành, 0 đang thực hiện, 1 quá hạn")
    assert [a.expected_result for a in actions_of(server, meeting_id)] == [
        "Hoàn thành 300 m đường",
        "Thu đủ quỹ khuyến học năm nay",
    ]
    assert axe_violations(page) == [], describe(axe_violations(page))
    screens(page, artifacts, "resolutions")

    # The record is sealed while the secretary types: the refusal is said beside the form, which keeps the text.
    page.get_by_role("button", name="Thêm nhiệm vụ").click()
    fill_task(
        form,
        assignee=assignee,
        task=SEALED_TASK,
        deadline=deadline.isoformat(),
        responsible="Đồng chí Bí thư chi bộ",
        result="Họp đủ các tổ",
    )
    with server.context.sessions.begin() as session:
        session.add(RecordDocument(meeting_id=meeting_id, number=0, sealed_at=datetime.now(UTC)))
    form.get_by_role("button", name="Thêm nhiệm vụ").click()
    expect(form.locator(".form-alert")).to_contain_text(SEALED_REFUSAL)
    expect(form.get_by_label("Rõ việc")).to_have_value(SEALED_TASK)
    expect(form.get_by_label("Rõ kết quả")).to_have_value("Họp đủ các tổ")
    expect(page.locator("#sealed-note")).to_be_visible()
    assert len(actions_of(server, meeting_id)) == 2
    # Marking done still works on a sealed record.
    late.get_by_role("button", name=f"Đánh dấu đã hoàn thành: {LATE_TASK}").click()
    expect(late.locator(".action-status")).to_have_text("Đã hoàn thành")
    assert [a.status for a in actions_of(server, meeting_id)] == ["done", "done"]
    page.reload()
    expect(page.locator("#sealed-note")).to_be_visible()
    expect(page.get_by_role("button", name=f"Sửa: {TASK}")).to_have_count(0)
    expect(page.get_by_role("button", name="Thêm nhiệm vụ")).to_have_count(0)
    refused = "secretary: Failed to load resource: the server responded with a status of 409 (Conflict)"
    assert errors == [refused], errors
    context.close()


def test_a_plain_member_is_told_the_pages_are_not_for_them(browser, live_server: LiveServer):
    server, branch = live_server, live_server.branch
    context = open_context(browser, DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    watch_errors(page, errors, "member")
    # Signed out: sent to sign in, and brought back afterwards.
    page.goto(f"{server.url}/resolutions")
    page.wait_for_url(re.compile(r"/\?next=%2Fresolutions$"))
    page.get_by_label("Tên đăng nhập").fill(server.username(branch.officials[2]))
    page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/resolutions$"))
    expect(page.locator("#denied")).to_have_text(
        "Trang này dành cho bí thư và phó bí thư chi bộ. Đồng chí không có quyền xem hoặc sửa nghị quyết ở đây."
    )
    expect(page.locator("#content")).to_be_hidden()
    expect(page.locator("#loading")).to_be_hidden()
    assert errors == []
    context.close()


def percent_text(rate: float | None) -> str:
    """What the page shows for a rate: the API's four decimals as a percentage, nothing rounded away."""
    if rate is None:
        return "—"
    hundredths = round(rate * 10000)
    return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".").replace(".", ",") + "%"


STATS_COLUMNS = (
    "meetings_expected",
    "attended",
    "attendance_rate",
    "in_room",
    "online",
    "late",
    "absent_excused",
    "absent_unexcused",
    "times_spoken",
    "opinions_recorded",
    "actions_assigned",
    "actions_done_on_time",
    "actions_done_late",
    "actions_overdue",
    "on_time_rate",
)


def shown_order(page: Page) -> list[int]:
    return [int(v) for v in page.locator("#stats-body tr").evaluate_all("rows => rows.map(r => r.dataset.member)")]


def test_the_stats_table_shows_the_apis_figures_and_the_chart_loads(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    seeded = stats.seed_history(server.context, branch.branch_id, months=2, seed=7)
    assert len(seeded) == 3
    errors: list[str] = []
    context = open_context(browser, DESKTOP)
    page = context.new_page()
    watch_errors(page, errors, "secretary")
    svg_requests: list[str] = []
    page.on("request", lambda r: "/participation.svg" in r.url and svg_requests.append(r.url))
    with page.expect_response(lambda r: r.url.endswith(f"/branches/{branch.branch_id}/participation")) as answer:
        sign_in(page, server, branch.chair, "/stats")
    data = answer.value.json()
    with server.context.sessions() as session:
        expected = stats.branch_participation(session, branch.branch_id).to_json()
    assert data["members"] == expected["members"] and data["summary"] == expected["summary"]
    assert data["summary"]["meetings"] >= 3 and any(m["times_spoken"] for m in data["members"])

    # Every figure is the API's, a rate with its digits; the period and the branch's totals are said in words.
    expect(page.locator("#stats-body tr")).to_have_count(len(data["members"]))
    for member in data["members"]:
        row = page.locator(f'#stats-body tr[data-member="{member["member_id"]}"]')
        expect(row.locator('[data-column="name"]')).to_contain_text(member["name"])
        texts = row.locator("td").all_inner_texts()
        wanted = [percent_text(member[k]) if k.endswith("rate") else str(member[k]) for k in STATS_COLUMNS]
        assert texts == wanted, (member, texts)
    expect(page.locator("#summary")).to_contain_text(percent_text(data["summary"]["attendance_rate"]))
    expect(page.locator("#period-shown")).to_contain_text(f"{data['summary']['meetings']} cuộc họp đã kết thúc")
    assert shown_order(page) == [m["member_id"] for m in data["members"]]  # the roster's order to begin with

    # Sorted by a column (its header says so), then the other way.
    by_turns = sorted(data["members"], key=lambda m: (-m["times_spoken"], m["member_id"]))
    page.get_by_role("button", name="Số lần phát biểu").click()
    expect(page.locator('th[data-column="times_spoken"]')).to_have_attribute("aria-sort", "descending")
    assert shown_order(page) == [m["member_id"] for m in by_turns]
    page.get_by_role("button", name="Số lần phát biểu").click()
    expect(page.locator('th[data-column="times_spoken"]')).to_have_attribute("aria-sort", "ascending")
    by_turns_up = sorted(data["members"], key=lambda m: (m["times_spoken"], m["member_id"]))
    assert shown_order(page) == [m["member_id"] for m in by_turns_up]

    # The chart the API draws, fetched with the token, shown from an object URL.
    page.wait_for_function(
        "() => { const i = document.querySelector('#chart'); return i.complete && i.naturalWidth > 0; }"
    )
    assert page.locator("#chart").get_attribute("src").startswith("blob:")
    expect(page.locator("#chart")).to_be_visible()
    assert len(svg_requests) == 1 and "lang=vi" in svg_requests[0]
    assert axe_violations(page) == [], describe(axe_violations(page))
    screens(page, artifacts, "stats")

    # A period: the days are sent as Vietnamese days; a backwards period is refused before asking.
    page.get_by_label("Từ ngày").fill("2020-03-10")
    page.get_by_label("Đến hết ngày").fill("2020-03-01")
    page.get_by_role("button", name="Xem số liệu").click()
    expect(page.locator("#period-error")).to_have_text("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    page.get_by_label("Đến hết ngày").fill("2020-03-31")
    with page.expect_response(lambda r: "/participation?" in r.url) as answer:
        page.get_by_role("button", name="Xem số liệu").click()
    assert "since=2020-03-10T00%3A00%3A00%2B07%3A00" in answer.value.url
    assert "until=2020-04-01T00%3A00%3A00%2B07%3A00" in answer.value.url
    expect(page.locator("#period-shown")).to_have_text(
        "Số liệu từ 10/03/2020 đến hết 31/03/2020: 0 cuộc họp đã kết thúc."
    )
    expect(page.locator("#no-members")).to_be_visible()

    # In English, the chart is asked for again in English.
    with page.expect_request(lambda r: "/participation.svg" in r.url and "lang=en" in r.url):
        page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Each member")).to_be_visible()
    expect(page.locator("#chart-status")).to_be_empty()
    assert errors == [], errors
    context.close()
