"""The minutes (biên bản) from the signers' seats, through the pages alone: the chair and the clerk open the record
from their consoles, read what sealing locks, sign with their password (a wrong one first, a record changed under
them), the record is sealed, an addendum is written and signed by both, and the consoles say who has signed."""

from __future__ import annotations

import dataclasses
import math
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from meeting.calendar_vn import VN_TZ
from meeting.db.models import RecordDocument, RecordSignature
from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.record import seal
from meeting.settings import SealSettings
from tests.browser.conftest import PHONE, LiveServer
from tests.browser.helpers import open_context, screens, sign_in, watch_errors
from tests.factories import PASSWORD, seed_branch
from tests.record import scenario as sc
from tests.sealing import SealAuthority, SealedPdfCheck, seal_authority, validate_sealed_pdf  # noqa: F401

WIDE = {"width": 1366, "height": 900}
WRONG = "khong-phai-mat-khau"
REVISED = "Đề nghị chi bộ quan tâm hơn đến việc thu đảng phí đúng hạn (đã sửa sau cuộc họp)."
CORRECTION = "Bổ sung: đồng chí Lê Văn Cường nhận thêm việc theo dõi quỹ khuyến học."
CHAIRS_NOTE = "Đính chính: ngày ra quân làm đường là ngày 20 tháng 12."
# What the browser itself logs for a refusal it was meant to get (the page shows the words) or a request the test
# held back on purpose.
REFUSED = re.compile(r"Failed to load resource: (the server responded with a status of (403|409|429)|net::ERR_FAILED)")


@pytest.fixture(scope="module")
def live_server_seal(seal_authority: SealAuthority) -> SealSettings:  # noqa: F811
    """This module's server seals with a key on a SoftHSM2 token, trusting the test CA (tests/sealing.py)."""
    return seal_authority.pkcs11


@pytest.fixture(scope="module")
def held(live_server: LiveServer):
    """A branch of its own (seven officials, real names) whose meeting has been held and ended, minutes adopted."""
    context = live_server.context
    branch = seed_branch(context.sessions, officials=7, with_logins=True, code="cb-record")
    names = sc.give_names(context, branch)
    return branch, sc.hold_meeting(context, branch), names


def as_of(server: LiveServer, branch) -> LiveServer:
    """The same server, signing in the people of `branch`."""
    return dataclasses.replace(server, branch=branch)


def signatures(server: LiveServer, meeting_id: int, number: int = 0) -> dict[str, datetime]:
    with server.context.sessions() as session:
        document = seal.record_document(session, meeting_id, number)
        if document is None:
            return {}
        rows = session.scalars(select(RecordSignature).where(RecordSignature.document_id == document.id))
        return {row.role: row.signed_at for row in rows}


def validated(pdf: bytes, authority: SealAuthority) -> SealedPdfCheck:
    """validate_sealed_pdf in a thread of its own: pyHanko runs its own event loop, and Playwright's sync API
    already runs one in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(validate_sealed_pdf, pdf, authority.ca_cert).result()


def vn_time(moment: datetime) -> str:
    """A moment as the pages write it in Vietnamese (shortTime, vi-VN): "19:30 15/01/2030", Viet Nam's time."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def sealed_at(server: LiveServer, meeting_id: int, number: int = 0) -> datetime | None:
    with server.context.sessions() as session:
        document = session.scalar(
            select(RecordDocument).where(RecordDocument.meeting_id == meeting_id, RecordDocument.number == number)
        )
        return document.sealed_at if document else None


def sign_with(page: Page, password: str, button: str = "Ký biên bản", form: str = "#password-record") -> None:
    page.locator(form).fill(password)
    page.get_by_role("button", name=button, exact=True).click()


def test_chair_and_clerk_sign_and_correct_the_minutes_through_the_page(
    browser,
    live_server: LiveServer,
    held,
    artifacts,
    seal_authority: SealAuthority,  # noqa: F811
    tmp_path,
):
    branch, meeting, names = held
    meeting_id = meeting.meeting_id
    chair_name, clerk_name = names[branch.chair], names[branch.clerk]
    errors: list[str] = []

    # -- the chair, at a desk: the console's record card, then the record page -------------------------------------
    desk = open_context(browser, WIDE)
    chair = desk.new_page()
    watch_errors(chair, errors, "chair")
    sign_in(chair, as_of(live_server, branch), branch.chair, f"/chair?m={meeting_id}")
    card = chair.locator("#record-signers")
    expect(card).to_contain_text(f"Chủ trì: {chair_name}")
    expect(card).to_contain_text(f"Còn chờ ký: Chủ trì ({chair_name}), Thư ký ({clerk_name}).")
    chair.get_by_role("link", name="Mở biên bản").click()
    chair.wait_for_url(f"**/web/meetings/{meeting_id}/record?from=chair")
    expect(chair.get_by_role("link", name="Về trang điều hành của chủ trì")).to_have_attribute(
        "href", f"/chair?m={meeting_id}"
    )
    expect(chair.get_by_role("heading", name="Ký biên bản", exact=True)).to_be_visible()
    expect(chair.locator("#locks")).to_contain_text("không ghi thêm, không sửa được ý kiến, ghi chép và kết luận")
    expect(chair.locator("#no-resolution")).to_contain_text("Cuộc họp chưa có dự thảo nghị quyết nào")
    expect(chair.get_by_role("link", name="Soạn nghị quyết")).to_have_attribute("href", f"/resolutions?m={meeting_id}")
    expect(chair.locator("#signers")).to_contain_text("chưa ký")
    screens(chair, artifacts, "record-page-to-sign")

    # The secretary drafts the resolution meanwhile (its own page): the open record page shows the new text and
    # says so, and now counts what the seal will lock.
    sc.add_resolution(live_server.context, branch, meeting, datetime.now(UTC).date())
    expect(chair.locator("#locks")).to_contain_text("hiện có 1 nghị quyết", timeout=20_000)
    expect(chair.locator("#locks")).to_contain_text("(2 nhiệm vụ)")
    expect(chair.locator("#no-resolution")).to_have_count(0)
    expect(chair.locator("#error-record")).to_have_text(
        "Nội dung biên bản vừa thay đổi, trang đã hiện bản mới: xin đọc lại trước khi ký."
    )

    # A wrong password: its own message, the password emptied, nothing signed.
    sign_with(chair, WRONG)
    expect(chair.locator("#error-record")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")
    expect(chair.locator("#password-record")).to_have_value("")
    expect(chair.locator("#password-record")).to_be_focused()
    assert signatures(live_server, meeting_id) == {}

    # The clerk corrects an opinion after the chair opened the page and before the page has looked again: the
    # signature is refused for a text the chair has not read, and the page shows the new one.
    hold = {"on": True}
    status_url = f"{live_server.url}/api/meetings/{meeting_id}/record"
    chair.route(status_url, lambda route: route.abort() if hold["on"] else route.continue_())
    chair.route(f"{status_url}/sign", lambda route: (hold.update(on=False), route.continue_()))
    live_server.context.service.execute(
        meeting_id, c.ReviseEntry(entry_id=meeting.entry_ids[3], text=REVISED), Actor.member(branch.clerk)
    )
    sign_with(chair, PASSWORD)
    expect(chair.locator("#error-record")).to_have_text(
        "Nội dung biên bản đã thay đổi so với bản đồng chí đã xem; xin xem lại trước khi ký."
    )
    expect(chair.locator("article.record")).to_contain_text(REVISED)
    expect(chair.locator("#password-record")).to_have_value("")
    chair.unroute(status_url)
    chair.unroute(f"{status_url}/sign")
    assert signatures(live_server, meeting_id) == {}

    sign_with(chair, PASSWORD)
    expect(chair.locator("#toast")).to_contain_text("Đã ghi nhận chữ ký của đồng chí.")
    signed = signatures(live_server, meeting_id)
    assert set(signed) == {"chair"}
    expect(chair.locator('#signers li[data-role="chair"]')).to_have_text(
        f"Chủ trì: {chair_name}đã ký lúc {vn_time(signed['chair'])}"
    )
    expect(chair.locator('#signers li[data-role="clerk"]')).to_contain_text("chưa ký")
    expect(chair.locator("#waiting")).to_have_text(f"Còn chờ ký: Thư ký ({clerk_name}).")
    expect(chair.get_by_role("heading", name="Ký biên bản", exact=True)).to_be_visible()  # what it locks, still said
    expect(chair.locator("#password-record")).to_have_count(0)  # nothing left for the chair to sign

    # -- the clerk, on a phone: the console says the chair has signed ----------------------------------------------
    phone = open_context(browser, PHONE)
    clerk = phone.new_page()
    watch_errors(clerk, errors, "clerk")
    sign_in(clerk, as_of(live_server, branch), branch.clerk, f"/clerk?m={meeting_id}")
    clerk_card = clerk.locator("#record-signers")
    expect(clerk_card.locator('li[data-role="chair"]')).to_contain_text("đã ký lúc")
    expect(clerk_card).to_contain_text(f"Còn chờ ký: Thư ký ({clerk_name}).")
    clerk.get_by_role("link", name="Mở biên bản").click()
    clerk.wait_for_url(f"**/web/meetings/{meeting_id}/record?from=clerk")
    clerk.get_by_role("link", name="Đến phần ký biên bản").click()
    sign_with(clerk, WRONG)
    expect(clerk.locator("#error-record")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")
    expect(clerk.locator("#password-record")).to_have_value("")
    sign_with(clerk, PASSWORD)
    expect(clerk.locator("#toast")).to_contain_text("Biên bản đã được ký đủ và niêm phong.")
    expect(clerk.locator("#record-state")).to_have_text("Đã ký đủ và niêm phong")
    expect(clerk.locator("#waiting")).to_have_text("Chủ trì và thư ký đã ký đủ.")
    assert sealed_at(live_server, meeting_id) is not None
    status = clerk.request.get(status_url, headers=_bearer(clerk)).json()
    assert status["status"] == "sealed" and all(s["signed_at"] for s in status["signatures"])
    digital = status["digital_seal"]
    assert digital["signed"] and digital["signer"] == seal_authority.signer_name
    expect(clerk.locator("#digital-seal")).to_have_text(
        f"Bản PDF đã được ký số bởi {seal_authority.signer_name}, lúc "
        f"{vn_time(datetime.fromisoformat(digital['signed_at']))}."
    )

    # The PDF as the page hands it out: a valid PAdES seal by the test CA's signer, carrying the meeting's journal
    # as the API gives it; one byte changed inside the signed range breaks it.
    with clerk.expect_download() as download:
        clerk.get_by_role("button", name="Tải bản PDF").first.click()
    pdf_path = tmp_path / download.value.suggested_filename
    download.value.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    check = validated(pdf, seal_authority)
    assert check.ok and check.signer == seal_authority.signer_name, check
    journal = clerk.request.get(f"{live_server.url}/api/meetings/{meeting_id}/journal", headers=_bearer(clerk)).json()
    assert journal["more"] is False
    assert check.journal is not None and check.journal["events"] == journal["events"]
    assert check.journal["journal_head"] == journal["events"][-1]["hash"] == status["journal_head"]
    at = pdf.index(b"stream", pdf.index(b"/Length")) + 40
    tampered = bytearray(pdf)
    tampered[at] ^= 0x01
    broken = validated(bytes(tampered), seal_authority)
    assert not broken.intact and not broken.ok

    # The verify page says the same of both files.
    clerk.get_by_role("link", name="Kiểm tra một tệp biên bản").click()
    clerk.get_by_label("Tệp biên bản (DOCX hoặc PDF)").set_input_files(str(pdf_path))
    clerk.get_by_role("button", name="Kiểm tra", exact=True).click()
    result = clerk.locator("#result")
    expect(result).to_contain_text(f"KHỚP: tệp «{pdf_path.name}» đúng là bản PDF của biên bản cuộc họp")
    expect(result).to_contain_text(
        f"Chữ ký số trong tệp còn nguyên vẹn: do {seal_authority.signer_name} ký lúc {vn_time(check.signed_at)}."
    )
    expect(result).to_contain_text("Chứng thư của người ký do nơi cấp được tin cậy cấp.")
    expect(result).to_contain_text("Nhật ký cuộc họp đính kèm trong tệp khớp với nhật ký lưu trên máy chủ.")
    altered = tmp_path / "bien-ban-da-sua.pdf"
    altered.write_bytes(bytes(tampered))
    clerk.get_by_label("Tệp biên bản (DOCX hoặc PDF)").set_input_files(str(altered))
    clerk.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(result).to_contain_text("KHÔNG KHỚP: tệp «bien-ban-da-sua.pdf»")
    expect(result).to_contain_text("Chữ ký số trong tệp đã bị phá vỡ: nội dung tệp đã bị thay đổi sau khi ký.")
    clerk.get_by_role("link", name="Về biên bản cuộc họp").click()
    clerk.wait_for_url(f"**/web/meetings/{meeting_id}/record?from=clerk")
    assert status["locks"] == {
        "minute_entries": True,
        "resolutions": 1,
        "action_items": 2,
        "marking_done_stays_open": True,
    }
    screens(clerk, artifacts, "record-page-sealed")

    # -- addenda: the chair starts one, the clerk writes one first ------------------------------------------------
    expect(chair.locator("#record-state")).to_have_text("Đã ký đủ và niêm phong", timeout=20_000)  # without a reload
    chair.get_by_label("Nội dung đính chính, bổ sung").fill(CHAIRS_NOTE)
    chair.get_by_role("button", name="English").click()  # the text typed stays through a language change
    expect(chair.get_by_role("heading", name="Addenda (corrections)")).to_be_visible()
    expect(chair.get_by_label("Text of the correction or addition")).to_have_value(CHAIRS_NOTE)
    chair.get_by_role("button", name="Tiếng Việt").click()
    expect(chair.get_by_label("Nội dung đính chính, bổ sung")).to_have_value(CHAIRS_NOTE)

    clerk.get_by_label("Nội dung đính chính, bổ sung").fill(CORRECTION)
    clerk.get_by_role("button", name="Lập biên bản bổ sung").click()
    expect(clerk.locator("#toast")).to_contain_text("Đã lập biên bản bổ sung số 1.")
    expect(clerk.locator("#addendum-1")).to_contain_text(CORRECTION)
    expect(clerk.get_by_label("Nội dung đính chính, bổ sung")).to_have_value("")

    chair.get_by_role("button", name="Lập biên bản bổ sung").click()  # the clerk's came first: refused, text kept
    expect(chair.locator("#error-addendum-new")).to_have_text(
        "Biên bản bổ sung trước chưa ký xong; ký xong bản đó rồi mới lập bản mới."
    )
    expect(chair.get_by_label("Nội dung đính chính, bổ sung")).to_have_value(CHAIRS_NOTE)
    expect(chair.locator("#addendum-1")).to_contain_text(CORRECTION)

    sign_with(chair, WRONG, "Ký biên bản bổ sung số 1", "#password-addendum-1")
    expect(chair.locator("#error-addendum-1")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")
    expect(chair.locator("#password-addendum-1")).to_have_value("")
    expect(chair.get_by_label("Nội dung đính chính, bổ sung")).to_have_value(CHAIRS_NOTE)
    sign_with(chair, PASSWORD, "Ký biên bản bổ sung số 1", "#password-addendum-1")
    expect(chair.locator("#toast")).to_contain_text("Đã ghi nhận chữ ký của đồng chí trên biên bản bổ sung số 1.")
    expect(chair.locator('#addendum-1 li[data-role="chair"]')).to_contain_text("đã ký lúc")
    assert set(signatures(live_server, meeting_id, 1)) == {"chair"}

    sign_with(clerk, PASSWORD, "Ký biên bản bổ sung số 1", "#password-addendum-1")
    expect(clerk.locator("#addendum-1")).to_contain_text("Đã ký đủ và niêm phong lúc")
    assert sealed_at(live_server, meeting_id, 1) is not None
    assert set(signatures(live_server, meeting_id, 1)) == {"chair", "clerk"}

    # Now the chair's own text, kept all along, goes in as the next addendum.
    chair.get_by_role("button", name="Lập biên bản bổ sung").click()
    expect(chair.locator("#addendum-2")).to_contain_text(CHAIRS_NOTE)
    expect(chair.locator("#error-addendum-new")).to_have_text("")

    # Five wrong passwords in a row: the sign-in throttle holds the next try, even with the right password.
    for _ in range(5):
        sign_with(chair, WRONG, "Ký biên bản bổ sung số 2", "#password-addendum-2")
        expect(chair.locator("#error-addendum-2")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")
        expect(chair.locator("#password-addendum-2")).to_have_value("")
    with chair.expect_response(lambda r: r.url.endswith("/addenda/2/sign")) as throttled:
        sign_with(chair, PASSWORD, "Ký biên bản bổ sung số 2", "#password-addendum-2")
    wait_s = int(throttled.value.headers["retry-after"])
    assert throttled.value.status == 429 and wait_s > 0
    minutes = math.ceil(wait_s / 60)
    expect(chair.locator("#error-addendum-2")).to_have_text(
        f"Nhập sai mật khẩu quá nhiều lần. Xin thử lại sau {minutes} phút."
    )
    expect(chair.locator("#password-addendum-2")).to_have_value("")
    chair.get_by_role("button", name="English").click()
    expect(chair.locator("#error-addendum-2")).to_have_text(f"Too many wrong passwords. Try again in {minutes} min.")
    chair.get_by_role("button", name="Tiếng Việt").click()
    assert signatures(live_server, meeting_id, 2) == {}

    # -- back on the consoles: who has signed, what is still to sign -------------------------------------------
    chair.get_by_role("link", name="Về trang điều hành của chủ trì").click()
    chair.wait_for_url(f"**/chair?m={meeting_id}")
    card = chair.locator("#record-signers")
    expect(card).to_contain_text("Đã ký đủ và niêm phong")
    expect(card).to_contain_text("Chủ trì và thư ký đã ký đủ.")
    expect(card).to_contain_text(f"Biên bản bổ sung số 2: Còn chờ ký: Chủ trì ({chair_name}), Thư ký ({clerk_name}).")
    clerk.get_by_role("link", name="Về trang của thư ký").click()
    clerk.wait_for_url(f"**/clerk?m={meeting_id}")
    expect(clerk.locator("#record-signers")).to_contain_text("Biên bản bổ sung số 2: Còn chờ ký")
    chair.get_by_role("button", name="English").click()
    expect(card).to_contain_text(f"Addendum no. 2: Still to sign: Chair ({chair_name}), Clerk ({clerk_name}).")
    screens(chair, artifacts, "chair-console-record-signed")

    assert [e for e in errors if not REFUSED.search(e)] == [], errors
    phone.close()
    desk.close()


def _bearer(page: Page) -> dict[str, str]:
    token = page.evaluate(
        "() => JSON.parse(localStorage.getItem('chibo.session') || sessionStorage.getItem('chibo.session')).token"
    )
    return {"Authorization": f"Bearer {token}"}
