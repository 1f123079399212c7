"""The clerk puts the minutes in order from the console, in Debian's Chromium: two opinions and a note written
after them, then the note moved up twice with the entry's own "Lên" button, the keyboard staying on the moved
entry; the record the API serves (GET /api/meetings/{id}/record) reads in the new order, and so do the list and a
remote member's phone.
A vote stands in the list where it happened, and an entry moves past it with the same button."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.domain.model import AttendanceMode
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import open_context, screens, sign_in, watch_errors

OPINION_A = "Đề nghị làm rõ trách nhiệm thu đảng phí từng tháng."
OPINION_B = "Nhất trí với báo cáo, bổ sung kế hoạch khuyến học."
NOTE = "Ghi chép của thư ký: đã đọc tờ trình xã."


def write(clerk: Page, text: str, *, speaker: int | None, kind: str = "opinion", saved: int) -> None:
    """One entry through the editor, as the clerk writes it; `saved`: how many entries the list then shows."""
    clerk.get_by_label("Loại").select_option(kind)
    clerk.get_by_label("Người phát biểu").select_option(str(speaker) if speaker else "")
    clerk.get_by_label("Nội dung (tự lưu khi gõ)").fill(text)
    expect(clerk.locator("#entries > li[data-entry]")).to_have_count(saved)
    expect(clerk.locator("#save-state")).to_contain_text("Đã lưu lúc")


def listed(clerk: Page) -> list[str]:
    return [text.strip() for text in clerk.locator("#entries > li[data-entry] .entry-text").all_inner_texts()]


def record_item(clerk: Page, meeting_id: int, item_id: str) -> dict:
    """The item as the record API assembles it (read with the clerk's own session)."""
    record = clerk.evaluate(
        """async (meetingId) => {
            const net = await import('/static/js/net.js');
            return await net.request(`/api/meetings/${meetingId}/record`);
        }""",
        meeting_id,
    )
    return next(i for i in record["minutes"]["items"] if i["item_id"] == item_id)


def record_order(clerk: Page, meeting_id: int, item_id: str) -> list[str]:
    return [entry["text"] for entry in record_item(clerk, meeting_id, item_id)["entries"]]


def test_the_clerk_moves_an_entry_with_the_consoles_buttons_and_the_record_follows(
    browser, live_server: LiveServer, artifacts
):
    server, branch = live_server, live_server.branch
    service, meeting_id = server.context.service, branch.meeting_id
    chair, clerk_id = Actor.member(branch.chair), Actor.member(branch.clerk)
    a, b = branch.officials[2], branch.officials[3]
    # The chair's part, done beforehand: the meeting under way at the discussion, the first speaker on the floor.
    service.open(meeting_id)
    for member in (branch.chair, branch.clerk, a, b):
        service.execute(meeting_id, c.CheckIn(member_id=member, mode=AttendanceMode.IN_PERSON), clerk_id)
    service.execute(meeting_id, c.StartMeeting(), chair)
    discussion = branch.item_ids[3]
    service.execute(meeting_id, c.OpenItem(item_id=discussion), chair)
    service.execute(meeting_id, c.GrantFloor(member_id=a), chair)

    errors: list[str] = []
    context = open_context(browser, DESKTOP)
    clerk = context.new_page()
    watch_errors(clerk, errors, "clerk")
    sign_in(clerk, server, branch.clerk, f"/clerk?m={meeting_id}")
    expect(clerk.get_by_label("Người phát biểu")).to_have_value(str(a))  # the editor follows the floor

    write(clerk, OPINION_A, speaker=a, saved=1)
    clerk.get_by_role("button", name="Ghi ý kiến mới").click()
    write(clerk, OPINION_B, speaker=b, saved=2)
    clerk.get_by_role("button", name="Ghi ý kiến mới").click()
    write(clerk, NOTE, speaker=None, kind="note", saved=3)
    assert listed(clerk) == [OPINION_A, OPINION_B, NOTE]  # as written: the note after the speakers
    assert record_order(clerk, meeting_id, discussion) == [OPINION_A, OPINION_B, NOTE]
    note_row = clerk.locator("#entries > li[data-entry]", has_text=NOTE)
    expect(note_row.get_by_role("button", name=f"Xuống: {NOTE}")).to_be_disabled()  # already last
    first_row = clerk.locator("#entries > li[data-entry]", has_text=OPINION_A)
    expect(first_row.get_by_role("button", name=f"Lên: {OPINION_A[:40]}")).to_be_disabled()  # already first

    # Up once with the mouse: the note now stands between the two opinions, and the keyboard is on it.
    note_id = note_row.get_attribute("data-entry")
    note_row.get_by_role("button", name=f"Lên: {NOTE}").click()
    expect(clerk.locator("#entries > li[data-entry] .entry-text").nth(1)).to_have_text(NOTE)
    expect(clerk.locator(f"#entry-up-{note_id}")).to_be_focused()
    expect(clerk.locator("#toast")).to_contain_text("Đã chuyển mục ghi tới vị trí 2 trong nội dung này.")
    # Up again from the keyboard: first now, so its "Lên" can no longer be pressed and the focus moves to "Xuống".
    clerk.keyboard.press("Enter")
    expect(clerk.locator("#entries > li[data-entry] .entry-text").first).to_have_text(NOTE)
    expect(clerk.locator(f"#entry-up-{note_id}")).to_be_disabled()
    expect(clerk.locator(f"#entry-down-{note_id}")).to_be_focused()
    assert listed(clerk) == [NOTE, OPINION_A, OPINION_B]
    screens(clerk, artifacts, "clerk-moved-entry")

    # The record the branch reads, assembled from the journal, follows the clerk's order.
    assert record_order(clerk, meeting_id, discussion) == [NOTE, OPINION_A, OPINION_B]
    state, _ = service.state(meeting_id)
    assert state.minutes_of(discussion)[0].ref == note_id
    # A remote member's phone, joined by its invite link, reads the item's minutes in the same order.
    phone_context = open_context(browser, PHONE, mic=True)
    phone = phone_context.new_page()
    watch_errors(phone, errors, "member")
    phone.goto(server.invite_link(branch.officials[4]))
    phone.get_by_role("button", name="Tham gia").click()
    expect(phone.locator("#minutes .minutes-entry")).to_have_count(3)
    assert phone.locator("#minutes .minutes-entry .text").all_inner_texts() == [NOTE, OPINION_A, OPINION_B]
    # The chair puts a question to the vote: it stands in the list where it happened, and an entry moves past it.
    service.execute(meeting_id, c.OpenVote(vote_id="v-move", question="Thông qua ý kiến"), chair)
    service.execute(meeting_id, c.CloseVote(vote_id="v-move"), chair)
    expect(clerk.locator("#entries > li").last).to_have_text("Biểu quyết: «Thông qua ý kiến»")
    b_row = clerk.locator("#entries > li[data-entry]", has_text=OPINION_B)
    b_row.get_by_role("button", name=f"Xuống: {OPINION_B[:40]}").click()
    expect(clerk.locator("#entries > li").last).to_contain_text(OPINION_B)
    parts = [(p["kind"], p["ref"]) for p in record_item(clerk, meeting_id, discussion)["parts"]]
    assert [kind for kind, _ in parts] == ["entry", "entry", "vote", "entry"]
    assert record_order(clerk, meeting_id, discussion) == [NOTE, OPINION_A, OPINION_B]  # entries as read
    # After a reload the console shows the same order (it comes from the journal, not from this page).
    clerk.reload()
    expect(clerk.locator("#entries > li")).to_have_count(4)
    assert listed(clerk) == [NOTE, OPINION_A, OPINION_B]
    expect(clerk.locator("#entries > li").nth(2)).to_have_text("Biểu quyết: «Thông qua ý kiến»")
    assert errors == []
    phone_context.close()
    context.close()
