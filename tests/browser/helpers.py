"""What the browser tests share: contexts per person, sign-in, screenshots at two sizes, the axe-core check."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, LiveServer

TIMEOUT_MS = 15_000
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# What "no serious violations" means: axe's two top impact levels.
BLOCKING_IMPACTS = {"serious", "critical"}
# Console noise a dropped network causes on purpose (the offline part of the scripted meeting).
EXPECTED_CONSOLE = (
    "WebSocket connection to",
    "Failed to load resource: net::ERR_INTERNET_DISCONNECTED",
    "Failed to load resource: net::ERR_CONNECTION_RESET",
)


def open_context(browser: Browser, viewport: dict, *, mic: bool = False) -> BrowserContext:
    context = browser.new_context(
        viewport=viewport,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        permissions=["microphone"] if mic else [],
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def watch_errors(page: Page, errors: list[str], who: str) -> None:
    """Script errors and console errors, except those a dropped network causes on purpose."""
    page.on("pageerror", lambda error: errors.append(f"{who}: {error}"))
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and not msg.text.startswith(EXPECTED_CONSOLE) and errors.append(f"{who}: {msg.text}")
        ),
    )


def sign_in(page: Page, server: LiveServer, member_id: int, then: str) -> None:
    page.goto(f"{server.url}/?next={then}")
    page.get_by_label("Tên đăng nhập").fill(server.username(member_id))
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(re.escape(then.split("?")[0])))


def screens(page: Page, folder: Path, name: str) -> None:
    """The page at phone size and at desktop size (full length), then back to the size it had."""
    before = page.viewport_size
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)  # one frame for the layout to settle
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    if before:
        page.set_viewport_size(before)


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core (WCAG 2.0-2.2 A and AA rules) on the page; the serious and critical violations."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated over the DevTools protocol: the page's CSP (scripts from 'self' only) stays in force.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
            const found = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)


def wait_until(predicate, timeout_s: float = 15.0, what: str = "condition"):
    """Poll the server side (read from the test's thread) until `predicate()` is truthy; its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
