"""Two service processes on loopback sharing one PostgreSQL: one meeting, clients on both nodes, and the
owner killed with SIGKILL while the clerk writes the minutes and members vote. The other node takes the
meeting over; every acknowledged minute entry and ballot is there afterwards, and no event is there twice."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest

from meeting import journal
from meeting.context import AppContext
from meeting.settings import Settings
from tests.cluster.nodes import Member, free_port, start_node, stop_nodes
from tests.conftest import TEST_SECRET
from tests.factories import seed_branch
from tests.hub.conftest import token

LEASE_SECONDS = "2"


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
    ports = [free_port(), free_port()]
    urls = [f"ws://127.0.0.1:{port}" for port in ports]
    nodes = {"a": start_node("node-a", ports[0], pg_schema_url, tmp_path / "a", CHIBO_LEASE_SECONDS=LEASE_SECONDS)}
    try:
        nodes["b"] = start_node("node-b", ports[1], pg_schema_url, tmp_path / "b", CHIBO_LEASE_SECONDS=LEASE_SECONDS)
        clerk, voters = asyncio.run(asyncio.wait_for(_scenario(urls, nodes, branch), timeout=120))
    finally:
        stop_nodes(*nodes.values())
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
    commands = Counter(r.command_id for r in recorded if r.command_id and r.actor != "system")  # not the opening
    assert all(count == 1 or cid.endswith(("/open", "/close")) for cid, count in commands.items())
    assert [r.seq for r in recorded] == list(range(1, len(recorded) + 1))
    for client in (clerk, *voters):  # each client's events came in order across the move, none missed or twice
        assert client.gaps == [], (client.name, client.gaps)
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
