"""The pages for what happens after a meeting, in Debian's Chromium: the secretary's resolutions and their "5 rõ"
tasks (/resolutions), the branch's participation statistics (/stats), the commune committee's overview of its
branches (/commune). Each page sends a signed-out visitor to sign in and tells someone without the role so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting import commune, planning, stats
from meeting.auth import hash_password
from meeting.db.models import ActionItem, Branch, Commune, Meeting, RecordDocument, ReportSubmission, Resolution, User
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors
from tests.factories import SeededBranch, seed_branch

TASK = "Vận động bà con góp công làm đường bê tông"
LATE_TASK = "Thu quỹ khuyến học"
SEALED_TASK = "Tổ chức họp tổ dân cư"
OPINION = "Đề nghị chi bộ quan tâm hơn đến đảng viên cao tuổi."
SEALED_REFUSAL = "Biên bản đã được ký và niêm phong, không sửa được nữa"


def hold_meeting(server: LiveServer, title: str, when: datetime, branch: SeededBranch | None = None) -> int:
    """A meeting of a branch (the test branch unless said), opened, started and ended through the service; in a
    branch of its own, the first agenda item is taken up with an opinion in the minutes."""
    branch, service = branch or server.branch, server.context.service
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
        meeting_id, first_item = meeting.id, meeting.agenda[0].id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    service.open(meeting_id)
    if branch is not server.branch:
        for member_id in branch.officials[:4]:
            service.execute(meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    if branch is not server.branch:
        service.execute(meeting_id, c.OpenItem(item_id=first_item), chair)
        opinion = c.WriteEntry(entry_id=f"e-{meeting_id}", item_id=first_item, text=OPINION, speaker_id=branch.clerk)
        service.execute(meeting_id, opinion, clerk)
        service.execute(meeting_id, c.CloseItem(item_id=first_item), chair)
    service.execute(meeting_id, c.EndMeeting(), chair)
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
    # The resolution itself: adopted.
    page.get_by_role("button", name="Sửa nghị quyết").click()
    page.get_by_label("Tình trạng").select_option(label="Đã thông qua")
    page.get_by_role("button", name="Lưu nghị quyết").click()
    expect(page.locator("article.resolution .pill").first).to_have_text("Đã thông qua")
    with server.context.sessions() as session:
        assert session.get(Resolution, resolution_id).status == "adopted"
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
    # Switching language relabels the open form and keeps what was typed.
    page.get_by_role("button", name="English").click()
    expect(form.get_by_label("Clear task")).to_have_value(SEALED_TASK)
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(form.get_by_label("Rõ việc")).to_have_value(SEALED_TASK)
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
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/resolutions$"))
    expect(page.locator("#denied")).to_have_text(
        "Trang này dành cho bí thư và phó bí thư chi bộ. Đồng chí không có quyền xem hoặc sửa nghị quyết ở đây."
    )
    expect(page.locator("#content")).to_be_hidden()
    expect(page.locator("#loading")).to_be_hidden()
    page.goto(f"{server.url}/stats")
    expect(page.locator("#denied")).to_contain_text("Đồng chí không có quyền xem thống kê sinh hoạt của chi bộ.")
    expect(page.locator("#content")).to_be_hidden()
    page.goto(f"{server.url}/commune")
    expect(page.locator("#denied")).to_contain_text("Đồng chí không có quyền xem trang tổng hợp.")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#denied")).to_contain_text("You may not see the overview.")
    # The sign-in page offers a plain member none of these pages.
    page.goto(f"{server.url}/")
    expect(page.locator("#meetings-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
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
    # The sign-in page links the secretary to both pages.
    page.goto(f"{server.url}/")
    expect(page.get_by_role("link", name="Resolutions and tasks")).to_have_attribute("href", "/resolutions")
    page.get_by_role("link", name="Meeting participation").click()
    page.wait_for_url(re.compile(r"/stats$"))
    expect(page.get_by_role("heading", name="Each member")).to_be_visible()
    context.close()


def commune_of_two_branches(server: LiveServer) -> dict:
    """A commune with its admin and two branches (not the test branch), each of which held its regular meeting
    this month and sent its report: one kept its minutes, the other shared them."""
    now = datetime.now(UTC)
    with server.context.sessions.begin() as session:
        found = Commune(name="Đảng ủy xã Thử Nghiệm", code="xa-thu-nghiem")
        session.add(found)
        session.flush()
        admin = User(
            username="bxd-thu-nghiem",
            password_hash=hash_password(PASSWORD),
            display_name="Ban Xây dựng Đảng xã",
            is_admin=True,
            commune_id=found.id,
        )
        session.add(admin)
        commune_id = found.id
    kept, shared = (seed_branch(server.context.sessions, code=code) for code in ("cb-thon-bac", "cb-thon-nam"))
    meetings = {}
    for label, branch in (("kept", kept), ("shared", shared)):
        with server.context.sessions.begin() as session:
            session.get(Branch, branch.branch_id).commune_id = commune_id
        meetings[label] = hold_meeting(server, f"Sinh hoạt thường kỳ ({label})", now, branch)
        with server.context.sessions.begin() as session:
            meeting = session.get(Meeting, meetings[label])
            commune.submit_report(session, meeting, user_id=None, minutes_shared=label == "shared")
    return {"kept": kept, "shared": shared, "meetings": meetings, "username": "bxd-thu-nghiem"}


def test_the_commune_admin_sees_the_branches_and_minutes_only_where_shared(browser, live_server: LiveServer, artifacts):
    server = live_server
    setup = commune_of_two_branches(server)
    kept_id, shared_id = setup["meetings"]["kept"], setup["meetings"]["shared"]
    errors: list[str] = []
    context = open_context(browser, PHONE)
    page = context.new_page()
    watch_errors(page, errors, "admin")
    page.goto(f"{server.url}/?next=/commune")
    page.get_by_label("Tên đăng nhập").fill(setup["username"])
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    with page.expect_response(lambda r: "/api/commune/overview" in r.url) as answer:
        page.get_by_role("button", name="Đăng nhập").click()
    overview = answer.value.json()
    assert [b["name"] for b in overview["branches"]] == ["Chi bộ cb-thon-bac", "Chi bộ cb-thon-nam"]

    # Each branch: its monthly meeting held, the attendance the API counted, its report sent.
    rows = page.locator("li.branch-row")
    expect(rows).to_have_count(2)
    for branch in overview["branches"]:
        row = page.locator(f'li.branch-row[data-branch="{branch["branch_id"]}"]')
        expect(row.get_by_role("heading", name=branch["name"])).to_be_visible()
        expect(row).to_contain_text("Sinh hoạt thường kỳ trong tháng: Đã họp")
        figures = branch["meeting"]["attendance"]
        expect(row).to_contain_text(f"Dự họp: {figures['present']}/{figures['expected']} đảng viên")
        expect(row).to_contain_text("Báo cáo: Đã gửi đúng hạn")
    expect(page.locator("#totals")).to_contain_text("2")

    # The branch that kept its minutes: said as a fact, no button, nothing in an alert.
    kept = page.locator(f'.branch-meeting[data-meeting="{kept_id}"]')
    expect(kept.locator(".not-shared")).to_have_text("Chi bộ chưa chia sẻ biên bản")
    expect(kept.get_by_role("button", name=re.compile("^Xem biên bản"))).to_have_count(0)
    expect(page.get_by_role("alert").filter(has_text="biên bản")).to_have_count(0)

    # Its report may still be downloaded (the branch sent it).
    with page.expect_download() as downloaded:
        kept.get_by_role("button", name=re.compile("^Tải báo cáo \\(PDF\\)")).click()
    assert downloaded.value.suggested_filename == f"bao-cao-hop-chi-bo-{kept_id}.pdf"
    with open(downloaded.value.path(), "rb") as file:
        assert file.read(5) == b"%PDF-"

    # The branch that shared them: they open under the meeting.
    shared = page.locator(f'.branch-meeting[data-meeting="{shared_id}"]')
    shared.get_by_role("button", name=re.compile("^Xem biên bản")).click()
    heading = shared.get_by_role("heading", name="Biên bản: Sinh hoạt thường kỳ (shared)")
    expect(heading).to_be_focused()
    expect(shared).to_contain_text(OPINION)
    assert axe_violations(page) == [], describe(axe_violations(page))
    screens(page, artifacts, "commune")
    shared.get_by_role("button", name=re.compile("^Đóng biên bản")).click()
    expect(shared.get_by_role("button", name=re.compile("^Xem biên bản"))).to_be_focused()

    # The branch stops sharing while the page is open: the API refuses, which reads as the same fact.
    with server.context.sessions.begin() as session:
        session.get(ReportSubmission, shared_id).minutes_shared = False
    shared.get_by_role("button", name=re.compile("^Xem biên bản")).click()
    expect(shared.locator(".not-shared")).to_have_text("Chi bộ chưa chia sẻ biên bản")
    expect(shared.get_by_role("button", name=re.compile("^Xem biên bản"))).to_have_count(0)
    expect(page.locator(".toast-error")).to_have_count(0)
    assert errors == ["admin: Failed to load resource: the server responded with a status of 403 (Forbidden)"], errors
    # The sign-in page links the admin here.
    page.goto(f"{server.url}/")
    expect(page.get_by_role("link", name="Tổng hợp các chi bộ")).to_have_attribute("href", "/commune")
    # An admin belongs to no branch: no meeting list of their own, and no refusal shown for one.
    expect(page.locator("#meetings-heading")).to_be_hidden()
    expect(page.locator("#meetings .error")).to_have_count(0)
    assert len(errors) == 1, errors  # only the refusal made on purpose above
    context.close()


def test_every_word_of_the_three_pages_is_in_both_languages(browser, live_server: LiveServer):
    """Keys named in the shells (data-i18n) and in the scripts (t('...'), 'data-i18n': '...') exist in vi.js
    and en.js; so do the families the scripts build from the API's own codes."""
    static = Path(__file__).resolve().parents[2] / "static"
    named: set[str] = set()
    for name in ("resolutions", "stats", "commune"):
        html = (static / f"{name}.html").read_text(encoding="utf-8")
        named |= set(re.findall(r'data-i18n="([\w.]+)"', html))
        script = (static / "js" / f"{name}.js").read_text(encoding="utf-8")
        named |= set(re.findall(r"\bt\('([\w.]+)'", script))
        named |= set(re.findall(r"'data-i18n': '([\w.]+)'", script))
        named |= set(re.findall(r"deniedKey: '([\w.]+)'", script))
    named |= {f"stats.columns.{c}" for c in ("name", *STATS_COLUMNS)}
    named |= {f"stats.notes.{c}" for c in ("name", *STATS_COLUMNS)}
    named |= {f"resolutions.states.{s}" for s in ("open", "done", "overdue")}
    five = ("assignee_id", "task", "deadline", "responsible", "expected_result")
    named |= {f"resolutions.{part}.{f}" for part in ("field", "missing") for f in five}
    named |= {"resolutions.fieldHints.responsible", "resolutions.missing.title"}
    named |= {f"resolutions.resField.{f}" for f in ("title", "text", "status")}
    named |= {f"resolutions.status.{s}" for s in ("draft", "adopted")}
    named |= {f"stats.summary.{s}" for s in ("meetings", "attendance_rate", "in_room_share", "times_spoken")}
    named |= {f"commune.kinds.{k}" for k in ("regular", "thematic")}
    named |= {f"commune.entryKinds.{k}" for k in ("opinion", "note", "conclusion")}
    named |= {f"commune.totals.{k}" for k in ("branches", "held", "not_held", "reports_late", "attendance")}
    named |= {f"commune.monthlyStates.{s}" for s in ("held", "planned", "not_planned", "late", "missing")}
    named |= {f"commune.reportStates.{s}" for s in ("submitted", "submitted_late", "due", "late")}
    assert len(named) > 150  # the patterns still find them
    context = open_context(browser, PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/")
    for lang in ("vi", "en"):
        table = page.evaluate(f"async () => (await import('/static/i18n/{lang}.js')).default")
        missing = []
        for key in named:
            node = table
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, str):
                missing.append(key)
        assert missing == [], (lang, sorted(missing))
    context.close()
