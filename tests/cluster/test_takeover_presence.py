"""Who is there after a meeting changes node. Two nodes in this process share one PostgreSQL schema: node a runs
the meeting, then stops (its drain closes the sockets without recording departures). Node b takes the meeting on
when the first client reaches it: the members who follow within the grace period stay present; one who never
comes back (the phone died with the node) is recorded gone by the system, as after any closed connection.

Also: every HTTP request that writes to the journal (a command, opening the meeting, a check-in with the room's
code) is refused by a node that does not run the meeting, naming the node that does."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import delete
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from meeting.context import AppContext
from meeting.db.models import MeetingLease
from meeting.settings import Settings
from meeting.web import checkin_code, current_window
from tests.conftest import TEST_SECRET
from tests.factories import seed_branch
from tests.hub.conftest import FAST_LIVE, Client, serve_live, token

pytestmark = pytest.mark.postgres


def _context(url: str, node_id: str) -> AppContext:
    return AppContext.create(
        Settings(database_url=url, secret_key=TEST_SECRET, node_id=node_id, public_url=f"http://{node_id}")
    )


def _presence_events(context: AppContext, meeting_id: int, member_id: int) -> list[tuple[str, str]]:
    """(event type, actor) of each check-in and departure of the member, in journal order."""
    return [
        (r.event.type, r.actor)
        for r in context.service.events_after(meeting_id, 0)
        if r.event.type in ("checked_in", "left") and getattr(r.event, "member_id", None) == member_id
    ]


async def _joined(server, branch, member_id: int) -> Client:
    phone = await Client.connect(server, branch.meeting_id, token(member_id, branch.branch_id))
    await phone.until(lambda f: f["type"] == "event" and f["event"]["event"].get("member_id") == member_id)
    return phone


async def test_members_who_never_reach_the_new_node_are_recorded_gone_and_the_others_stay(pg_schema_url):
    node_a, node_b = _context(pg_schema_url, "a"), _context(pg_schema_url, "b")
    branch = seed_branch(node_a.sessions, code="cb-adopt")
    stays, lost = branch.officials[2], branch.officials[3]
    node_a.service.open(branch.meeting_id)

    async with serve_live(node_a, FAST_LIVE) as server_a:
        phones = [await _joined(server_a, branch, member) for member in (stays, lost)]
        await server_a.live.drain()  # what SIGTERM does to `chibo serve` before the server stops
    # Node a has stopped: its drain sent the phones away without a departure in the journal.
    for phone in phones:
        await phone.close()
    assert _presence_events(node_a, branch.meeting_id, lost) == [("checked_in", "system")]

    async with serve_live(node_b, FAST_LIVE) as server_b:
        # The member who stays is back within the grace period; the chair's console watches.
        chair = await Client.connect(server_b, branch.meeting_id, token(branch.chair, branch.branch_id))
        await chair.until(lambda f: f["type"] == "snapshot")
        back = await Client.connect(server_b, branch.meeting_id, token(stays, branch.branch_id))
        await back.until(lambda f: f["type"] == "snapshot")
        gone = await chair.until(
            lambda f: (
                f["type"] == "event"
                and f["event"]["event"]["type"] == "left"
                and f["event"]["event"]["member_id"] == lost
            ),
            timeout=FAST_LIVE.leave_grace_s + 5,
        )
        assert gone["event"]["actor"] == "system"
        await asyncio.sleep(FAST_LIVE.leave_grace_s * 2)  # long enough for a wrong departure of the one who stayed
        assert _presence_events(node_b, branch.meeting_id, stays) == [("checked_in", "system")]
        state, _ = node_b.service.state(branch.meeting_id)
        assert state.is_present(stays) and not state.is_present(lost)
        await back.close()
        await chair.close()


async def test_a_departure_timed_on_a_node_that_lost_the_meeting_is_left_to_the_new_owner(pg_schema_url):
    """Node a's phone closes (a departure waits out its grace there) and node b takes the meeting meanwhile:
    node a must not write to a journal it no longer runs; node b records the departure itself."""
    node_a, node_b = _context(pg_schema_url, "a"), _context(pg_schema_url, "b")
    branch = seed_branch(node_a.sessions, code="cb-lost")
    member = branch.officials[3]
    node_a.service.open(branch.meeting_id)
    slow_a = replace(FAST_LIVE, leave_grace_s=1.5, hand_grace_s=2.0)

    async with serve_live(node_a, slow_a) as server_a, serve_live(node_b, FAST_LIVE) as server_b:
        phone = await _joined(server_a, branch, member)
        await phone.close()  # node a starts the grace period of this departure
        await asyncio.sleep(0.2)
        # Node a's lease is gone (as if it had stalled past it): node b takes the meeting on its next client.
        with node_b.sessions.begin() as session:
            session.execute(delete(MeetingLease).where(MeetingLease.meeting_id == branch.meeting_id))
        chair = await Client.connect(server_b, branch.meeting_id, token(branch.chair, branch.branch_id))
        await chair.until(lambda f: f["type"] == "snapshot")
        left = await chair.until(lambda f: f["type"] == "event" and f["event"]["event"]["type"] == "left", timeout=5)
        assert left["event"]["event"]["member_id"] == member
        await asyncio.sleep(slow_a.leave_grace_s + 0.5)  # node a's own timer has run out by now
        assert _presence_events(node_b, branch.meeting_id, member) == [("checked_in", "system"), ("left", "system")]
        await chair.close()


@pytest.mark.parametrize("write", ["command", "open", "checkin"])
def test_every_http_journal_write_on_a_node_that_does_not_run_the_meeting_names_the_owner(pg_schema_url, write):
    owner, other = _context(pg_schema_url, "a"), _context(pg_schema_url, "b")
    branch = seed_branch(owner.sessions, code=f"cb-w-{write}")
    clerk = issue_access_token(Principal(None, branch.clerk, branch.branch_id, "member"), TEST_SECRET)
    member = branch.officials[3]
    phone = issue_access_token(Principal(None, member, branch.branch_id, "member"), TEST_SECRET)
    base = f"/api/meetings/{branch.meeting_id}"
    web = f"/web/meetings/{branch.meeting_id}"
    with TestClient(create_app(context=owner)) as first, TestClient(create_app(context=other)) as second:
        # Node a runs the meeting: it opened the journal.
        opened = first.post(f"{web}/open", headers={"Authorization": f"Bearer {clerk}"})
        assert opened.status_code == 200
        bearer, path, body = {
            "command": (
                clerk,
                f"{base}/commands",
                {"command": {"type": "check_in", "member_id": member, "mode": "in_person"}},
            ),
            "open": (clerk, f"{web}/open", None),
            "checkin": (
                phone,
                f"{web}/checkin",
                {"code": checkin_code(TEST_SECRET, branch.meeting_id, current_window())},
            ),
        }[write]
        refused = second.post(path, json=body, headers={"Authorization": f"Bearer {bearer}"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "not_owner"
        assert refused.json()["error"]["details"]["node_url"] == "http://a"
        # The owner takes the same request.
        assert first.post(path, json=body, headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    journal_types = [r.event.type for r in owner.service.events_after(branch.meeting_id, 0)]
    assert journal_types.count("journal_opened") == 1
    assert journal_types.count("checked_in") == (0 if write == "open" else 1)
