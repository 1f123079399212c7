"""A node's default name is kept in its data directory, and a lease held at the node's own address under another
name (a process that ran here before, under an older name) never sends the client back to the node itself.
On SQLite and PostgreSQL where a database is involved."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import websockets
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.db.models import MeetingLease
from meeting.settings import NODE_ID_FILE, Settings, stable_node_id
from tests.cluster.nodes import ROOT
from tests.hub.conftest import serve_live, token


def test_the_default_node_id_is_made_once_and_kept_in_the_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    first = stable_node_id(str(data_dir))
    assert (data_dir / NODE_ID_FILE).read_text().strip() == first
    assert stable_node_id(str(data_dir)) == first  # asked again by this process: the same, no conflict
    settings = Settings(data_dir=str(data_dir)).with_stable_node_id()
    assert settings.node_id == first
    assert Settings(data_dir=str(data_dir), node_id="a").with_stable_node_id().node_id == "a"  # CHIBO_NODE_ID wins
    other = stable_node_id(str(tmp_path / "other"))
    assert other != first


def _claim_in_child(data_dir) -> subprocess.CompletedProcess:
    code = "import sys; from meeting.settings import stable_node_id; print(stable_node_id(sys.argv[1]))"
    return subprocess.run(
        [sys.executable, "-c", code, str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_second_node_on_the_same_data_directory_is_refused_and_a_restart_keeps_the_name(tmp_path):
    data_dir = tmp_path / "shared"
    held_here = stable_node_id(str(data_dir))  # this process runs as a node on it, holding the lock
    refused = _claim_in_child(data_dir)
    assert refused.returncode != 0
    assert "CHIBO_DATA_DIR" in refused.stderr and "another running chibo node" in refused.stderr
    # Once the first process is gone (here: a directory no live process holds), a new process takes the same name.
    fresh = tmp_path / "fresh"
    first_run = _claim_in_child(fresh)
    second_run = _claim_in_child(fresh)
    assert first_run.returncode == 0 and second_run.returncode == 0
    assert first_run.stdout.strip() == second_run.stdout.strip() == (fresh / NODE_ID_FILE).read_text().strip()
    assert held_here != first_run.stdout.strip()


def test_chibo_serve_refuses_a_data_directory_another_node_holds(tmp_path):
    data_dir = tmp_path / "held"
    stable_node_id(str(data_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIBO_")}
    env.update(CHIBO_DATA_DIR=str(data_dir), DATABASE_URL=f"sqlite:///{tmp_path}/never.db")
    serve = subprocess.run(
        [sys.executable, "-m", "meeting.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode != 0 and "another running chibo node" in serve.stderr
    assert not (tmp_path / "never.db").exists()  # refused before touching the database


def _lease_at_own_address(context, meeting_id: int, node_url: str, seconds: int) -> None:
    with context.sessions.begin() as session:
        session.add(
            MeetingLease(
                meeting_id=meeting_id,
                node_id="this-host-4242",  # the name a process here had before
                node_url=node_url,
                expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
            )
        )


async def test_a_lease_at_the_nodes_own_address_is_waited_for_never_redirected_to(context, branch):
    meeting_id = branch.meeting_id
    context.service.open(meeting_id)
    async with serve_live(context) as server:
        own_url = server.live.leases.node_url
        _lease_at_own_address(context, meeting_id, own_url, seconds=2)
        ws = await websockets.connect(server.ws_url(meeting_id), open_timeout=5)
        hello = {"type": "hello", "token": token(branch.clerk, branch.branch_id), "last_seq": None}
        await ws.send(json.dumps(hello))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert frame["type"] == "error" and frame["error"]["code"] == "lease_pending", frame
        assert 1 <= frame["error"]["details"]["retry_after"] <= 2
        assert frame["error"]["message"] and frame["error"]["message_en"]
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1013
        # Once it lapses, this node takes the meeting.
        await asyncio.sleep(2.2)
        ws = await websockets.connect(server.ws_url(meeting_id), open_timeout=5)
        await ws.send(json.dumps(hello))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
        await ws.close()


def test_an_http_command_is_told_to_wait_not_sent_to_itself(context, branch):
    meeting_id = branch.meeting_id
    context.service.open(meeting_id)
    app = create_app(context=context)
    with TestClient(app) as client:
        _lease_at_own_address(context, meeting_id, app.state.live.leases.node_url, seconds=30)
        command = {"command": {"type": "check_in", "member_id": branch.clerk, "mode": "in_person"}}
        headers = {"Authorization": f"Bearer {token(branch.clerk, branch.branch_id)}"}
        answer = client.post(f"/api/meetings/{meeting_id}/commands", json=command, headers=headers)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "lease_pending"
        assert 25 <= int(answer.headers["Retry-After"]) <= 30
        # Another node's address is still a redirect (409 `not_owner`), as before.
        with context.sessions.begin() as session:
            lease = session.get(MeetingLease, meeting_id)
            lease.node_url = "http://node-b.example"
        answer = client.post(f"/api/meetings/{meeting_id}/commands", json=command, headers=headers)
        assert answer.status_code == 409 and answer.json()["error"]["details"]["node_url"] == "http://node-b.example"
