"""The live hub with real websockets clients on loopback."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from dataclasses import replace

import pytest
import websockets

from meeting.domain import Actor
from meeting.domain import commands as c
from signaling.protocol import MAX_FRAME_BYTES
from tests.hub.conftest import FAST_LIVE, Client, serve_live, sqlite_only, token


async def _open_first_item(server, branch) -> str:
    service = server.context.service
    clerk, chair = Actor.member(branch.clerk), Actor.member(branch.chair)
    for member_id in branch.officials[:2]:
        await service.execute_async(branch.meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    await service.execute_async(branch.meeting_id, c.StartMeeting(), chair)
    item = branch.item_ids[0]
    await service.execute_async(branch.meeting_id, c.OpenItem(item_id=item), chair)
    return item


def _entry(item: str, n: int, text: str = "Ý kiến") -> dict:
    return {"type": "write_entry", "entry_id": f"e{n}", "item_id": item, "text": f"{text} {n}"}


async def test_every_client_receives_every_event_in_sequence_order(live_server, branch):
    item = await _open_first_item(live_server, branch)
    clerk = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id))
    watchers = [
        await Client.connect(live_server, branch.meeting_id, token(m, branch.branch_id))
        for m in (branch.chair, branch.officials[2], branch.officials[3])
    ]
    for client in (clerk, *watchers):
        assert (await client.recv())["type"] == "welcome"
        assert (await client.recv())["type"] == "snapshot"
    for n in range(15):
        assert (await clerk.command(f"c{n}", _entry(item, n)))["ok"] is True
    state, final = live_server.context.service.state(branch.meeting_id)
    for client in (clerk, *watchers):
        await client.until_seq(final)
        seqs = client.event_seqs()
        # Presence check-ins of the watchers are events too: whatever came, it came once and in order.
        head = client.frames[0]["seq"]  # the snapshot it started from
        assert seqs == list(range(head + 1, final + 1))
        await client.close()
    assert len(state.minutes) == 15


async def test_reconnect_with_last_seq_gets_exactly_what_was_missed(live_server, branch):
    item = await _open_first_item(live_server, branch)
    clerk = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id))
    reader = await Client.connect(live_server, branch.meeting_id, token(branch.officials[2], branch.branch_id))
    await reader.until(lambda f: f["type"] == "snapshot")
    await clerk.until(lambda f: f["type"] == "snapshot")
    await clerk.command("a", _entry(item, 1))
    seen = (await reader.until(lambda f: f["type"] == "event" and f["event"]["event"]["type"] == "entry_written"))[
        "seq"
    ]
    await reader.ws.close()  # forced disconnect
    for n in range(2, 7):
        await clerk.command(f"b{n}", _entry(item, n))
    back = await Client.connect(
        live_server, branch.meeting_id, token(branch.officials[2], branch.branch_id), last_seq=seen
    )
    welcome = await back.recv()
    assert welcome["type"] == "welcome"
    await back.until_seq(welcome["seq"])
    await clerk.command("c7", _entry(item, 7))
    _, final = live_server.context.service.state(branch.meeting_id)
    await back.until_seq(final)
    assert back.event_seqs() == list(range(seen + 1, final + 1))  # no gap, no duplicate
    await back.close()
    await clerk.close()


async def test_a_retried_command_is_applied_once(live_server, branch):
    item = await _open_first_item(live_server, branch)
    clerk = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id))
    first = await clerk.command("same-id", _entry(item, 1))
    again = await clerk.command("same-id", _entry(item, 1))
    assert first["ok"] and again["ok"] and first["seqs"] == again["seqs"]
    # The same id from another member is a different command (ids are kept per member).
    other = await Client.connect(live_server, branch.meeting_id, token(branch.chair, branch.branch_id))
    refused = await other.command("same-id", _entry(item, 1))
    assert refused["ok"] is False and refused["error"]["code"] == "clerk_only"
    state, _ = live_server.context.service.state(branch.meeting_id)
    assert len(state.minutes) == 1
    await clerk.close()
    await other.close()


@sqlite_only
async def test_a_slow_client_is_dropped_and_never_delays_the_others(context, branch):
    # Nothing heard from the slow client for a long while must not be what ends it: only its full queue.
    async with serve_live(context, replace(FAST_LIVE, idle_timeout_s=120), send_buffer=16384) as server:
        await _slow_client_scenario(server, branch)


async def _slow_client_scenario(server, branch) -> None:
    item = await _open_first_item(server, branch)
    clerk = await Client.connect(server, branch.meeting_id, token(branch.clerk, branch.branch_id))
    await clerk.until(lambda f: f["type"] == "snapshot")
    # The slow one reads nothing, on a socket with a tiny receive buffer: a phone on a stalled link.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    slow = await Client.connect(
        server,
        branch.meeting_id,
        token(branch.officials[2], branch.branch_id),
        sock=sock,
        max_queue=1,
        compression=None,
    )
    for _ in range(100):
        if server.connections(branch.meeting_id) == 2:
            break
        await asyncio.sleep(0.05)
    # Long minute entries, three bytes a character: ~30 kB each on the wire.
    rng = random.Random(7)
    long_text = "".join(rng.choice("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ") for _ in range(10000))
    sent = 0
    while server.connections(branch.meeting_id) == 2:  # until the hub gives up on the slow one
        assert sent < 300, "the slow client was never dropped"
        assert (await clerk.command(f"s{sent}", _entry(item, sent, long_text)))["ok"]
        sent += 1
    for n in range(sent, sent + 10):  # the others go on at full speed
        assert (await clerk.command(f"s{n}", _entry(item, n, long_text)))["ok"]
    _, final = server.context.service.state(branch.meeting_id)
    await clerk.until_seq(final, timeout=20)
    assert clerk.event_seqs()[-1] == final
    # When the slow client reads again it gets what its socket held, then "resync" and the close code 4008.
    frames = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            frames.append(json.loads(await asyncio.wait_for(slow.ws.recv(), 10)))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert frames[-1] == {"type": "resync", "reason": "too_slow"}
    received = [f["seq"] for f in frames if f["type"] == "event"]
    assert received == sorted(set(received)) and received[-1] < final  # in order, and cut off before the end
    await clerk.close()


@sqlite_only
async def test_malformed_and_oversized_frames_get_an_error_and_the_connection_lives(live_server, branch):
    member = await Client.connect(live_server, branch.meeting_id, token(branch.officials[2], branch.branch_id))
    await member.until(lambda f: f["type"] == "snapshot")
    for bad in ("not json", "[1,2]", '{"type":"dance"}', '{"type":"command","id":"x"}', "x" * (MAX_FRAME_BYTES + 1)):
        await member.ws.send(bad)
        error = await member.until(lambda f: f["type"] == "error")
        assert error["error"]["code"] == "bad_frame" and error["error"]["message_en"]
    bad_command = await member.command("k1", {"type": "cast_ballot", "vote_id": "v", "choice": "maybe"})
    assert bad_command["ok"] is False and bad_command["error"]["code"] == "bad_frame"
    await member.ws.send('{"type":"ping"}')
    assert (await member.until(lambda f: f["type"] == "pong"))["type"] == "pong"
    await member.close()


async def test_wrong_branch_token_is_refused(live_server, context, branch):
    from tests.factories import seed_branch

    other = seed_branch(context.sessions, code="cb-other")
    stranger = await Client.connect(live_server, branch.meeting_id, token(other.officials[2], other.branch_id))
    frame = await stranger.recv()
    assert frame["type"] == "error" and frame["error"]["code"] == "not_found"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await stranger.recv()
    assert closed.value.rcvd.code == 4004


@sqlite_only
async def test_expired_and_foreign_tokens_are_refused_with_their_reason(live_server, branch):
    from datetime import UTC, datetime, timedelta

    from meeting.auth import Principal, issue_access_token, issue_invite_token
    from tests.conftest import TEST_SECRET

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    expired = issue_access_token(
        Principal(None, branch.officials[2], branch.branch_id, "member"), TEST_SECRET, now=long_ago
    )
    other_meeting = issue_invite_token(
        meeting_id=branch.meeting_id + 1000,
        member_id=branch.officials[2],
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    for bearer, code, close in (
        (expired, "token_expired", 4001),
        (other_meeting, "not_found", 4004),
        ("not-a-token-at-all", "token_invalid", 4001),
    ):
        client = await Client.connect(live_server, branch.meeting_id, bearer)
        frame = await client.recv()
        assert frame["type"] == "error" and frame["error"]["code"] == code
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.recv()
        assert closed.value.rcvd.code == close


@sqlite_only
async def test_nothing_is_accepted_before_hello(live_server, branch):
    ws = await websockets.connect(live_server.ws_url(branch.meeting_id))
    await ws.send(json.dumps({"type": "command", "id": "x", "command": {"type": "start_meeting"}}))
    frame = json.loads(await ws.recv())
    assert frame["error"]["code"] == "hello_first"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd.code == 4001
    silent = await websockets.connect(live_server.ws_url(branch.meeting_id))  # says nothing at all
    frame = json.loads(await asyncio.wait_for(silent.recv(), 5))
    assert frame["error"]["code"] == "hello_first"


@sqlite_only
async def test_invite_token_connects_to_its_meeting(live_server, branch):
    from datetime import UTC, datetime, timedelta

    from meeting.auth import issue_invite_token
    from tests.conftest import TEST_SECRET

    invite = issue_invite_token(
        meeting_id=branch.meeting_id,
        member_id=branch.officials[4],
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    member = await Client.connect(live_server, branch.meeting_id, invite)
    assert (await member.recv())["member_id"] == branch.officials[4]
    await member.close()


async def test_remote_member_is_checked_in_and_a_blip_is_not_an_absence(live_server, branch):
    live_server.context.service.open(branch.meeting_id)  # the clerk's console opens the meeting for check-in
    watcher = await Client.connect(live_server, branch.meeting_id, token(branch.chair, branch.branch_id))
    await watcher.until(lambda f: f["type"] == "snapshot")
    member_id = branch.officials[3]

    def is_event(kind):
        return lambda f: (
            f["type"] == "event"
            and f["event"]["event"]["type"] == kind
            and f["event"]["event"]["member_id"] == member_id
        )

    phone = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))
    checked_in = await watcher.until(is_event("checked_in"))
    assert checked_in["event"]["event"]["mode"] == "remote" and checked_in["event"]["actor"] == "system"
    await phone.ws.close()
    phone = await Client.connect(live_server, branch.meeting_id, token(member_id, branch.branch_id))  # back in 0.1 s
    await phone.until(lambda f: f["type"] == "snapshot")
    await asyncio.sleep(0.7)  # longer than the grace period
    state, _ = live_server.context.service.state(branch.meeting_id)
    assert state.is_present(member_id)
    assert not [f for f in watcher.frames if is_event("left")(f)]
    await phone.ws.close()  # gone for good this time
    left = await watcher.until(is_event("left"), timeout=5)
    assert left["event"]["actor"] == "system"
    await watcher.close()


@sqlite_only
async def test_hall_station_needs_the_chair_or_clerk(live_server, branch):
    member = await Client.connect(
        live_server, branch.meeting_id, token(branch.officials[2], branch.branch_id), role="hall"
    )
    frame = await member.recv()
    assert frame["error"]["code"] == "hall_not_allowed"
    hall = await Client.connect(live_server, branch.meeting_id, token(branch.clerk, branch.branch_id), role="hall")
    welcome = await hall.recv()
    assert welcome["type"] == "welcome" and welcome["role"] == "hall"
    # Its commands act as the clerk whose token opened it, with the clerk's rights and no more.
    refused = await hall.command("h1", {"type": "start_meeting"})
    assert refused["ok"] is False and refused["error"]["code"] == "chair_only"
    await hall.close()
