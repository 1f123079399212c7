"""Sequence order under concurrency: several writers at once, and readers that reconnect while events flow."""

from __future__ import annotations

import asyncio
import contextlib

from meeting.domain import Actor
from meeting.domain import commands as c
from tests.hub.conftest import Client, token


async def _started(server, branch) -> str:
    service = server.context.service
    clerk, chair = Actor.member(branch.clerk), Actor.member(branch.chair)
    for member_id in branch.officials:
        await service.execute_async(branch.meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    await service.execute_async(branch.meeting_id, c.StartMeeting(), chair)
    item = branch.item_ids[0]
    await service.execute_async(branch.meeting_id, c.OpenItem(item_id=item), chair)
    return item


async def test_concurrent_writers_every_client_sees_the_journal_in_order(live_server, branch):
    item = await _started(live_server, branch)
    connect = [
        Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id), role="hall")
        for member_id in (branch.chair, branch.clerk)
    ]
    connect += [
        Client.connect(live_server, branch.meeting_id, token(m, branch.branch_id)) for m in branch.officials[2:]
    ]
    chair, clerk, *members = await asyncio.gather(*connect)
    everyone = [chair, clerk, *members]
    for client in everyone:
        await client.until(lambda f: f["type"] == "snapshot")

    async def clerk_writes() -> None:
        for n in range(12):
            answer = await clerk.command(
                f"w{n}", {"type": "write_entry", "entry_id": f"e{n}", "item_id": item, "text": f"Ý kiến {n}"}
            )
            assert answer["ok"], answer

    async def member_hands(member: Client, name: str) -> None:
        for n in range(4):
            for kind in ("raise_hand", "lower_hand"):
                answer = await member.command(f"{name}-{kind}-{n}", {"type": kind})
                assert answer["ok"], answer

    async def chair_floor() -> None:
        for n in range(3):  # the chair's console (a hall connection) grants and revokes the floor
            granted = await chair.command(f"g{n}", {"type": "grant_floor", "member_id": branch.officials[2]})
            assert granted["ok"], granted
            assert (await chair.command(f"r{n}", {"type": "revoke_floor"}))["ok"]

    await asyncio.gather(clerk_writes(), chair_floor(), *(member_hands(m, f"m{i}") for i, m in enumerate(members[1:])))

    recorded = await asyncio.to_thread(live_server.context.service.events_after, branch.meeting_id, 0)
    final = recorded[-1].seq
    hashes = {r.seq: r.hash for r in recorded}
    for client in everyone:
        await client.until_seq(final)
        start = next(f["seq"] for f in client.frames if f["type"] == "snapshot")
        events = [f for f in client.frames if f["type"] == "event"]
        assert [f["seq"] for f in events] == list(range(start + 1, final + 1))  # no gap, no duplicate, in order
        assert all(f["event"]["hash"] == hashes[f["seq"]] for f in events)  # and the journal's own events
    # Each command's result came after its own events on the sender's connection.
    for member in everyone:
        for frame in (f for f in member.frames if f["type"] == "result"):
            where = member.frames.index(frame)
            seen = {f["seq"] for f in member.frames[:where] if f["type"] == "event"}
            assert set(frame["seqs"]) <= seen
    await asyncio.gather(*(client.close() for client in everyone))


async def test_reconnecting_while_events_flow_loses_and_repeats_nothing(live_server, branch):
    item = await _started(live_server, branch)
    clerk = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id))
    await clerk.until(lambda f: f["type"] == "snapshot")
    stop = asyncio.Event()

    async def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            command = {"type": "write_entry", "entry_id": f"e{n}", "item_id": item, "text": f"Ý kiến {n}"}
            assert (await clerk.command(f"w{n}", command))["ok"]
            n += 1

    writer = asyncio.create_task(keep_writing())
    reader_token = token(branch.officials[2], branch.branch_id)
    first = await Client.connect(live_server, branch.meeting_id, reader_token)
    await first.until(lambda f: f["type"] == "snapshot")
    applied = [next(f["seq"] for f in first.frames if f["type"] == "snapshot")]  # what the reader has, in order
    client = first
    try:
        for _ in range(6):
            with contextlib.suppress(TimeoutError):
                await client.until(lambda f: False, timeout=0.15)  # reads (and applies) for a while
            applied += [f["seq"] for f in client.frames if f["type"] == "event"]
            await client.ws.close()  # forced disconnect in the middle of the traffic
            client = await Client.connect(live_server, branch.meeting_id, reader_token, last_seq=applied[-1])
            assert (await client.recv())["type"] == "welcome"
    finally:
        stop.set()
        await asyncio.wait_for(writer, 10)
    _, final = live_server.context.service.state(branch.meeting_id)
    if applied[-1] < final:  # else the last connection had nothing left to catch up
        await client.until_seq(final)
    applied += [f["seq"] for f in client.frames if f["type"] == "event"]
    assert applied == list(range(applied[0], final + 1))
    assert final - applied[0] > 10  # events really were flowing while the reader came and went
    await client.close()
    await clerk.close()
