"""Revocation reaches open WebSockets: a session ended on this node closes its sockets at once (4011 after an error
frame `token_revoked`), one ended on another node (straight in the shared database) within the periodic check,
and the old token cannot connect again. A real uvicorn on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx2 as httpx
import websockets

from meeting.auth import revoke_sessions
from meeting.db.models import Member
from tests.factories import PASSWORD, seed_branch
from tests.hub.conftest import FAST_LIVE, Client, serve_live, token

LIVE = replace(FAST_LIVE, revocation_check_s=0.5)


async def _connected(server, meeting_id: int, bearer: str) -> Client:
    client = await Client.connect(server, meeting_id, bearer)
    assert (await client.recv())["type"] == "welcome"
    return client


async def _closed_as_revoked(client: Client, within: float) -> None:
    """An error frame token_revoked, then close 4011 (frames before it are read without answering pings: the
    socket is closing under them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        frame = json.loads(await asyncio.wait_for(client.ws.recv(), max(deadline - loop.time(), 0.01)))
        if frame["type"] == "error":
            break
    assert frame["error"]["code"] == "token_revoked"
    try:
        await asyncio.wait_for(client.ws.recv(), timeout=within)
        raise AssertionError("the socket stayed open")
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4011


async def test_sessions_ended_on_this_node_close_their_sockets_at_once(context):
    branch = seed_branch(context.sessions, code="cb-live-rev", with_logins=True)
    with context.sessions.begin() as session:
        session.get(Member, branch.officials[3]).role = "deputy"
    async with serve_live(context, LIVE) as server:
        http = httpx.AsyncClient(base_url=server.url.replace("ws://", "http://"), timeout=10)
        secretary = {"Authorization": f"Bearer {token(branch.chair, branch.branch_id, 'secretary')}"}
        signed_in = await http.post(
            "/api/auth/login", json={"username": branch.usernames[branch.clerk], "password": PASSWORD}
        )
        clerk_token = signed_in.json()["access_token"]
        victims = {
            "deactivated": await _connected(server, branch.meeting_id, token(branch.officials[2], branch.branch_id)),
            "demoted": await _connected(
                server, branch.meeting_id, token(branch.officials[3], branch.branch_id, "deputy")
            ),
            "signed out": await _connected(server, branch.meeting_id, token(branch.officials[4], branch.branch_id)),
            "password changed": await _connected(server, branch.meeting_id, clerk_token),
        }
        bystander = await _connected(server, branch.meeting_id, token(branch.officials[5], branch.branch_id))
        changes = [
            ("deactivated", http.delete(f"/api/members/{branch.officials[2]}", headers=secretary)),
            ("demoted", http.patch(f"/api/members/{branch.officials[3]}", json={"role": "member"}, headers=secretary)),
            (
                "signed out",
                http.post(
                    "/api/auth/logout",
                    headers={"Authorization": f"Bearer {token(branch.officials[4], branch.branch_id)}"},
                ),
            ),
            (
                "password changed",
                http.post(
                    "/api/auth/password",
                    json={"current_password": PASSWORD, "new_password": "mat-khau-moi-123"},
                    headers={"Authorization": f"Bearer {clerk_token}"},
                ),
            ),
        ]
        for kind, change in changes:
            response = await change
            assert response.status_code == 200, (kind, response.text)
            await _closed_as_revoked(victims[kind], within=2.0)
        # The others stay; the old tokens cannot come back.
        assert server.connections(branch.meeting_id) == 1
        await bystander.ws.send('{"type":"ping"}')
        assert (await bystander.until(lambda f: f["type"] == "pong"))["type"] == "pong"
        again = await Client.connect(server, branch.meeting_id, token(branch.officials[4], branch.branch_id))
        assert (await again.recv())["error"]["code"] == "token_revoked"
        try:
            await asyncio.wait_for(again.ws.recv(), timeout=2)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4011
        await bystander.close()
        await http.aclose()


async def test_a_session_ended_on_another_node_closes_within_the_periodic_check(context):
    branch = seed_branch(context.sessions, code="cb-live-rev2")
    async with serve_live(context, LIVE) as server:
        victim = await _connected(server, branch.meeting_id, token(branch.officials[2], branch.branch_id))
        with context.sessions.begin() as session:  # as another node sharing the database would: no word to this one
            revoke_sessions(session, member_id=branch.officials[2])
        await _closed_as_revoked(victim, within=LIVE.revocation_check_s + 2.0)
