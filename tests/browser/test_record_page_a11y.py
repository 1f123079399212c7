"""The minutes page and the verify page for everyone who reads them: no serious or critical axe finding, nothing
wider than a 360 px phone, and one language at a time (the page's words in Vietnamese or in English, never both;
the biên bản itself always Vietnamese), in each state the signers meet: a draft to sign, a sealed record with an
addendum to sign, a file checked."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.helpers import axe_violations, describe, open_context, screens, sign_in, watch_errors
from tests.factories import PASSWORD, seed_branch
from tests.record import scenario as sc

WIDE = {"width": 1366, "height": 900}
SIZES = {"360": PHONE, "1366": WIDE}
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 403")

# Every element wider than the window (or starting left of it), outside a container marked as scrolling on
# purpose ([data-scroll-label]); the skip link waits off screen until focused, as on every page.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.skip-link, [data-scroll-label]')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width && !box.height) continue;
    if (box.right > width + 1 || box.left < -1) {
      wide.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(box.left)}-${Math.round(box.right)}`);
    }
  }
  return { width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10) };
}"""

# The page's own words (outside the Vietnamese document and the addenda's Vietnamese text).
CHROME_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  for (const el of copy.querySelectorAll('[lang="vi"], script')) el.remove();
  return copy.innerText;
}"""


def words_of(table: dict) -> list[str]:
    """The fixed parts of every string of the record pages' i18n section, long enough to tell a language by."""
    found = []
    for value in table.values():
        if isinstance(value, dict):
            found += words_of(value)
        else:
            found += [part.strip() for part in re.split(r"\{\w+\}", value) if len(part.strip()) >= 12]
    return found


@pytest.fixture(scope="module")
def tables(live_server: LiveServer, browser):
    context = open_context(browser, PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/")
    found = {
        lang: page.evaluate(f"async () => (await import('/static/i18n/{lang}.js')).default.record")
        for lang in ("vi", "en")
    }
    context.close()
    return found


def set_language(page: Page, lang: str) -> None:
    if page.evaluate("() => document.documentElement.lang") != lang:
        page.get_by_role("button", name="English" if lang == "en" else "Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def check_everywhere(page: Page, tables: dict, name: str, artifacts: Path) -> None:
    """In both languages and at both widths: axe, nothing wider than a phone, only the chosen language's words."""
    for lang, other in (("vi", "en"), ("en", "vi")):
        set_language(page, lang)
        chrome = page.evaluate(CHROME_TEXT)
        mixed = [w for w in words_of(tables[other]) if w in chrome and w not in words_of(tables[lang])]
        assert mixed == [], f"{name} in {lang} shows {other} words: {mixed}"
        assert " / " not in chrome.replace("://", ""), f"{name} in {lang}: a pair of languages? {chrome!r}"
        for width, size in SIZES.items():
            page.set_viewport_size(size)
            page.wait_for_timeout(150)
            found = axe_violations(page)
            assert found == [], f"{name} {lang} {width}px: {describe(found)}"
            if size is PHONE:
                layout = page.evaluate(OVERFLOW)
                assert layout["wide"] == [] and layout["scrollWidth"] <= layout["width"], f"{name} {lang}: {layout}"
                # Readable, not merely squeezed in: a table cell gets most of the phone's width (a row per card).
                cells = page.evaluate(
                    "() => [...document.querySelectorAll('article.record td')].map((td) => td.offsetWidth)"
                )
                assert all(width > 250 for width in cells), f"{name} {lang}: table cells {cells}"
        screens(page, artifacts, f"{name}-{lang}")
    set_language(page, "vi")


def test_the_minutes_and_verify_pages_in_both_languages_at_phone_and_desk_width(
    browser, live_server: LiveServer, tables, artifacts, tmp_path
):
    context = live_server.context
    branch = seed_branch(context.sessions, officials=7, with_logins=True, code="cb-record-a11y")
    sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch)
    server = dataclasses.replace(live_server, branch=branch)
    errors: list[str] = []
    browser_context = open_context(browser, WIDE)
    page = browser_context.new_page()
    watch_errors(page, errors, "chair")

    # A draft to sign, no resolution drafted yet, a refusal under the form.
    sign_in(page, server, branch.chair, f"/web/meetings/{held.meeting_id}/record")
    page.locator("#password-record").fill("sai-mat-khau")
    page.get_by_role("button", name="Ký biên bản", exact=True).click()
    expect(page.locator("#error-record")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")
    expect(page.locator("#no-resolution")).to_be_visible()
    check_everywhere(page, tables, "record-draft", artifacts)
    expect(page.locator("#error-record")).to_have_text("Mật khẩu không đúng, chữ ký chưa được ghi nhận.")

    # The resolution with its two 5 rõ tasks (a six-column table in the minutes), then sealed (both sign: here
    # through the API, the signing itself is test_record_page's), an addendum to sign.
    sc.add_resolution(context, branch, held, datetime.now(UTC).date())
    headers = {}
    for member in (branch.chair, branch.clerk):
        login = page.request.post(
            f"{server.url}/api/auth/login", data={"username": branch.usernames[member], "password": PASSWORD}
        )
        headers[member] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        signed = page.request.post(
            f"{server.url}/api/meetings/{held.meeting_id}/record/sign",
            data={"password": PASSWORD},
            headers=headers[member],
        )
        assert signed.ok, signed.text()
    written = page.request.post(
        f"{server.url}/api/meetings/{held.meeting_id}/record/addenda",
        data={"text": "Bổ sung: đồng chí Lê Văn Cường theo dõi quỹ khuyến học."},
        headers=headers[branch.clerk],
    )
    assert written.status == 201
    page.reload()
    expect(page.locator("#record-state")).to_have_text("Đã ký đủ và niêm phong")
    expect(page.locator("#password-addendum-1")).to_be_visible()
    expect(page.locator("#digital-seal")).to_have_text("Bản PDF chưa được ký số.")
    expect(page.locator("article.record table")).to_have_count(1)  # the tasks: one card per row on a phone
    check_everywhere(page, tables, "record-sealed", artifacts)

    # The verify page: the sealed PDF as downloaded from the page matches; one byte changed does not.
    with page.expect_download() as download:
        page.locator("#status-heading").locator("..").get_by_role("button", name="Tải bản PDF").click()
    sealed_pdf = tmp_path / "bien-ban.pdf"
    download.value.save_as(sealed_pdf)
    page.get_by_role("link", name="Kiểm tra một tệp biên bản").click()
    page.wait_for_url(f"**/web/record/verify?m={held.meeting_id}")
    expect(page.get_by_role("link", name="Về biên bản cuộc họp")).to_have_attribute(
        "href", f"/web/meetings/{held.meeting_id}/record"
    )
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#result")).to_have_text("Xin chọn tệp biên bản cần kiểm tra.")
    page.get_by_label("Tệp biên bản (DOCX hoặc PDF)").set_input_files(str(sealed_pdf))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#result")).to_contain_text(
        f"KHỚP: tệp «bien-ban.pdf» đúng là bản PDF của biên bản cuộc họp mã số {held.meeting_id}"
    )
    expect(page.locator("#result")).to_contain_text("Nhật ký cuộc họp vẫn khớp với biên bản đã niêm phong.")
    expect(page.locator("#result")).to_contain_text("Bản PDF chưa được ký số.")  # this server has no sealing key
    check_everywhere(page, tables, "record-verify", artifacts)
    flipped = bytearray(sealed_pdf.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    altered = tmp_path / "bien-ban-sua.pdf"
    altered.write_bytes(bytes(flipped))
    page.get_by_label("Tệp biên bản (DOCX hoặc PDF)").set_input_files(str(altered))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#result")).to_contain_text("KHÔNG KHỚP: tệp «bien-ban-sua.pdf»")
    set_language(page, "en")
    expect(page.locator("#result")).to_contain_text("NO MATCH: «bien-ban-sua.pdf»")
    set_language(page, "vi")

    assert [e for e in errors if not REFUSED.search(e)] == [], errors
    browser_context.close()
