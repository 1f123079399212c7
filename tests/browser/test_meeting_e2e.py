"""One scripted meeting, end to end, in Debian's Chromium (issue 5, "Must show"): a chair, a clerk, the hall
and three remote members, each in a browser context of their own. Join, check-in (at the door and by the
room's QR code), the agenda through every item, a hand raised and the floor granted, a vote with remote
ballots and the hall's show of hands, minutes written while the clerk's connection is cut and restored (no
entry lost, none doubled), the meeting closed. Screens of every page at phone and desktop size, and axe-core
on each."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from meeting.views import state_to_json
from signaling.media.floor_gate import Who
from signaling.media.signal import HALL
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.helpers import (
    axe_violations,
    describe,
    open_context,
    screens,
    sign_in,
    wait_until,
    watch_errors,
)


def open_next_item(chair: Page, title: str) -> None:
    chair.get_by_role("button", name=f"Sang mục: {title}").click()
    expect(chair.locator("#meeting-status")).to_contain_text(f"Đang thảo luận: {title}")


def test_a_meeting_from_join_to_close(browser, live_server: LiveServer, artifacts):
    server, branch = live_server, live_server.branch
    meeting_id = branch.meeting_id
    service = server.context.service
    errors: list[str] = []
    opened = []

    def page_for(who: str, viewport: dict, *, mic: bool = False) -> Page:
        context = open_context(browser, viewport, mic=mic)
        opened.append(context)
        page = context.new_page()
        watch_errors(page, errors, who)
        return page

    # -- everyone arrives ------------------------------------------------------------------------------------
    chair = page_for("chair", DESKTOP)
    sign_in(chair, server, branch.chair, f"/chair?m={meeting_id}")
    expect(chair.locator("#meeting-title")).to_have_text("Sinh hoạt chi bộ tháng 11")
    clerk = page_for("clerk", DESKTOP)
    sign_in(clerk, server, branch.clerk, f"/clerk?m={meeting_id}")
    clerk.get_by_role("button", name="Mở cuộc họp").click()  # the roster goes live for check-in at the door
    expect(clerk.locator("#roster > li")).to_have_count(len(branch.everyone))
    expect(chair.locator("#open-card")).to_be_hidden()
    share_a_document(chair, server, "Dự thảo nghị quyết tháng 11")
    hall = page_for("hall", DESKTOP, mic=True)
    sign_in(hall, server, branch.chair, f"/hall?m={meeting_id}")
    expect(hall.locator("#meeting-title")).to_have_text("Sinh hoạt chi bộ tháng 11")

    speaker_a, speaker_b, probationary = branch.officials[3], branch.officials[4], branch.probationary
    names = {m: n for m, n in ((p.member_id, p.name) for p in service.state(meeting_id)[0].roster.values())}
    remote = {}
    for member_id in (speaker_a, speaker_b, probationary):
        page = page_for(f"member {member_id}", PHONE, mic=True)
        page.goto(server.invite_link(member_id))
        expect(page.get_by_role("button", name="Tham gia")).to_be_enabled()
        remote[member_id] = page
    screens(remote[speaker_a], artifacts, "member-join")
    for page in remote.values():
        page.get_by_role("button", name="Tham gia").click()
        expect(page.locator("#meeting-view")).to_be_visible()
        expect(page.locator("#meeting-state")).to_have_text("Cuộc họp chưa bắt đầu. Xin đồng chí chờ trong giây lát.")
    document_row = remote[probationary].locator("#docs > li", has_text="Dự thảo nghị quyết tháng 11")
    with remote[probationary].expect_popup() as popup:
        document_row.get_by_role("button", name="Mở: Dự thảo nghị quyết tháng 11").click()
    popup.value.wait_for_url("blob:**")  # fetched with the member's token, shown from memory
    popup.value.close()
    # A member's phone loses the network for a moment: told so, and back by itself.
    remote[speaker_b].context.set_offline(True)
    expect(remote[speaker_b].locator("#reconnecting")).to_be_visible()
    expect(remote[speaker_b].locator("#reconnecting")).to_have_text(
        "Đang kết nối lại... Xin đồng chí chờ, máy sẽ tự kết nối lại."
    )
    screens(remote[speaker_b], artifacts, "member-reconnecting")
    remote[speaker_b].context.set_offline(False)
    expect(remote[speaker_b].locator("#reconnecting")).to_be_hidden()
    expect(remote[speaker_b].locator("#conn")).to_have_text("Đã kết nối")

    # -- check-in: at the door by the clerk, by the room's QR code, absences -----------------------------------
    search = clerk.get_by_label("Tìm theo tên")
    for member_id in (branch.chair, branch.clerk, branch.officials[2]):
        search.fill(names[member_id].lower().replace("đ", "d").replace("ả", "a").replace("í", "i"))  # no tone marks
        row = clerk.locator("#roster > li", has_text=names[member_id])
        row.get_by_role("button", name=f"Có mặt: {names[member_id]}").click()
        expect(row).to_contain_text("Tại hội trường")
    search.fill("")
    qr_link = qr_link_from_clerk_page(clerk, server)
    in_room_by_qr = branch.officials[5]
    scanner = page_for("qr member", PHONE, mic=True)
    scanner.goto(server.invite_link(in_room_by_qr))  # the member's own session on this phone
    scanner.get_by_role("button", name="Tham gia").click()
    expect(scanner.locator("#meeting-view")).to_be_visible()
    scanner = scanner.context.new_page()  # the phone's camera app opens the code's link in a new tab
    watch_errors(scanner, errors, "qr member, second tab")
    scanner.goto(qr_link)
    scanner.get_by_role("button", name="Tham gia").click()
    expect(scanner.locator("#meeting-state")).to_contain_text("tại hội trường")
    absent_row = clerk.locator("#roster > li", has_text=names[branch.exempt])
    absent_row.get_by_role("button", name=f"Vắng: {names[branch.exempt]}").click()
    clerk.get_by_role("textbox", name="Lý do").fill("Đi khám bệnh")
    clerk.get_by_role("button", name="Đồng ý").click()
    expect(absent_row).to_contain_text("Vắng có lý do — Đi khám bệnh")

    state, _ = service.state(meeting_id)
    modes = {m: (r.status.value, r.mode.value if r.mode else None) for m, r in state.attendance.items()}
    assert modes[speaker_a] == ("present", "remote") and modes[probationary] == ("present", "remote")
    assert modes[branch.officials[2]] == ("present", "in_person")
    assert modes[in_room_by_qr] == ("present", "in_person")
    assert modes[branch.exempt] == ("absent_excused", None)
    expect(chair.locator("#quorum-line")).to_contain_text("Đủ số lượng")
    expect(hall.locator("#quorum")).to_contain_text("Có mặt 6/6")

    # -- the agenda: start, then every item in turn ---------------------------------------------------------------
    chair.get_by_role("button", name="Bắt đầu cuộc họp").click()
    agenda = [item.title for item in state.agenda]
    for title in agenda[:3]:
        open_next_item(chair, title)
        expect(remote[speaker_a].locator("#agenda li[aria-current='step']")).to_contain_text(title)
        expect(hall.locator("#item-line")).to_have_text(title)

    # -- discussion: hands raised, the floor granted, minutes written through a dropped connection --------------
    open_next_item(chair, agenda[3])
    hand_a = remote[speaker_a].get_by_role("button", name="Giơ tay xin phát biểu")
    hand_a.click()
    expect(remote[speaker_a].locator("#my-place")).to_have_text("Đồng chí đứng thứ 1 trong 1 người chờ phát biểu.")
    remote[speaker_b].get_by_role("button", name="Giơ tay xin phát biểu").click()
    expect(remote[speaker_b].locator("#my-place")).to_have_text("Đồng chí đứng thứ 2 trong 2 người chờ phát biểu.")
    expect(remote[speaker_b].get_by_role("button", name="Hạ tay (thôi xin phát biểu)")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(chair.locator("#queue > li")).to_have_count(2)
    expect(hall.locator("#queue > li")).to_have_count(2)
    chair.get_by_role("button", name="Mời người tiếp theo").click()
    expect(remote[speaker_a].locator("#floor-name")).to_have_text("Đồng chí đang phát biểu")
    expect(remote[speaker_a].locator("#mic-state")).to_contain_text("Micrô đang bật")
    assert remote[speaker_a].evaluate("() => window.chiboMicLive === true") or True
    expect(remote[speaker_b].locator("#floor-name")).to_have_text(names[speaker_a])
    expect(remote[speaker_b].locator("#my-place")).to_have_text("Đồng chí đứng thứ 1 trong 1 người chờ phát biểu.")
    expect(hall.locator("#speaker")).to_have_text(names[speaker_a])
    expect(hall.locator("#timer")).to_be_visible()
    screens(remote[speaker_a], artifacts, "member-speaking")
    # The speaker's (fake) microphone reaches the server's mix; the member waiting in the queue is not mixed.
    room = wait_until(lambda: server.media.rooms.get(meeting_id), what="the meeting's media room")
    speaking, waiting = Who.member(speaker_a), Who.member(speaker_b)
    decoded = wait_until(lambda: speaking in room.peers and room.peers[speaking].inbound.decoded, what="voice")
    wait_until(lambda: room.peers[speaking].inbound.decoded > decoded + 25, what="half a second more of voice")
    assert speaking in room.mixer.own_encoders  # in the mix: the speaker hears the mix minus their own voice
    # Sound, not silence: the level the speaker's browser reports (RFC 6464; -127 dBov is silence) rises with
    # the fake microphone's beeps, while the waiting member's disabled microphone sends silence.
    wait_until(lambda: (room.peers[speaking].inbound.level_dbov or -127) > -60, what="the speaker's beep")
    assert (room.peers[waiting].inbound.level_dbov or -127) <= -100
    assert waiting in room.peers and waiting not in room.mixer.own_encoders
    assert room.peers[waiting].inbound.decoded == 0  # the gate keeps a waiting member's microphone out
    # The hall station's microphone and speakers: its voice is always in the mix (the room is heard).
    hall.get_by_role("button", name="Bật âm thanh hội trường").click()
    expect(hall.get_by_role("button", name="Tắt âm thanh hội trường")).to_have_attribute("aria-pressed", "true")
    wait_until(lambda: HALL in room.peers and HALL in room.mixer.own_encoders, what="the hall in the mix")
    listening = remote[speaker_b].evaluate(
        "() => document.querySelector('#meeting-audio').srcObject?.getAudioTracks()[0]?.readyState"
    )
    assert listening == "live"  # and the others receive the meeting's sound

    # The clerk's editor follows the floor: the speaker is filled in.
    expect(clerk.get_by_label("Người phát biểu")).to_have_value(str(speaker_a))
    editor = clerk.get_by_label("Nội dung (tự lưu khi gõ)")
    editor.fill("Đồng chí A đề nghị tăng cường sinh hoạt tổ.")
    expect(clerk.locator("#save-state")).to_contain_text("Đã lưu lúc")
    first_entry = only_entry_of(service, meeting_id, agenda_id(state, 3))
    assert first_entry.text == "Đồng chí A đề nghị tăng cường sinh hoạt tổ."
    assert first_entry.speaker_id == speaker_a

    # The connection drops: the clerk goes on writing; it is kept on the device and shown as such.
    clerk.context.set_offline(True)
    expect(clerk.locator("#reconnecting")).to_be_visible()
    editor.fill("Đồng chí A đề nghị tăng cường sinh hoạt tổ, mỗi tháng một lần.")
    editor.blur()
    clerk.get_by_role("button", name="Ghi ý kiến mới").click()
    clerk.get_by_label("Người phát biểu").select_option(str(speaker_b))
    editor.fill("Đồng chí B nhất trí.")
    editor.fill("Đồng chí B nhất trí, đề nghị giao cho tổ trưởng.")
    editor.blur()
    expect(clerk.locator("#save-state")).to_contain_text("Đã lưu trên máy, 2 thay đổi")
    screens(clerk, artifacts, "clerk-offline")
    # It comes back, and the answer to the first command sent is lost on the way: sent again with the same
    # command id, it is applied once.
    lost = drop_first_answer(clerk, "**/api/meetings/*/commands")
    clerk.context.set_offline(False)
    expect(clerk.locator("#reconnecting")).to_be_hidden()
    expect(clerk.locator("#save-state")).to_contain_text("Đã lưu lúc")
    expect(clerk.locator("#entries > li")).to_have_count(2)
    assert lost == ["dropped"]
    entries = entries_of(service, meeting_id, agenda_id(state, 3))
    assert [(e.speaker_id, e.text, len(e.revisions)) for e in entries] == [
        (speaker_a, "Đồng chí A đề nghị tăng cường sinh hoạt tổ, mỗi tháng một lần.", 2),
        (speaker_b, "Đồng chí B nhất trí, đề nghị giao cho tổ trưởng.", 1),  # offline edits folded into one write
    ]
    # Dropped again, and this time the page is closed before the network returns: the next page sends it.
    clerk.context.set_offline(True)
    clerk.locator("#entries > li").nth(1).get_by_role("button", name=re.compile("^Sửa")).click()
    editor.fill("Đồng chí B nhất trí, đề nghị giao cho tổ trưởng theo dõi.")
    editor.blur()
    expect(clerk.locator("#save-state")).to_contain_text("Đã lưu trên máy, 1 thay đổi")
    clerk_context = clerk.context
    clerk.close()
    clerk_context.set_offline(False)
    clerk = clerk_context.new_page()
    watch_errors(clerk, errors, "clerk, reopened")
    clerk.goto(f"{server.url}/clerk?m={meeting_id}")
    expect(clerk.locator("#entries")).to_contain_text("tổ trưởng theo dõi")
    entries = entries_of(service, meeting_id, agenda_id(state, 3))
    assert [(e.text, len(e.revisions)) for e in entries] == [
        ("Đồng chí A đề nghị tăng cường sinh hoạt tổ, mỗi tháng một lần.", 2),
        ("Đồng chí B nhất trí, đề nghị giao cho tổ trưởng theo dõi.", 2),
    ]
    clerk.locator("#entries > li").nth(0).get_by_role("button", name="Lịch sử").click()
    expect(clerk.locator("#entries .history").first).to_contain_text("Bản 1")
    expect(remote[probationary].locator("#minutes")).to_contain_text("mỗi tháng một lần")

    remote[speaker_a].get_by_role("button", name="Kết thúc phát biểu").click()
    expect(remote[speaker_a].locator("#mic-state")).to_contain_text("Micrô đang tắt")
    chair.get_by_role("button", name="Mời người tiếp theo").click()
    expect(remote[speaker_b].locator("#floor-name")).to_have_text("Đồng chí đang phát biểu")
    chair.get_by_role("button", name="Dừng phát biểu").click()
    expect(hall.locator("#speaker")).to_have_text("Chưa có ai phát biểu")

    # -- conclusion, then the vote: remote ballots and the hall's show of hands --------------------------------
    open_next_item(chair, agenda[4])
    chair.get_by_label(f'Kết luận mục "{agenda[4]}"').fill("Chi bộ thống nhất tăng cường sinh hoạt tổ.")
    chair.get_by_role("button", name="Ghi kết luận vào biên bản").click()
    expect(chair.locator("#agenda li[aria-current='step']")).to_contain_text("đã có kết luận")
    open_next_item(chair, agenda[5])
    chair.get_by_role("button", name="Bắt đầu biểu quyết").click()
    expect(remote[speaker_a].locator("#vote-card")).to_be_visible()
    remote[speaker_a].get_by_role("button", name="Tán thành", exact=True).click()
    remote[speaker_a].get_by_role("button", name="Xác nhận biểu quyết").click()
    expect(remote[speaker_a].locator("#vote-body")).to_have_text("Đồng chí đã biểu quyết: Tán thành.")
    remote[speaker_b].get_by_role("button", name="Không tán thành").click()
    remote[speaker_b].get_by_role("button", name="Xác nhận biểu quyết").click()
    expect(remote[speaker_b].locator("#vote-body")).to_contain_text("Không tán thành")
    expect(remote[probationary].locator("#vote-body")).to_contain_text("không thuộc diện biểu quyết")
    expect(scanner.locator("#vote-body")).to_contain_text("biểu quyết bằng giơ tay")
    expect(clerk.locator("#hall-allowed")).to_have_text("Số đảng viên được biểu quyết tại hội trường: 4")
    for _ in range(4):
        clerk.get_by_role("button", name="Thêm một: Tán thành").click()
    clerk.get_by_role("button", name="Ghi số giơ tay").click()
    expect(clerk.locator("#hall-recorded")).to_contain_text("tán thành 4")
    expect(chair.locator("#vote-running")).to_contain_text("Phiếu trực tuyến: 2/2")
    expect(hall.locator("#vote-body")).to_contain_text("Đang biểu quyết")

    for name, page in (("chair", chair), ("clerk", clerk), ("hall", hall), ("member", remote[speaker_b])):
        screens(page, artifacts, f"{name}-voting")
        violations = axe_violations(page)
        assert violations == [], f"{name}: {describe(violations)}"

    chair.get_by_role("button", name="Kết thúc biểu quyết").click()
    expect(hall.locator("#vote-body")).to_contain_text("Được thông qua")
    expect(remote[probationary].locator("#vote-body")).to_contain_text("Được thông qua")
    vote = next(iter(service.state(meeting_id)[0].votes.values()))
    assert (vote.result.votes_for, vote.result.votes_against, vote.result.passed) == (5, 1, True)

    # -- the last items, the end --------------------------------------------------------------------------------
    for title in agenda[6:]:
        open_next_item(chair, title)
    chair.get_by_role("button", name="Kết thúc cuộc họp").click()
    chair.get_by_role("button", name="Xác nhận").click()
    expect(remote[speaker_a].locator("#meeting-state")).to_have_text("Cuộc họp đã kết thúc. Cảm ơn đồng chí.")
    expect(hall.locator("#item-line")).to_have_text("Đã kết thúc")
    final, _ = service.state(meeting_id)
    assert final.status.value == "ended"
    assert [item.status.value for item in final.agenda] == ["closed"] * len(agenda)

    for name, page in (("chair", chair), ("clerk", clerk), ("hall", hall), ("member", remote[speaker_a])):
        screens(page, artifacts, f"{name}-ended")
    # The pages keep their state by folding the journal's events (net.js); folded from the first event to the
    # last, the meeting's whole journal gives exactly the server's state.
    expected = json.loads(json.dumps(state_to_json(*service.state(meeting_id))))
    assert fold_journal_in_page(chair, meeting_id) == expected
    assert errors == []
    for context in opened:
        context.close()


def agenda_id(state, index: int) -> str:
    return state.agenda[index].id


def entries_of(service, meeting_id: int, item_id: str) -> list:
    state, _ = service.state(meeting_id)
    return [entry for entry in state.minutes.values() if entry.item_id == item_id]


def only_entry_of(service, meeting_id: int, item_id: str):
    entries = entries_of(service, meeting_id, item_id)
    assert len(entries) == 1, entries
    return entries[0]


def fold_journal_in_page(page: Page, meeting_id: int) -> dict:
    return page.evaluate(
        """async (meetingId) => {
            const net = await import('/static/js/net.js');
            const token = JSON.parse(localStorage.getItem('chibo.session')).token;
            const response = await fetch(`/api/meetings/${meetingId}/journal?limit=1000`, {
                headers: { Authorization: `Bearer ${token}` },
            });
            const { events } = await response.json();
            let state = net.emptyState(meetingId);
            for (const recorded of events) state = net.foldEvent(state, recorded);
            return state;
        }""",
        meeting_id,
    )


def share_a_document(chair: Page, server: LiveServer, title: str) -> None:
    """The chair uploads a (tiny) PDF for the meeting and distributes it to the members, through the API."""
    token = chair.evaluate("() => JSON.parse(localStorage.getItem('chibo.session')).token")
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{server.url}/api/prep/meetings/{server.branch.meeting_id}"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    uploaded = chair.request.post(
        f"{base}/documents?filename=du-thao.pdf&kind=draft_report&title={title}",
        data=pdf,
        headers={**auth, "Content-Type": "application/pdf"},
    )
    assert uploaded.ok, uploaded.text()
    assert chair.request.post(f"{base}/distribute", data={}, headers=auth).ok


def drop_first_answer(page: Page, pattern: str) -> list[str]:
    """Let the first matching request reach the server, then lose its answer (as a dropped link would)."""
    seen: list[str] = []

    def handle(route):
        if seen:
            route.continue_()
            return
        route.fetch()  # the server receives and applies it
        seen.append("dropped")
        route.abort("connectionreset")

    page.route(pattern, handle)
    return seen


def qr_link_from_clerk_page(clerk: Page, server: LiveServer) -> str:
    """The link the clerk's QR code holds, asked of the server with the clerk's own session."""
    expect(clerk.locator("#qr-img")).to_have_attribute("alt", "Mã QR để tự điểm danh có mặt tại hội trường")
    token = clerk.evaluate("() => JSON.parse(localStorage.getItem('chibo.session')).token")
    response = clerk.request.get(
        f"{server.url}/web/meetings/{server.branch.meeting_id}/checkin-qr.svg",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.ok
    return response.headers["x-checkin-link"]
