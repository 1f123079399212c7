"""Fuzz run: hostile live frames and HTTP requests against `chibo serve` on 127.0.0.1, much longer than the suite's
property tests (tests/security/test_fuzz.py), with the same inputs (tests/security/hostile.py, drawn with `random`).

- Live: sockets of real roles (the chair's and the clerk's consoles, the secretary, a member, an invite link) send
  batches of frames, mostly commands with real and hostile fields, each batch closed by a ping; every answer is
  counted, and checked against what the protocol answers (one error / result / pong per frame, in order). Every
  tenth batch a new socket opens with a hostile hello and its close code is counted.
- HTTP: requests to every route (but the sign-out, which would end the live sockets' sessions) by every kind of
  caller, with hostile path parameters, queries and bodies.
- The server's log (JSON lines on stderr) is read for ERROR lines and tracebacks; its RSS read before and after;
  every meeting's journal verified at the end (gap-free, valid chain).

Prints one JSON object. Usage: python bench/fuzz.py [--frames 100000] [--requests 10000] [--seconds 1200]
                                                  [--database sqlite|postgresql] [--seed 1] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import pg_schema  # noqa: E402 (bench/ is the script's own folder)

BATCH = 20  # frames per batch, then a ping
SOCKETS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def prepare(database_url: str, data_dir: str) -> dict[str, Any]:
    """Two branches in two communes, tokens for every kind of caller (tests/api/world.py), branch A's meeting open."""
    from meeting.auth import issue_invite_token
    from meeting.context import AppContext
    from meeting.settings import Settings
    from tests.api.world import build_world
    from tests.conftest import TEST_SECRET

    context = AppContext.create(Settings(database_url=database_url, secret_key=TEST_SECRET, data_dir=data_dir))
    world = build_world(context, None)  # type: ignore[arg-type]  # the HTTP client is this script's own
    world.context.service.open(world.a.meeting_id)
    invite = issue_invite_token(
        meeting_id=world.a.meeting_id,
        member_id=world.a.officials[4],
        branch_id=world.a.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=6),
    )
    live_members = {world.a.chair, world.chair, world.a.clerk, world.a.officials[2], world.a.officials[4]}
    prepared = {
        "secret": TEST_SECRET,
        "world": world,  # its tokens are issued again when a write ends sessions (sign-out, role change, ...)
        "invite": invite,
        "meeting_id": world.a.meeting_id,
        "other_meeting_id": world.b.meeting_id,
        "member_ids": [*world.a.everyone, world.b.officials[1]],
        # The HTTP side changes and deactivates members: not the ones whose live sockets carry the run.
        "http_member_ids": [m for m in [*world.a.everyone, world.b.officials[1]] if m not in live_members],
        "item_ids": list(world.a.item_ids),
        "branch_ids": [world.a.branch_id, world.b.branch_id],
    }
    return prepared


def journal_check(database_url: str, data_dir: str) -> dict[str, Any]:
    from sqlalchemy import select

    from meeting import journal
    from meeting.context import AppContext
    from meeting.db.models import Meeting
    from meeting.settings import Settings

    context = AppContext.create(Settings(database_url=database_url, secret_key="x" * 40, data_dir=data_dir))
    problems, events = [], 0
    with context.sessions() as session:
        ids = list(session.scalars(select(Meeting.id)))
        for meeting_id in ids:
            result = journal.verify(session, meeting_id)
            events += result.length
            if not result.valid:
                problems.append(f"meeting {meeting_id}: {result.problem}")
    context.engine.dispose()
    return {"meetings": len(ids), "events": events, "valid": not problems, "problems": problems}


class Tally:
    def __init__(self, target_frames: int, target_requests: int) -> None:
        self.target_frames, self.target_requests = target_frames, target_requests
        self.ws_answers: collections.Counter[str] = collections.Counter()
        self.ws_error_codes: collections.Counter[str] = collections.Counter()
        self.ws_close_codes: collections.Counter[str] = collections.Counter()
        self.http_status: collections.Counter[str] = collections.Counter()
        self.http_error_codes: collections.Counter[str] = collections.Counter()
        self.frames = self.requests = self.mismatches = self.no_close_frame = self.missing_nosniff = 0
        self.sockets_lost = 0
        self.examples: list[str] = []

    def note(self, problem: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(problem[:300])


def expected_answer(text: str) -> str | None:
    from meeting.errors import Rejected
    from signaling import protocol

    try:
        frame = protocol.parse(text)
    except Rejected:
        return "error"
    if isinstance(frame, protocol.Ping):
        return "pong"
    if isinstance(frame, protocol.Pong):
        return None
    if isinstance(frame, protocol.CommandFrame):
        return "result"
    if isinstance(frame, protocol.MediaFrame):
        return "rtc"  # the media plane answers in its own ways (or not at all): not counted against the protocol
    return "error"


async def live_socket(url: str, hello: dict, prep: dict, tally: Tally, rng: random.Random, deadline: float) -> None:
    """One live socket of one role, sending batches until the run's end; when the server closes it (the HTTP side
    may end its member's sessions: 4011), it comes back with a token issued now."""
    import websockets

    from tests.security.hostile import Real, random_frame

    real = Real(prep["member_ids"], prep["item_ids"], [prep["meeting_id"]], prep["branch_ids"])
    world = prep["world"]
    tokens = [*(t for t in world.tokens.values() if t), prep["invite"]]
    ws = None
    batches = 0
    while tally.frames < tally.target_frames and time.monotonic() < deadline:
        if ws is None:
            ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=10)
            if "role_of" in hello:  # an access token, issued now (an invite link's stays as it is)
                world.renew_tokens()
                hello = {**hello, "token": world.tokens[hello["role_of"]]}
            await ws.send(json.dumps({k: v for k, v in hello.items() if k != "role_of"}))
            opening = json.loads(await ws.recv())
            if opening["type"] != "welcome":  # the HTTP side deactivated this member, or changed their rights
                tally.sockets_lost += 1
                tally.note(f"a live socket could not come back: {opening}")
                await ws.close()
                return
        batches += 1
        if batches % 10 == 0:
            await hostile_hello(url, rng, tokens, tally)
        expected: list[str] = []
        try:
            for _ in range(BATCH):
                text = random_frame(rng, real, tokens, f"b{id(ws)}-{tally.frames}")
                tally.frames += 1
                answer = expected_answer(text)
                if answer is not None:
                    expected.append(answer)
                await ws.send(text)
            await ws.send('{"type":"ping"}')
            expected.append("pong")
            got = await answers(ws, expected.count("pong"), tally)
        except websockets.ConnectionClosed as closed:  # e.g. 4011: the HTTP side ended this member's sessions
            code = closed.rcvd.code if closed.rcvd else None
            tally.ws_close_codes[str(code)] += 1
            tally.no_close_frame += code is None
            tally.note(f"live socket closed: {code} {closed.rcvd.reason if closed.rcvd else ''}")
            ws = None
            continue
        protocol_answers = [a for a in got if a != "rtc"]
        if protocol_answers != [e for e in expected if e != "rtc"]:
            tally.mismatches += 1
            tally.note(f"answers {protocol_answers} for expected {expected}")
    if ws is not None:
        await ws.close()


async def answers(ws: Any, pongs: int, tally: Tally) -> list[str]:
    got = []
    while pongs:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        kind = frame["type"]
        if kind == "ping":
            await ws.send('{"type":"pong"}')
            continue
        if kind in ("event", "snapshot"):
            continue
        tally.ws_answers[kind] += 1
        if kind == "error" or (kind == "result" and not frame["ok"]):
            tally.ws_error_codes[frame["error"]["code"]] += 1
        got.append(kind)
        pongs -= kind == "pong"
    return got


async def hostile_hello(url: str, rng: random.Random, tokens: list[str], tally: Tally) -> None:
    import websockets

    from tests.security.hostile import DEEP_TEXTS, HOSTILE_INTS, HOSTILE_TEXTS, sendable

    first = rng.choice(
        [
            json.dumps({"type": "hello", "token": rng.choice(tokens), "last_seq": rng.choice(HOSTILE_INTS)}),
            json.dumps({"type": "hello", "token": rng.choice(HOSTILE_TEXTS), "role": rng.choice(["hall", "x"])}),
            json.dumps({"type": "hello", "token": rng.choice(tokens), "role": "hall"}),
            rng.choice(DEEP_TEXTS),
            sendable(rng.choice(HOSTILE_TEXTS)),
        ]
    )
    async with websockets.connect(url, max_size=None, compression=None, open_timeout=10) as ws:
        await ws.send(first)
        tally.frames += 1
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "welcome":
                    tally.ws_close_codes["welcomed"] += 1
                    return
                if frame["type"] == "error":
                    tally.ws_error_codes[frame["error"]["code"]] += 1
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            tally.ws_close_codes[str(code)] += 1
            tally.no_close_frame += code is None


async def http_worker(base: str, prep: dict, tally: Tally, rng: random.Random, deadline: float) -> None:
    import httpx2 as httpx

    from meeting.app import collect_routes
    from tests.security.hostile import Real, random_http_call

    # Not the sign-out: it would end the very sessions the live sockets run on (tests/security fuzzes it).
    routes = [r for r in collect_routes() if getattr(r, "path", "") != "/api/auth/logout"]
    real = Real(
        prep["http_member_ids"], prep["item_ids"], [prep["meeting_id"], prep["other_meeting_id"]], prep["branch_ids"]
    )
    world = prep["world"]
    roles = list(world.tokens)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while tally.requests < tally.target_requests and time.monotonic() < deadline:
            call = random_http_call(rng, routes, real, roles)
            token = world.tokens[call.role]
            headers = {"Content-Type": call.content_type, **({"Authorization": f"Bearer {token}"} if token else {})}
            tally.requests += 1
            response = await client.request(call.method, call.path, content=call.body, headers=headers)
            tally.http_status[str(response.status_code)] += 1
            if call.method != "GET" and response.status_code < 300:
                world.renew_tokens()  # a write may have ended sessions: callers sign in again
            if response.headers.get("x-content-type-options") != "nosniff":
                tally.missing_nosniff += 1
            if response.status_code >= 500:
                tally.note(f"{call.method} {call.path} as {call.role}: {response.status_code} {response.text[:200]}")
            if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
                tally.http_error_codes[response.json().get("error", {}).get("code", "?")] += 1


def log_faults(log_path: Path) -> tuple[int, int, list[str]]:
    """(ERROR-or-worse lines, tracebacks, a few of them) in the server's JSON-lines log."""
    errors = tracebacks = 0
    samples = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            tracebacks += line.startswith("Traceback")
            continue
        if entry.get("level") in ("error", "critical"):
            errors += 1
            samples.append(entry.get("message", "")[:200])
        tracebacks += "exception" in entry or "stack" in entry
    return errors, tracebacks, samples[:5]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1200.0, help="the whole run stops by then")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 frames and 300 requests")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.requests = 2_000, 300
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chibo-fuzz-")))
        if args.database == "postgresql":
            schema = stack.enter_context(pg_schema("fuzz"))
            database_url, described = schema.url, schema.describe()
        else:
            database_url, described = f"sqlite:///{workdir}/fuzz.db", "sqlite file"
        data_dir = str(workdir / "data")
        prep = prepare(database_url, data_dir)
        port = free_port()
        log_path = workdir / "server.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CHIBO_SECRET_KEY": prep["secret"],
            "CHIBO_DATA_DIR": data_dir,
            "CHIBO_LOG_FORMAT": "json",
            "CHIBO_LOG_LEVEL": "warning",
        }
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "meeting.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            result = asyncio.run(run(args, prep, port, server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            prep["world"].context.engine.dispose()
        errors, tracebacks, samples = log_faults(log_path)
        result.update(
            database=described,
            log_error_lines=errors,
            tracebacks=tracebacks,
            log_samples=samples,
            journal=journal_check(database_url, data_dir),
        )
    print(json.dumps(result, indent=2, ensure_ascii=False))


async def run(args: argparse.Namespace, prep: dict, port: int, pid: int) -> dict[str, Any]:
    import httpx2 as httpx

    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    rss_before = rss_mb(pid)
    tally = Tally(args.frames, args.requests)
    started = time.monotonic()
    deadline = started + args.seconds
    tokens, meeting = prep["world"].tokens, prep["meeting_id"]
    url = f"ws://127.0.0.1:{port}/ws/meetings/{meeting}"
    hellos = [
        {"type": "hello", "token": tokens["chair"], "role": "hall", "role_of": "chair"},
        {"type": "hello", "token": tokens["clerk"], "role": "hall", "role_of": "clerk"},
        {"type": "hello", "token": tokens["secretary"], "role": "member", "role_of": "secretary"},
        {"type": "hello", "token": tokens["member"], "role": "member", "role_of": "member"},
        {"type": "hello", "token": prep["invite"]},
    ]
    rng = random.Random(args.seed)
    tasks = [
        live_socket(url, hellos[i % len(hellos)], prep, tally, random.Random(rng.random()), deadline)
        for i in range(SOCKETS)
    ]
    tasks += [http_worker(base, prep, tally, random.Random(rng.random()), deadline) for _ in range(4)]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    fives = sum(n for status, n in tally.http_status.items() if status.startswith("5"))
    return {
        "seconds": round(elapsed, 1),
        "frames_sent": tally.frames,
        "requests_sent": tally.requests,
        "stopped_by_time_bound": elapsed >= args.seconds,
        "ws": {
            "answers": dict(tally.ws_answers.most_common()),
            "error_codes": dict(tally.ws_error_codes.most_common()),
            "close_codes": dict(tally.ws_close_codes.most_common()),
            "answer_mismatches": tally.mismatches,
            "closed_without_close_frame": tally.no_close_frame,
            "live_sockets_lost": tally.sockets_lost,
        },
        "http": {
            "status": dict(sorted(tally.http_status.items())),
            "error_codes": dict(tally.http_error_codes.most_common()),
            "missing_nosniff": tally.missing_nosniff,
        },
        "http_5xx": fives,
        "problems": tally.examples,
        "server_rss_mb": {"before": rss_before, "after": rss_mb(pid)},
    }


if __name__ == "__main__":
    main()
