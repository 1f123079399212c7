"""Hostile input at the edges: an in-process client for the HTTP routes, and a real uvicorn on 127.0.0.1 (in a
thread, its log captured) for the WebSocket and for fuzzing both, each on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from meeting import journal
from meeting.app import create_app
from meeting.auth import issue_invite_token
from meeting.context import AppContext
from meeting.db.models import Meeting
from meeting.throttle import LoginThrottle
from tests.api.world import World, build_world
from tests.conftest import TEST_SECRET

FAULT_LEVEL = logging.ERROR


class LogCapture(logging.Handler):
    """Every record the server logs (from any thread): a traceback or an ERROR is a fault of ours."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, logging.LogRecord] = {}  # by id: the handler sits on more than one logger

    def emit(self, record: logging.LogRecord) -> None:
        self.records[id(record)] = record

    def faults(self) -> list[str]:
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        return [
            formatter.format(r)
            for r in self.records.values()
            if r.levelno >= FAULT_LEVEL or r.exc_info is not None or r.exc_text
        ]


# uvicorn's own loggers may have been configured by an earlier test not to propagate: listen on them too.
CAPTURED_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "chibo")


@contextlib.contextmanager
def captured_logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    loggers = [logging.getLogger(name) for name in CAPTURED_LOGGERS]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in loggers:
            logger.removeHandler(capture)


@dataclass
class Served:
    """The whole app under uvicorn on 127.0.0.1, the two-branch world of tests/api, and the server's log."""

    url: str
    world: World
    logs: LogCapture
    invite: str  # an invite-link token (typ invite) for branch A's meeting, as a member's phone holds it

    @property
    def context(self) -> AppContext:
        return self.world.context

    def ws_url(self, meeting_id: int | str) -> str:
        return f"ws{self.url[4:]}/ws/meetings/{meeting_id}"

    def journal_problems(self) -> list[str]:
        """Every meeting's journal checked: gap-free, each hash linking to the one before, ending at the head."""
        problems = []
        with self.context.sessions() as session:
            for meeting_id in session.scalars(select(Meeting.id)):
                result = journal.verify(session, meeting_id)
                if not result.valid:
                    problems.append(f"meeting {meeting_id}: {result.problem}")
        return problems


@contextlib.contextmanager
def serve_in_thread(context: AppContext) -> Iterator[tuple[str, LogCapture]]:
    """uvicorn as `chibo serve` configures it (frame limit, no per-message deflate), its log left to us."""
    app = create_app(context=context)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", lifespan="on", ws_max_size=256 * 1024, ws_per_message_deflate=False
    )
    server = uvicorn.Server(config)
    with captured_logs() as logs:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", logs
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            sock.close()


@pytest.fixture
def served(context: AppContext) -> Iterator[Served]:
    context.login_throttle = LoginThrottle(per_account=100000, per_address=100000)  # fuzzing is not guessing
    with serve_in_thread(context) as (url, logs), httpx.Client(base_url=url, timeout=30) as client:
        world = build_world(context, client)  # type: ignore[arg-type]  # an httpx client to the real server
        invite = issue_invite_token(
            meeting_id=world.a.meeting_id,
            member_id=world.a.officials[4],
            branch_id=world.a.branch_id,
            secret=TEST_SECRET,
            expires_at=datetime.now(UTC) + timedelta(hours=2),
        )
        yield Served(url, world, logs, invite)


@pytest.fixture
def world(context: AppContext) -> World:
    """tests/api's world on an in-process client that answers a fault with its 500 (so a test can count them)."""
    context.login_throttle = LoginThrottle(per_account=100000, per_address=100000)
    client = TestClient(create_app(context=context), raise_server_exceptions=False)
    return build_world(context, client)


def http_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every HTTP route of the app."""
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or ())
        if method != "HEAD"
    )


# -- WebSocket clients (websockets' sync client: hypothesis drives plain functions) --------------------------------
def connect(served: Served, meeting_id: int | str | None = None) -> ClientConnection:
    meeting_id = served.world.a.meeting_id if meeting_id is None else meeting_id
    return ws_connect(
        served.ws_url(meeting_id), open_timeout=5, proxy=None, compression=None, max_size=None, legacy=True
    )


def joined(served: Served, bearer: str, role: str = "member", meeting_id: int | None = None) -> ClientConnection:
    """A socket past its hello: welcome and snapshot read."""
    ws = connect(served, meeting_id)
    ws.send(json.dumps({"type": "hello", "token": bearer, "role": role}))
    assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
    assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
    return ws


def closing(ws: ClientConnection, timeout: float = 5.0) -> tuple[list[dict], int | None, str]:
    """The frames the server sends until it closes, and its close code and reason (code None: no close frame)."""
    frames = []
    try:
        while True:
            frames.append(json.loads(ws.recv(timeout=timeout)))
    except ConnectionClosed as closed:
        received = closed.rcvd
        return frames, (received.code if received else None), (received.reason if received else "")


def answers_until_pong(ws: ClientConnection, timeout: float = 10.0) -> list[dict]:
    """What the server answered (events and its own pings left out) up to and with the pong to our last ping."""
    answers = []
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        if frame["type"] == "ping":
            ws.send('{"type":"pong"}')
        elif frame["type"] not in ("event", "snapshot", "welcome", "rtc"):
            answers.append(frame)
            if frame["type"] == "pong":
                return answers
