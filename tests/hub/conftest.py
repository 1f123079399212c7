"""A real uvicorn server on 127.0.0.1 (ephemeral port) in the test's event loop, and real websockets clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn
import websockets

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from meeting.context import AppContext
from signaling.endpoint import Live, LiveSettings
from tests.conftest import TEST_SECRET

# For tests of the protocol alone, where the database makes no difference: SQLite only, to keep the suite quick.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FAST_LIVE = LiveSettings(
    hello_timeout_s=1.0,
    ping_interval_s=0.5,
    idle_timeout_s=10.0,
    leave_grace_s=0.4,
    hand_grace_s=0.8,
    queue_limit=16,
    last_words_s=10.0,
)


@dataclass
class LiveServer:
    url: str
    context: AppContext
    live: Live

    def ws_url(self, meeting_id: int) -> str:
        return f"{self.url}/ws/meetings/{meeting_id}"

    def connections(self, meeting_id: int) -> int:
        return len(self.live.hub.connections(meeting_id))


@contextlib.asynccontextmanager
async def serve_live(
    context: AppContext, live_settings: LiveSettings = FAST_LIVE, send_buffer: int | None = None
) -> AsyncIterator[LiveServer]:
    """The whole app under uvicorn on 127.0.0.1, an ephemeral port, in this test's event loop.
    `send_buffer` caps the kernel's send buffer of every accepted socket (they inherit the listener's)."""
    app = create_app(context=context, live_settings=live_settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = listener.getsockname()[1]
    try:
        yield LiveServer(f"ws://127.0.0.1:{port}", context, app.state.live)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        listener.close()


@pytest.fixture
async def live_server(context) -> AsyncIterator[LiveServer]:
    async with serve_live(context) as server:
        yield server


def token(member_id: int, branch_id: int, role: str = "member", meeting_id: int | None = None) -> str:
    return issue_access_token(Principal(None, member_id, branch_id, role, meeting_id=meeting_id), TEST_SECRET)


class Client:
    """A websockets client that speaks the protocol and keeps what it received."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames: list[dict] = []

    @classmethod
    async def connect(cls, server: LiveServer, meeting_id: int, bearer: str, last_seq=None, role="member", **kwargs):
        ws = await websockets.connect(server.ws_url(meeting_id), open_timeout=5, **kwargs)
        client = cls(ws)
        await ws.send(json.dumps({"type": "hello", "token": bearer, "last_seq": last_seq, "role": role}))
        return client

    async def recv(self, timeout: float = 5.0) -> dict:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def until(self, predicate, timeout: float = 5.0) -> dict:
        """Read frames until one matches (answering pings on the way)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(deadline - loop.time(), 0.01))
            if frame["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
            if predicate(frame):
                return frame

    async def until_seq(self, seq: int, timeout: float = 5.0) -> None:
        """Until the event numbered `seq` has arrived (perhaps already, while waiting for something else)."""
        if seq not in self.event_seqs():
            await self.until(lambda f: f["type"] == "event" and f["seq"] == seq, timeout)

    async def command(self, client_id: str, command: dict) -> dict:
        await self.ws.send(json.dumps({"type": "command", "id": client_id, "command": command}, ensure_ascii=False))
        return await self.until(lambda f: f["type"] == "result" and f["id"] == client_id)

    def event_seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if f["type"] == "event"]

    async def close(self) -> None:
        await self.ws.close()
