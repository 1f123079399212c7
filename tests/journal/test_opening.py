"""Who opens a meeting's journal, and that a refused command opens nothing.

A meeting's journal is opened by its preparers (chair, clerk, the branch's secretary or deputy; never through an
invite link), explicitly or with their first command; the opening and that command are one append, so a refused
command leaves the meeting unopened and its plan editable. A client connected before the opening receives every
event from seq 1. Service, HTTP and WebSocket paths, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from meeting import projection
from meeting.app import create_app
from meeting.db import models as m
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.errors import Rejected
from tests.hub.conftest import Client, serve_live, token


def journal_length(context, meeting_id: int) -> int:
    with context.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(m.JournalEvent).where(m.JournalEvent.meeting_id == meeting_id)
        )
        meeting = session.get(m.Meeting, meeting_id)
        assert meeting is not None and (meeting.journal_seq or 0) == count
        return count


def appended(service) -> list[list[int]]:
    """The seqs of each notification the service sends its listeners (the hub's feed)."""
    calls: list[list[int]] = []
    service.listeners.append(lambda _meeting_id, recorded: calls.append([r.seq for r in recorded]))
    return calls


# -- the service ---------------------------------------------------------------------------------------------------
def test_a_member_cannot_open_the_meeting_with_a_command(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    feed = appended(service)
    member = Actor.member(branch.officials[3])
    for command in (c.GrantFloor(member_id=branch.officials[3]), c.RaiseHand(), c.StartMeeting()):
        with pytest.raises(Rejected) as refused:
            service.execute(meeting_id, command, member, command_id=f"x-{command.type}")
        assert refused.value.code == "journal_not_opened" and refused.value.status == 409
    # The chair through an invite link: the route says the token may not open it.
    with pytest.raises(Rejected) as refused:
        service.execute(meeting_id, c.StartMeeting(), Actor.member(branch.chair), may_open=False)
    assert refused.value.code == "journal_not_opened"
    assert journal_length(context, meeting_id) == 0 and feed == []
    assert service.state(meeting_id)[0].opened is False


def test_a_refused_command_of_the_chair_leaves_the_meeting_unopened(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    feed = appended(service)
    chair = Actor.member(branch.chair)
    with pytest.raises(Rejected) as refused:
        service.execute(meeting_id, c.GrantFloor(member_id=branch.officials[3]), chair)
    assert refused.value.code == "meeting_not_started"  # judged on the meeting as it would open
    with pytest.raises(Rejected) as refused:
        service.execute(meeting_id, c.OpenItem(item_id="no-such-item"), chair)
    assert refused.value.code in ("meeting_not_started", "unknown_item")
    assert journal_length(context, meeting_id) == 0 and feed == []

    # The same chair's accepted command opens it: the opening and the command, one append, one notification.
    recorded = service.execute(meeting_id, c.CheckIn(member_id=branch.chair, mode="remote"), chair, command_id="in")
    # The opening is the system's, caused by the chair's command: it carries its id, so a retry answers the same.
    assert recorded[0].type == "journal_opened" and recorded[0].actor == "system"
    assert recorded[-1].type == "checked_in" and recorded[-1].actor == f"member:{branch.chair}"
    assert {r.command_id for r in recorded} == {f"member:{branch.chair}/in"}
    assert [r.seq for r in recorded] == list(range(1, len(recorded) + 1))
    assert feed == [[r.seq for r in recorded]]
    assert journal_length(context, meeting_id) == len(recorded)
    again = service.execute(meeting_id, c.CheckIn(member_id=branch.chair, mode="remote"), chair, command_id="in")
    assert again == recorded
    service.forget(meeting_id)
    assert (
        service.execute(meeting_id, c.CheckIn(member_id=branch.chair, mode="remote"), chair, command_id="in")
        == recorded
    )
    assert feed == [[r.seq for r in recorded]]


def test_the_opening_and_its_command_land_together_or_not_at_all(context, branch, monkeypatch):
    """A failure while writing the command's events (here: its projection) takes the opening back with it."""
    service, meeting_id = context.service, branch.meeting_id
    feed = appended(service)
    real_project = projection.project

    def failing(session, recorded):
        if recorded.type == "checked_in":
            raise RuntimeError("the disk is full")
        real_project(session, recorded)

    monkeypatch.setattr(projection, "project", failing)
    with pytest.raises(RuntimeError):
        service.execute(meeting_id, c.CheckIn(member_id=branch.clerk, mode="in_person"), Actor.member(branch.clerk))
    assert journal_length(context, meeting_id) == 0 and feed == []
    assert service.state(meeting_id)[0].opened is False

    # A guard's refusal (the sealed record's kind) is decided before anything is written, on the opened state.
    monkeypatch.setattr(projection, "project", real_project)

    def refuse_all(_meeting_id, state, _command, _actor):
        assert state.opened  # the command is judged on the meeting as it opens
        raise Rejected("forbidden", status=403)

    service.guards.append(refuse_all)
    with pytest.raises(Rejected):
        service.execute(meeting_id, c.CheckIn(member_id=branch.clerk, mode="in_person"), Actor.member(branch.clerk))
    service.guards.remove(refuse_all)
    assert journal_length(context, meeting_id) == 0 and feed == []

    recorded = service.execute(
        meeting_id, c.CheckIn(member_id=branch.clerk, mode="in_person"), Actor.member(branch.clerk)
    )
    assert recorded[0].type == "journal_opened" and recorded[-1].type == "checked_in"
    assert journal_length(context, meeting_id) == len(recorded)


# -- HTTP ----------------------------------------------------------------------------------------------------------
def test_http_refused_commands_leave_the_plan_editable(context, branch):
    meeting_id = branch.meeting_id
    path = f"/api/meetings/{meeting_id}/commands"
    grant = {"command": {"type": "grant_floor", "member_id": branch.officials[3]}, "command_id": "g1"}
    member = token(branch.officials[3], branch.branch_id)
    invitee = token(branch.officials[4], branch.branch_id, meeting_id=meeting_id)
    chair_by_invite = token(branch.chair, branch.branch_id, role="secretary", meeting_id=meeting_id)
    secretary = token(branch.chair, branch.branch_id, role="secretary")
    with TestClient(create_app(context=context)) as client:
        for bearer in (member, invitee, chair_by_invite):
            answer = client.post(path, json=grant, headers={"Authorization": f"Bearer {bearer}"})
            assert answer.status_code == 409, answer.text
            error = answer.json()["error"]
            assert error["code"] == "journal_not_opened" and error["message"] and error["message_en"]
        # The chair's own refused command: refused, nothing opened.
        answer = client.post(path, json=grant, headers={"Authorization": f"Bearer {secretary}"})
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "meeting_not_started"
        assert journal_length(context, meeting_id) == 0

        # The secretary may still change the plan: nothing locked it.
        edit = client.patch(
            f"/api/meetings/{meeting_id}",
            json={"place": "Hội trường thôn"},
            headers={"Authorization": f"Bearer {secretary}"},
        )
        assert edit.status_code == 200, edit.text
        state = client.get(f"/api/meetings/{meeting_id}/state", headers={"Authorization": f"Bearer {member}"}).json()
        assert state["seq"] == 0

        # The chair's accepted command opens the meeting (the plan as edited) and runs, in one answer.
        start = {"command": {"type": "check_in", "member_id": branch.chair, "mode": "remote"}, "command_id": "c1"}
        answer = client.post(path, json=start, headers={"Authorization": f"Bearer {secretary}"})
        assert answer.status_code == 200, answer.text
        events = answer.json()["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["event"]["type"] == "journal_opened" and events[0]["event"]["place"] == "Hội trường thôn"
        assert events[-1]["event"]["type"] == "checked_in"
        locked = client.patch(
            f"/api/meetings/{meeting_id}",
            json={"place": "Nhà văn hóa"},
            headers={"Authorization": f"Bearer {secretary}"},
        )
        assert locked.status_code == 409 and locked.json()["error"]["code"] == "plan_locked"


def test_http_open_route_is_for_the_preparers_only(context, branch):
    meeting_id = branch.meeting_id
    with TestClient(create_app(context=context)) as client:
        for bearer in (
            token(branch.officials[3], branch.branch_id),
            token(branch.officials[3], branch.branch_id, meeting_id=meeting_id),
            token(branch.clerk, branch.branch_id, meeting_id=meeting_id),
        ):
            answer = client.post(f"/web/meetings/{meeting_id}/open", headers={"Authorization": f"Bearer {bearer}"})
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "clerk_only"
        assert journal_length(context, meeting_id) == 0
        clerk = token(branch.clerk, branch.branch_id)
        answer = client.post(f"/web/meetings/{meeting_id}/open", headers={"Authorization": f"Bearer {clerk}"})
        assert answer.status_code == 200 and answer.json()["seq"] >= 1


# -- WebSocket -----------------------------------------------------------------------------------------------------
async def test_a_console_connected_before_the_opening_receives_every_seq_from_one(context, branch):
    meeting_id, branch_id = branch.meeting_id, branch.branch_id
    async with serve_live(context) as server:
        console = await Client.connect(server, meeting_id, token(branch.clerk, branch_id), role="hall")
        assert (await console.until(lambda f: f["type"] == "snapshot"))["seq"] == 0
        remote = await Client.connect(server, meeting_id, token(branch.officials[3], branch_id))
        await remote.until(lambda f: f["type"] == "snapshot")
        invitee = await Client.connect(server, meeting_id, token(branch.officials[4], branch_id, meeting_id=meeting_id))
        await invitee.until(lambda f: f["type"] == "snapshot")

        # Refused: by a member, by an invite link, and the chair's own command that cannot run yet.
        for client, command_id in ((remote, "r1"), (invitee, "i1")):
            result = await client.command(command_id, {"type": "grant_floor", "member_id": branch.officials[3]})
            assert result["ok"] is False and result["error"]["code"] == "journal_not_opened"
        chair = await Client.connect(server, meeting_id, token(branch.chair, branch_id, role="secretary"))
        await chair.until(lambda f: f["type"] == "snapshot")
        result = await chair.command("g1", {"type": "grant_floor", "member_id": branch.officials[3]})
        assert result["ok"] is False and result["error"]["code"] == "meeting_not_started"
        assert journal_length(context, meeting_id) == 0
        assert [f for f in console.frames if f["type"] == "event"] == []

        # The chair's first accepted command opens the meeting: the console sees seq 1, 2, ... with no gap.
        result = await chair.command("s1", {"type": "check_in", "member_id": branch.chair, "mode": "remote"})
        assert result["ok"] is True and result["seqs"][0] == 1
        result = await chair.command("s2", {"type": "start_meeting"})
        assert result["ok"] is True
        last = result["seqs"][-1]
        for client in (console, remote, invitee, chair):
            await client.until_seq(last)

        # Presence checks in the members connected before the opening (more events, still in order).
        def checked_in() -> set[int]:
            events = [f["event"]["event"] for f in console.frames if f["type"] == "event"]
            return {e["member_id"] for e in events if e["type"] == "checked_in"}

        while not {branch.officials[3], branch.officials[4]} <= checked_in():
            await console.until(lambda f: f["type"] == "event")
        final = journal_length(context, meeting_id)
        for client in (console, remote, invitee, chair):
            await client.until_seq(final)
            assert client.event_seqs() == list(range(1, final + 1)), client.event_seqs()
            await client.close()
