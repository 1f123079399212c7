"""Bench: the member page (/join, opened from an invite link) on a phone over 3G, in Debian's Chromium.

Measures, before any media (the Join button is not pressed):
- bytes transferred (compressed bodies plus headers, as the network saw them) until the page is quiet;
- time to interactive: from navigation start to the moment the "Tham gia" button works (member.js marks it);
- the same for a second visit (the versioned static files come from the browser's cache).

Network profile: Chromium DevTools' "3G" preset (562.5 ms round trip, 1.44 Mbit/s down, 675 kbit/s up),
and the CPU slowed down 4 times as for a low-end phone. Budget (issue 5): under 300 KB, interactive under 2 s.
Prints one JSON document.

    .venv/bin/python bench/pageweight.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meeting.app import create_app
from meeting.auth import issue_invite_token
from meeting.context import AppContext
from meeting.settings import Settings
from tests.factories import seed_branch

SECRET = "bench-secret-0123456789-abcdefghijklmnopq"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROFILE = {
    "name": "Chromium DevTools 3G, CPU x4",
    "latency_ms": 562.5,
    "download_bytes_per_s": 1_440_000 / 8,
    "upload_bytes_per_s": 675_000 / 8,
    "cpu_slowdown": 4,
}
BUDGET = {"bytes": 300 * 1024, "interactive_ms": 2000}
PHONE = {"width": 360, "height": 740}


def start_server(root: Path) -> tuple[str, str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=f"sqlite:///{root}/bench.db", secret_key=SECRET, data_dir=str(root / "data"), public_url=url
    )
    context = AppContext.create(settings)
    branch = seed_branch(context.sessions, code="cb-bench")
    member = branch.officials[3]
    invite = issue_invite_token(
        meeting_id=branch.meeting_id,
        member_id=member,
        branch_id=branch.branch_id,
        secret=SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    app = create_app(context=context)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return url, f"{url}/join#invite={invite}", server, thread


def visit(context, link: str) -> dict:
    """Open the link on a throttled page; bytes and requests until the network is quiet, time to interactive."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": PROFILE["latency_ms"],
            "downloadThroughput": PROFILE["download_bytes_per_s"],
            "uploadThroughput": PROFILE["upload_bytes_per_s"],
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": PROFILE["cpu_slowdown"]})
    transferred: dict[str, float] = {}
    cached: list[str] = []
    cdp.on("Network.loadingFinished", lambda e: transferred.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on(
        "Network.responseReceived",
        lambda e: (
            (e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache"))
            and cached.append(e["requestId"])
        ),
    )
    page.goto(link, wait_until="load", timeout=60_000)
    page.wait_for_function("() => document.documentElement.dataset.ready === 'join'", timeout=60_000)
    interactive = page.evaluate("() => performance.getEntriesByName('chibo-interactive')[0].startTime")
    page.wait_for_load_state("networkidle", timeout=60_000)
    load = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    title = page.locator("#join-meeting").inner_text()
    result = {
        "bytes_transferred": int(sum(transferred.values())),
        "requests": len(transferred),
        "from_cache": len(cached),
        "interactive_ms": round(interactive, 1),
        "load_event_ms": round(load, 1),
        "meeting_shown": bool(title.strip()),
    }
    page.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        _, link, server, thread = start_server(Path(scratch))
        cold, warm = [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(args.runs):
                    context = browser.new_context(viewport=PHONE, locale="vi-VN")
                    cold.append(visit(context, link))
                    warm.append(visit(context, link))  # same browser profile: a second visit
                    context.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    def summary(runs: list[dict]) -> dict:
        return {
            "bytes_transferred": max(r["bytes_transferred"] for r in runs),
            "requests": max(r["requests"] for r in runs),
            "from_cache": min(r["from_cache"] for r in runs),
            "interactive_ms_median": statistics.median(r["interactive_ms"] for r in runs),
            "interactive_ms_max": max(r["interactive_ms"] for r in runs),
            "load_event_ms_median": statistics.median(r["load_event_ms"] for r in runs),
            "meeting_shown": all(r["meeting_shown"] for r in runs),
        }

    first, second = summary(cold), summary(warm)
    print(
        json.dumps(
            {
                "bench": "pageweight",
                "page": "/join (invite link), before media",
                "profile": PROFILE,
                "runs": args.runs,
                "first_visit": first,
                "second_visit": second,
                "budget": BUDGET,
                "within_budget": first["bytes_transferred"] < BUDGET["bytes"]
                and first["interactive_ms_max"] < BUDGET["interactive_ms"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
