"""Browser tests: a real uvicorn server on 127.0.0.1 (ephemeral port) with a seeded branch, and Debian's
Chromium driven by Playwright (never a browser downloaded by Playwright).

The server runs in a thread of the test process on a SQLite file: the browser sees HTTP and WebSocket
only, and the database engines are covered by the rest of the suite on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from meeting.app import create_app
from meeting.auth import issue_invite_token
from meeting.context import AppContext
from meeting.settings import SealSettings, Settings
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, SeededBranch, seed_branch

CHROMIUM = os.environ.get("CHIBO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(os.environ.get("CHIBO_TEST_ARTIFACTS", "test-artifacts"))
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


@dataclass
class LiveServer:
    url: str
    context: AppContext
    branch: SeededBranch
    invites: dict[int, str] = field(default_factory=dict)  # member id -> invite token
    media: Any = None  # the media plane (signaling.media.plane.MediaPlane) the server runs

    def invite_link(self, member_id: int) -> str:
        return f"{self.url}/join#invite={self.invites[member_id]}"

    def username(self, member_id: int) -> str:
        return self.branch.usernames[member_id]


def _serve(app, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def live_server_seal() -> SealSettings:
    """The digital seal of the test server: none. A module whose test checks a signed PDF overrides this fixture,
    e.g. `return seal_authority.pkcs11` with `seal_authority` from tests/sealing.py."""
    return SealSettings()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, live_server_seal: SealSettings) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("browser")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=f"sqlite:///{root}/chibo.db",
        secret_key=TEST_SECRET,
        data_dir=str(root / "data"),
        public_url=url,
        access_token_minutes=120,
        seal=live_server_seal,
    )
    settings.seal.check()  # as a real start does: a seal that cannot sign stops here, not at the test's end
    context = AppContext.create(settings)
    branch = seed_branch(context.sessions, with_logins=True, code="cb-browser")
    expires = datetime.now(UTC) + timedelta(hours=4)
    invites = {
        member_id: issue_invite_token(
            meeting_id=branch.meeting_id,
            member_id=member_id,
            branch_id=branch.branch_id,
            secret=TEST_SECRET,
            expires_at=expires,
        )
        for member_id in branch.everyone
    }
    app = create_app(context=context)
    media = app.state.live.media  # the media plane, from the environment (on unless CHIBO_MEDIA=off)
    assert media is not None, "the browser tests need the media plane: unset CHIBO_MEDIA=off"
    server, thread = _serve(app, sock)
    try:
        yield LiveServer(url=url, context=context, branch=branch, invites=invites, media=media.plane)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        context.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    # Generous on a busy two-core CI machine; a passing run waits only as long as it must.
    expect.set_options(timeout=10_000)
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/ensure-system-packages test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    screens = ARTIFACTS / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    return screens


__all__ = ["DESKTOP", "PASSWORD", "PHONE", "LiveServer"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keep a picture of every page still open: what the test saw when it gave up."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    chromium = item.funcargs.get("browser")
    if chromium is None:
        return
    folder = ARTIFACTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for c, context in enumerate(chromium.contexts):
        for p, page in enumerate(context.pages):
            try:
                page.screenshot(path=str(folder / f"{item.name}-{c}-{p}.png"), full_page=True)
            except Exception:  # a page that is closing cannot be pictured; the others still are
                continue
