"""Presence and heartbeats with real websockets clients: the attendance log follows the connections, with
debounce, and a raised hand outlives a short absence."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
import websockets

from meeting.domain import Actor
from meeting.domain import commands as c
from signaling.endpoint import LiveSettings
from tests.hub.conftest import FAST_LIVE, Client, serve_live, sqlite_only, token


def _event_of(kind: str, member_id: int):
    def matches(frame: dict) -> bool:
        return (
            frame["type"] == "event"
            and frame["event"]["event"]["type"] == kind
            and frame["event"]["event"].get("member_id") == member_id
        )

    return matches


async def _watch(server, branch) -> Client:
    watcher = await Client.connect(server, branch.meeting_id, token(branch.chair, branch.branch_id), role="hall")
    await watcher.until(lambda f: f["type"] == "snapshot")
    return watcher


async def _journal_types(server, branch, member_id: int) -> list[str]:
    recorded = await asyncio.to_thread(server.context.service.events_after, branch.meeting_id, 0)
    return [r.event.type for r in recorded if getattr(r.event, "member_id", None) == member_id]


@sqlite_only
async def test_members_waiting_before_the_meeting_opens_are_checked_in_when_it_opens(live_server, branch):
    member_id = branch.officials[3]
    phone = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))
    await phone.until(lambda f: f["type"] == "snapshot")
    await asyncio.sleep(0.3)
    state, _ = live_server.context.service.state(branch.meeting_id)
    assert not state.opened  # a member's early link opens nothing
    await asyncio.to_thread(live_server.context.service.open, branch.meeting_id)  # the clerk's console
    checked_in = await phone.until(_event_of("checked_in", member_id))
    assert checked_in["event"]["actor"] == "system" and checked_in["event"]["event"]["mode"] == "remote"
    await phone.close()


@sqlite_only
async def test_a_second_device_closing_is_not_a_departure(live_server, branch):
    live_server.context.service.open(branch.meeting_id)
    member_id = branch.officials[3]
    watcher = await _watch(live_server, branch)
    phone = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))
    await watcher.until(_event_of("checked_in", member_id))
    tablet = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))
    await tablet.until(lambda f: f["type"] == "snapshot")
    await tablet.close()
    await asyncio.sleep(FAST_LIVE.leave_grace_s * 3)
    assert await _journal_types(live_server, branch, member_id) == ["checked_in"]  # once, and never left
    await phone.close()
    await watcher.until(_event_of("left", member_id))
    await watcher.close()


@sqlite_only
async def test_a_door_check_in_is_not_undone_when_the_phone_goes_quiet(live_server, branch):
    live_server.context.service.open(branch.meeting_id)
    member_id = branch.officials[3]
    service = live_server.context.service
    await service.execute_async(
        branch.meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), Actor.member(branch.clerk)
    )
    phone = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))
    await phone.until(lambda f: f["type"] == "snapshot")
    await phone.close()
    await asyncio.sleep(FAST_LIVE.leave_grace_s * 3)
    state, _ = service.state(branch.meeting_id)
    assert state.is_present(member_id) and state.attendance_of(member_id).mode == "in_person"
    assert await _journal_types(live_server, branch, member_id) == ["checked_in"]


async def _raise_hand_and_drop(server, branch, member_id: int) -> Client:
    service = server.context.service
    chair = Actor.member(branch.chair)
    await service.execute_async(branch.meeting_id, c.StartMeeting(), chair)
    await service.execute_async(branch.meeting_id, c.OpenItem(item_id=branch.item_ids[0]), chair)
    watcher = await _watch(server, branch)
    phone = await Client.connect(server, branch.meeting_id, token(member_id, branch.branch_id))
    await watcher.until(_event_of("checked_in", member_id))
    raised = await phone.command("hand-1", {"type": "raise_hand"})
    assert raised["ok"] is True
    await phone.ws.close()
    return watcher


async def test_a_dropped_members_raised_hand_keeps_its_place_then_is_lowered(context, branch):
    async with serve_live(context, replace(FAST_LIVE, leave_grace_s=0.3, hand_grace_s=1.0)) as server:
        member_id = branch.officials[3]
        watcher = await _raise_hand_and_drop(server, branch, member_id)
        left = await watcher.until(_event_of("left", member_id))
        lowered = await watcher.until(_event_of("hand_lowered", member_id))
        assert left["event"]["actor"] == lowered["event"]["actor"] == "system"
        assert left["seq"] < lowered["seq"]  # absent first, and only later off the queue
        state, _ = server.context.service.state(branch.meeting_id)
        assert not state.queue()
        await watcher.close()


@sqlite_only
async def test_a_member_back_before_the_hand_grace_keeps_the_hand(context, branch):
    async with serve_live(context, replace(FAST_LIVE, leave_grace_s=0.3, hand_grace_s=30.0)) as server:
        member_id = branch.officials[3]
        watcher = await _raise_hand_and_drop(server, branch, member_id)
        await watcher.until(_event_of("left", member_id))
        state, _ = server.context.service.state(branch.meeting_id)
        assert [hand.member_id for hand in state.queue()] == [member_id]  # absent, yet still in the queue
        phone = await Client.connect(server, branch.meeting_id, token(member_id, branch.branch_id))
        back = await watcher.until(_event_of("checked_in", member_id))
        assert back["event"]["event"]["returning"] is True
        state, _ = server.context.service.state(branch.meeting_id)
        assert [hand.member_id for hand in state.queue()] == [member_id]
        assert "hand_lowered" not in await _journal_types(server, branch, member_id)
        await phone.close()
        await watcher.close()


@sqlite_only
async def test_a_hall_connection_is_not_presence(live_server, branch):
    live_server.context.service.open(branch.meeting_id)
    hall = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id), role="hall")
    await hall.until(lambda f: f["type"] == "snapshot")
    await hall.close()
    await asyncio.sleep(FAST_LIVE.leave_grace_s * 2)
    assert await _journal_types(live_server, branch, branch.clerk) == []


@sqlite_only
async def test_the_server_pings_and_closes_a_silent_peer(context, branch):
    async with serve_live(context, replace(FAST_LIVE, ping_interval_s=0.2, idle_timeout_s=1.0)) as server:
        ws = await websockets.connect(server.ws_url(branch.meeting_id))
        await ws.send(json.dumps({"type": "hello", "token": token(branch.officials[2], branch.branch_id)}))
        frames = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:  # reads, but never answers a ping: a phone whose network went away
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert [f["type"] for f in frames].count("ping") >= 2
        # One that answers stays.
        alive = await Client.connect(server, branch.meeting_id, token(branch.officials[3], branch.branch_id))
        await alive.until(lambda f: f["type"] == "snapshot")
        loop = asyncio.get_running_loop()
        until = loop.time() + 1.5  # longer than the idle timeout
        while loop.time() < until:
            with pytest.raises(TimeoutError):
                await alive.until(lambda f: f["type"] != "ping", timeout=0.5)  # answers pings on the way
        assert server.connections(branch.meeting_id) == 1
        await alive.close()


def test_grace_periods_come_from_the_environment():
    settings = LiveSettings.from_env({"CHIBO_LEAVE_GRACE_SECONDS": "5", "CHIBO_HAND_GRACE_SECONDS": "60"})
    assert (settings.leave_grace_s, settings.hand_grace_s) == (5, 60)
    assert LiveSettings.from_env({}).leave_grace_s == 20
    with pytest.raises(SystemExit, match="CHIBO_LEAVE_GRACE_SECONDS"):
        LiveSettings.from_env({"CHIBO_LEAVE_GRACE_SECONDS": "soon"})
