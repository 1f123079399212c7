"""Two service processes on loopback sharing one PostgreSQL: one meeting, clients on both nodes, and the
owner killed with SIGKILL while the clerk writes the minutes and members vote. The other node takes the
meeting over; every acknowledged minute entry and ballot is there afterwards, and no event is there twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
import websockets
from sqlalchemy import create_engine, text

from meeting import journal
from meeting.context import AppContext
from meeting.settings import Settings
from tests.conftest import PG_URL, TEST_SECRET
from tests.factories import seed_branch
from tests.hub.conftest import token

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_node(name: str, port: int, database_url: str, data_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CHIBO_SECRET_KEY": TEST_SECRET,
        "CHIBO_NODE_ID": name,
        "CHIBO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CHIBO_LEASE_SECONDS": str(LEASE_SECONDS),
        "CHIBO_DATA_DIR": str(data_dir),
    }
    node = subprocess.Popen(
        [sys.executable, "-m", "meeting.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer,
        ):
            if answer.status == 200:
                return node
        time.sleep(0.1)
    node.kill()
    raise RuntimeError(f"node {name} did not start")


@pytest.fixture
def pg_schema_url():
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Member:
    """A client that follows redirects, reconnects to whichever node answers, and replays its outbox."""

    def __init__(self, name: str, urls: list[str], meeting_id: int, bearer: str) -> None:
        self.name, self.urls, self.meeting_id, self.bearer = name, urls, meeting_id, bearer
        self.ws = None
        self.last_seq: int | None = None
        self.acked: dict[str, list[int]] = {}
        self.node_url = ""

    async def connect(self, prefer: int = 0, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        target = f"{self.urls[prefer]}/ws/meetings/{self.meeting_id}"
        while asyncio.get_running_loop().time() < deadline:
            try:
                ws = await websockets.connect(target, open_timeout=3)
                await ws.send(json.dumps({"type": "hello", "token": self.bearer, "last_seq": self.last_seq}))
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "redirect":
                    target = frame["url"]  # the owner, perhaps dead: if so we come back to the others below
                    await ws.close()
                    continue
                assert frame["type"] == "welcome", frame
                self.ws, self.node_url = ws, target
                return
            except (OSError, websockets.ConnectionClosed, TimeoutError):
                prefer = (prefer + 1) % len(self.urls)
                target = f"{self.urls[prefer]}/ws/meetings/{self.meeting_id}"
                await asyncio.sleep(0.3)
        raise TimeoutError(f"{self.name} found no node")

    async def command(self, client_id: str, command: dict, timeout: float = 10.0) -> dict:
        """Send until answered: after a lost connection, reconnect and send the same id again."""
        while True:
            try:
                await self.ws.send(json.dumps({"type": "command", "id": client_id, "command": command}))
                while True:
                    frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
                    if frame["type"] == "event" or frame["type"] == "snapshot":
                        self.last_seq = frame["seq"]
                    elif frame["type"] == "ping":
                        await self.ws.send('{"type":"pong"}')
                    elif frame["type"] == "result" and frame["id"] == client_id:
                        if frame["ok"]:
                            self.acked[client_id] = frame["seqs"]
                        return frame
            except (websockets.ConnectionClosed, OSError, TimeoutError):
                await self.connect(prefer=1)


async def _scenario(urls: list[str], nodes: dict, branch) -> tuple[Member, list[Member]]:
    meeting_id = branch.meeting_id
    clerk = Member("clerk", urls, meeting_id, token(branch.clerk, branch.branch_id))
    chair = Member("chair", urls, meeting_id, token(branch.chair, branch.branch_id))
    await clerk.connect(prefer=0)  # node A takes the meeting
    await chair.connect(prefer=1)  # node B sends the chair to A
    assert clerk.node_url == chair.node_url and urls[0] in clerk.node_url
    for member_id in branch.officials[:3]:
        await clerk.command(f"in-{member_id}", {"type": "check_in", "member_id": member_id, "mode": "in_person"})
    await chair.command("start", {"type": "start_meeting"})
    await chair.command("open", {"type": "open_item", "item_id": branch.item_ids[0]})
    await chair.command("vote", {"type": "open_vote", "vote_id": "v1", "question": "Thông qua nghị quyết?"})
    voters = [Member(f"m{m}", urls, meeting_id, token(m, branch.branch_id)) for m in branch.officials[3:6]]
    for voter in voters:
        await voter.connect(prefer=1)  # redirected to A; presence checks them in as remote

    async def write_minutes() -> None:
        for n in range(40):
            entry = {
                "type": "write_entry",
                "entry_id": f"e{n}",
                "item_id": branch.item_ids[0],
                "text": f"Ý kiến số {n}",
            }
            result = await clerk.command(f"w{n}", entry)
            assert result["ok"], result
            if n == 15:
                nodes["a"].send_signal(signal.SIGKILL)  # the owner dies in the middle of it all

    async def vote(voter: Member, delay: float) -> None:
        await asyncio.sleep(delay)
        for _attempt in range(60):
            result = await voter.command("ballot", {"type": "cast_ballot", "vote_id": "v1", "choice": "for"})
            if result["ok"] or result["error"]["code"] == "already_voted":
                return
            if result["error"]["code"] != "not_present":  # presence catching up after the move
                raise AssertionError(result)
            await asyncio.sleep(0.2)
        raise AssertionError(f"{voter.name} could not vote")

    await asyncio.gather(write_minutes(), *(vote(v, 0.05 + 0.3 * i) for i, v in enumerate(voters)))
    closed = await chair.command("close", {"type": "close_vote", "vote_id": "v1"})
    assert closed["ok"], closed
    assert urls[1] in clerk.node_url and urls[1] in chair.node_url  # everyone now on node B
    return clerk, voters


@pytest.mark.postgres
def test_owner_killed_mid_minutes_and_vote_loses_nothing(pg_schema_url, tmp_path):
    context = AppContext.create(Settings(database_url=pg_schema_url, secret_key=TEST_SECRET))
    branch = seed_branch(context.sessions, code="cb-cluster")
    ports = [_free_port(), _free_port()]
    urls = [f"ws://127.0.0.1:{port}" for port in ports]
    nodes = {"a": _start_node("node-a", ports[0], pg_schema_url, tmp_path / "a")}
    nodes["b"] = _start_node("node-b", ports[1], pg_schema_url, tmp_path / "b")
    try:
        clerk, _voters = asyncio.run(asyncio.wait_for(_scenario(urls, nodes, branch), timeout=120))
    finally:
        for node in nodes.values():
            node.kill()
            node.wait()
    with context.sessions() as session:
        assert journal.verify(session, branch.meeting_id).valid
        recorded = journal.read(session, branch.meeting_id)
    context.engine.dispose()
    written = Counter(r.event.entry_id for r in recorded if r.event.type == "entry_written")
    ballots = Counter(r.event.member_id for r in recorded if r.event.type == "ballot_cast")
    assert set(written) == {f"e{n}" for n in range(40)}  # every acknowledged entry is there...
    assert max(written.values()) == 1  # ...once
    assert set(ballots) == set(branch.officials[3:6]) and max(ballots.values()) == 1
    closed = [r.event for r in recorded if r.event.type == "vote_closed"]
    assert len(closed) == 1 and closed[0].votes_for == 3
    commands = Counter(r.command_id for r in recorded if r.command_id)
    assert all(count == 1 or cid.endswith(("/open", "/close")) for cid, count in commands.items())
    assert [r.seq for r in recorded] == list(range(1, len(recorded) + 1))
    for acked_seqs in clerk.acked.values():
        assert all(1 <= seq <= len(recorded) for seq in acked_seqs)


@pytest.mark.postgres
def test_http_command_on_a_node_that_does_not_run_the_meeting_is_sent_to_the_owner(pg_schema_url):
    """The owner holds the lease; another node refuses to append and names the owner."""
    from starlette.testclient import TestClient

    from meeting.app import create_app
    from meeting.auth import Principal, issue_access_token

    owner = AppContext.create(
        Settings(database_url=pg_schema_url, secret_key=TEST_SECRET, node_id="a", public_url="http://a")
    )
    other = AppContext.create(
        Settings(database_url=pg_schema_url, secret_key=TEST_SECRET, node_id="b", public_url="http://b")
    )
    branch = seed_branch(owner.sessions, code="cb-http")
    bearer = issue_access_token(Principal(None, branch.clerk, branch.branch_id, "member"), TEST_SECRET)
    command = {"command": {"type": "check_in", "member_id": branch.chair, "mode": "in_person"}}
    path = f"/api/meetings/{branch.meeting_id}/commands"
    with TestClient(create_app(context=owner)) as first, TestClient(create_app(context=other)) as second:
        headers = {"Authorization": f"Bearer {bearer}"}
        assert first.post(path, json=command, headers=headers).status_code == 200
        refused = second.post(path, json=command, headers=headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "not_owner"
        assert refused.json()["error"]["details"]["node_url"] == "http://a"
