"""A client's command id counts once, whatever the service held in memory when the command came back.

The service keeps the command ids of a live meeting in memory and asks the journal only about an id it has seen:
these tests take that memory away (a cold start, another node) and check that a resent command still applies once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from meeting import journal
from meeting.db import models as m
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.errors import Rejected
from meeting.service import MeetingService


def started(context, branch) -> tuple[Actor, int]:
    """The meeting started, its first item open, the chair and one more official present."""
    service, meeting_id = context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    speaker = branch.officials[2]
    for member_id in (branch.chair, speaker):
        service.execute(meeting_id, c.CheckIn(member_id=member_id, mode="remote"), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    service.execute(meeting_id, c.OpenItem(item_id=branch.item_ids[0]), chair)
    return chair, speaker


def with_id(context, meeting_id: int, command_id: str) -> int:
    with context.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(m.JournalEvent)
            .where(m.JournalEvent.meeting_id == meeting_id, m.JournalEvent.command_id == command_id)
        )


def test_a_command_resent_after_a_cold_start_or_a_rebuild_applies_once(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    chair, speaker = started(context, branch)
    first = service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1")
    _, seq = service.state(meeting_id)

    service.forget(meeting_id)  # the meeting is loaded again from its journal, ids included
    assert service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1") == first
    service.rebuild(meeting_id)
    assert service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1") == first
    assert service.state(meeting_id)[1] == seq
    assert with_id(context, meeting_id, f"member:{branch.chair}/grant-1") == len(first)

    # A new id is a new command, and once it is recorded it counts once too.
    again = service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-2")
    assert [r.seq for r in again] == list(range(seq + 1, seq + 1 + len(again)))
    assert service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-2") == again


def test_a_refused_command_did_not_count_and_may_be_sent_again(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    chair, speaker = started(context, branch)
    with pytest.raises(Rejected) as refused:
        service.execute(meeting_id, c.RevokeFloor(), chair, command_id="revoke-1")
    assert refused.value.code == "no_floor"
    service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1")
    revoked = service.execute(meeting_id, c.RevokeFloor(), chair, command_id="revoke-1")
    assert [r.type for r in revoked] == ["floor_ended"]
    service.forget(meeting_id)
    assert service.execute(meeting_id, c.RevokeFloor(), chair, command_id="revoke-1") == revoked


def test_a_node_that_missed_the_first_run_never_applies_a_command_twice(context, branch):
    """Two services on one database (a node that lost the meeting's lease without noticing yet): the one whose
    memory is older than the journal cannot append at all, and once it has reloaded, it finds the first run."""
    service, meeting_id = context.service, branch.meeting_id
    chair, speaker = started(context, branch)
    stale = MeetingService(context.sessions)
    _, seq = stale.state(meeting_id)  # loaded now, then the other node goes on
    first = service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1")

    with pytest.raises(IntegrityError):  # the (meeting_id, seq) key: seq + 1 is taken
        stale.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1")
    assert stale.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="grant-1") == first
    assert with_id(context, meeting_id, f"member:{branch.chair}/grant-1") == len(first)
    with context.sessions() as session:
        verification = journal.verify(session, meeting_id)
    assert verification.valid and verification.length == first[-1].seq == seq + len(first)


# -- the same id, another command ------------------------------------------------------------------------------------
def test_an_id_sent_again_with_another_command_is_refused_wherever_the_meeting_was_loaded(context, branch):
    """The same command (type and fields as validated, defaults included; the caller is part of it) under the same
    id is a retry; anything else under that id is refused, from memory, after a cold start, a rebuild, and on a
    second service (another node taking the meeting over)."""
    service, meeting_id = context.service, branch.meeting_id
    chair, speaker = started(context, branch)
    member = Actor.member(speaker)
    first = service.execute(meeting_id, c.RaiseHand(), member, command_id="hand-1")
    assert service.execute(meeting_id, c.RaiseHand(kind="speak"), member, command_id="hand-1") == first  # defaults
    _, seq = service.state(meeting_id)

    def refused(svc: MeetingService) -> None:
        with pytest.raises(Rejected) as refusal:
            svc.execute(meeting_id, c.RaiseHand(kind="point_of_order"), member, command_id="hand-1")
        assert refusal.value.code == "command_id_reused" and refusal.value.status == 409
        with pytest.raises(Rejected) as refusal:
            svc.execute(meeting_id, c.LowerHand(), member, command_id="hand-1")
        assert refusal.value.code == "command_id_reused"
        assert svc.execute(meeting_id, c.RaiseHand(), member, command_id="hand-1") == first

    refused(service)
    service.forget(meeting_id)
    refused(service)
    service.rebuild(meeting_id)
    refused(service)
    refused(MeetingService(context.sessions))  # another node, its memory loaded from the journal
    assert service.state(meeting_id)[1] == seq  # nothing was appended by any of it

    # Ids are the caller's own: the chair's "hand-1" is another id, and its command another command.
    grant = service.execute(meeting_id, c.GrantFloor(member_id=speaker), chair, command_id="hand-1")
    assert grant[0].seq == seq + 1
    with context.sessions() as session:
        hashes = {r.command_id: r.command_hash for r in journal.read(session, meeting_id) if r.command_id}
    assert hashes[f"member:{speaker}/hand-1"] == journal.command_digest(
        f"member:{speaker}", {"type": "raise_hand", "kind": "speak"}
    )
    assert hashes[f"member:{branch.chair}/hand-1"] != hashes[f"member:{speaker}/hand-1"]


def test_http_and_websocket_refuse_a_reused_id(context, branch):
    import asyncio

    from starlette.testclient import TestClient

    from meeting.app import create_app
    from tests.hub.conftest import Client, serve_live, token

    meeting_id = branch.meeting_id
    started(context, branch)
    bearer = token(branch.officials[3], branch.branch_id)
    path = f"/api/meetings/{meeting_id}/commands"
    headers = {"Authorization": f"Bearer {bearer}"}
    with TestClient(create_app(context=context)) as client:
        check_in = {"command": {"type": "check_in", "member_id": branch.officials[3], "mode": "remote"}}
        first = client.post(path, json={**check_in, "command_id": "a1"}, headers=headers)
        assert first.status_code == 200
        again = client.post(path, json={**check_in, "command_id": "a1"}, headers=headers)
        assert again.status_code == 200 and again.json() == first.json()
        other = client.post(path, json={"command": {"type": "raise_hand"}, "command_id": "a1"}, headers=headers)
        assert other.status_code == 409
        error = other.json()["error"]
        assert error["code"] == "command_id_reused" and error["message"] and error["message_en"]

    async def over_the_hub() -> None:
        async with serve_live(context) as server:
            ws = await Client.connect(server, meeting_id, bearer)
            await ws.until(lambda f: f["type"] == "snapshot")
            hand = await ws.command("h1", {"type": "raise_hand"})
            assert hand["ok"] is True
            assert (await ws.command("h1", {"type": "raise_hand", "kind": "speak"}))["seqs"] == hand["seqs"]
            reused = await ws.command("h1", {"type": "lower_hand"})
            assert reused["ok"] is False and reused["error"]["code"] == "command_id_reused"
            # The id used over HTTP is the same member's id over the hub.
            reused = await ws.command("a1", {"type": "lower_hand"})
            assert reused["ok"] is False and reused["error"]["code"] == "command_id_reused"
            await ws.close()

    asyncio.run(over_the_hub())


def test_the_longest_id_a_client_may_send_is_kept_whole(context, branch):
    """A client's id may be 64 characters; kept with its caller's label (and the room code's prefix for a QR
    check-in) it is longer than that, and the journal keeps it whole on both databases."""
    from starlette.testclient import TestClient

    from meeting.app import create_app
    from meeting.web import checkin_code, current_window
    from tests.conftest import TEST_SECRET
    from tests.hub.conftest import token

    meeting_id, member = branch.meeting_id, branch.officials[3]
    context.service.open(meeting_id)
    longest = "x" * 64
    headers = {"Authorization": f"Bearer {token(member, branch.branch_id)}"}
    body = {"command": {"type": "check_in", "member_id": member, "mode": "remote"}, "command_id": longest}
    with TestClient(create_app(context=context)) as client:
        first = client.post(f"/api/meetings/{meeting_id}/commands", json=body, headers=headers)
        assert first.status_code == 200, first.text
        again = client.post(f"/api/meetings/{meeting_id}/commands", json=body, headers=headers)
        assert again.json() == first.json()
        code = checkin_code(TEST_SECRET, meeting_id, current_window())
        scanned = client.post(f"/web/meetings/{meeting_id}/checkin", json={"code": code}, headers=headers)
        assert scanned.status_code == 200, scanned.text
    assert with_id(context, meeting_id, f"member:{member}/{longest}") == 1
