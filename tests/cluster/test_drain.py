"""Two `chibo serve` processes on loopback sharing one PostgreSQL schema: the node that runs the meeting gets
SIGTERM while the clerk writes the minutes and members vote, round after round. It drains: the commands it
is running are answered, new ones are not taken, its leases are released and its clients are told to go;
they reconnect to the other node, resume from their last sequence number and send their unanswered
commands again with the same ids. Nothing is lost, nothing is there twice, and nobody is recorded as gone.

To hold the drain open long enough to look at it, the test locks the meeting's row in PostgreSQL just
before the signal: the command being appended waits on the lock, so it is "in the command executor" when
the drain begins, and it must still be answered by the draining node once the lock is let go."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import websockets
from sqlalchemy import Connection, create_engine, text

from meeting import journal
from meeting.auth import decode_access_token
from meeting.context import AppContext
from meeting.settings import Settings
from tests.cluster.nodes import Member, free_port, proxied_nodes, start_node, stop_nodes
from tests.conftest import TEST_SECRET
from tests.factories import SeededBranch, seed_branch
from tests.hub.conftest import FAST_LIVE, Client, serve_live, token

DRAIN_SECONDS = 10  # the bound the drain must keep; it ends long before unless a command is stuck
# Far longer than the test runs: the meeting can only have moved because the draining node let it go.
LEASE_SECONDS = 60
VOTERS = 6


def _http(method: str, url: str, bearer: str | None = None, body: dict | None = None) -> tuple[int, dict, Any]:
    """(status, headers, JSON body) of one request; an error status is an answer too."""
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return (
                answer.status,
                {k.lower(): v for k, v in answer.headers.items()},
                json.loads(answer.read() or b"null"),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read() or b"null")
    except OSError:  # nobody listens (any more)
        return 0, {}, None


@dataclass
class Outcome:
    clients: list[Member]
    hand: Member  # sends one command while the node drains
    at_signal: dict[str, str | None] = field(default_factory=dict)  # client -> command id waiting at SIGTERM
    door: list[dict] = field(default_factory=list)  # what a socket opened during the drain was sent
    door_close: int | None = None
    http_during: tuple[int, dict, Any] = (0, {}, None)
    ready_during: int = 0
    http_after: tuple[int, dict, Any] = (0, {}, None)
    exit_status: int | None = None
    lease_owner_after_exit: str | None = None
    rounds: int = 0
    entries: int = 0


class RowLock:
    """The meeting's row locked FOR UPDATE in a transaction of the test's own, as a slow disk or a long
    transaction would: a command appending to this meeting's journal waits until `release`."""

    def __init__(self, url: str, meeting_id: int) -> None:
        self.engine = create_engine(url)
        self.meeting_id = meeting_id
        self.connection: Connection | None = None
        self.pid = 0

    def take(self) -> None:
        self.connection = self.engine.connect()
        self.connection.begin()
        self.pid = self.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        self.connection.execute(text("SELECT id FROM meetings WHERE id = :m FOR UPDATE"), {"m": self.meeting_id})

    def waiting(self) -> int:
        """How many sessions wait on this lock (a node's command thread among them, once it appends)."""
        with self.engine.connect() as probe:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
            return probe.execute(query, {"pid": self.pid}).scalar_one()

    def release(self) -> None:
        if self.connection is not None:
            self.connection.rollback()
            self.connection.close()
            self.connection = None

    def dispose(self) -> None:
        self.release()
        self.engine.dispose()


async def _until(check, what: str, timeout: float = 30.0, every: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def _scenario(
    urls: list[str], http_urls: list[str], node_a: subprocess.Popen, branch: SeededBranch, lock: RowLock
) -> Outcome:
    meeting_id = branch.meeting_id
    item = branch.item_ids[0]

    def member(member_id: int, name: str) -> Member:
        return Member(name, urls, meeting_id, token(member_id, branch.branch_id))

    clerk, chair = member(branch.clerk, "clerk"), member(branch.chair, "chair")
    voters = [member(m, f"m{m}") for m in branch.officials[3 : 3 + VOTERS]]
    hand = member(branch.officials[3 + VOTERS], "hand")
    outcome = Outcome(clients=[clerk, chair, *voters, hand], hand=hand)
    await clerk.connect(prefer=0)  # node A takes the meeting
    for client in (chair, *voters, hand):
        await client.connect(prefer=1)  # node B sends them to A
    assert all(urls[0] in client.node_url for client in outcome.clients)
    for member_id in branch.officials[:3]:
        assert (
            await clerk.command(f"in-{member_id}", {"type": "check_in", "member_id": member_id, "mode": "in_person"})
        )["ok"]
    assert (await chair.command("start", {"type": "start_meeting"}))["ok"]
    assert (await chair.command("open", {"type": "open_item", "item_id": item}))["ok"]

    stop = asyncio.Event()

    async def write_minutes() -> None:
        while not stop.is_set():
            n = outcome.entries
            entry = {"type": "write_entry", "entry_id": f"e{n}", "item_id": item, "text": f"Ý kiến số {n}"}
            result = await clerk.command(f"w{n}", entry)
            assert result["ok"], result
            outcome.entries += 1

    async def cast(voter: Member, vote_id: str) -> None:
        for _attempt in range(100):
            result = await voter.command(
                f"ballot-{vote_id}", {"type": "cast_ballot", "vote_id": vote_id, "choice": "for"}
            )
            if result["ok"]:
                return
            assert result["error"]["code"] == "not_present", result  # presence still checking them in
            await asyncio.sleep(0.1)
        raise AssertionError(f"{voter.name} could not vote")

    async def vote_rounds() -> None:
        while not stop.is_set():
            k = outcome.rounds
            opened = await chair.command(
                f"open-v{k}", {"type": "open_vote", "vote_id": f"v{k}", "question": f"Biểu quyết {k}?"}
            )
            assert opened["ok"], opened
            await asyncio.gather(*(cast(voter, f"v{k}") for voter in voters))
            closed = await chair.command(f"close-v{k}", {"type": "close_vote", "vote_id": f"v{k}"})
            assert closed["ok"], closed
            outcome.rounds += 1

    async def drain_node_a() -> None:
        async def running() -> bool:
            return outcome.entries >= 10 and outcome.rounds >= 1

        await _until(running, "the minutes and the votes to be under way")
        await asyncio.to_thread(lock.take)

        async def stuck() -> bool:
            return await asyncio.to_thread(lock.waiting) >= 1

        await _until(stuck, "a command of node A to wait on the meeting's row")
        outcome.at_signal = {client.name: client.pending for client in outcome.clients}
        node_a.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            outcome.ready_during = (await asyncio.to_thread(_http, "GET", f"{http_urls[0]}/readyz"))[0]
            return outcome.ready_during == 503

        await _until(draining, "node A to start draining", timeout=10)
        # A member already connected sends a command now: node A must neither run nor answer it.
        hand_raised = asyncio.create_task(hand.command("hand", {"type": "raise_hand"}))
        # A new socket is not let in as a member: it is told to go elsewhere.
        door = await websockets.connect(f"{urls[0]}/ws/meetings/{meeting_id}", open_timeout=5)
        with contextlib.suppress(websockets.ConnectionClosed):  # it may be closed before the hello is out
            await door.send(json.dumps({"type": "hello", "token": token(branch.probationary, branch.branch_id)}))
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                outcome.door.append(json.loads(await asyncio.wait_for(door.recv(), 5)))
        outcome.door_close = door.close_code
        # An HTTP command gets a clear answer, which the client acts on by sending it again (below).
        probe = {
            "command_id": "probe",
            "command": {"type": "write_entry", "entry_id": "probe", "item_id": item, "text": "Đến trong lúc dừng"},
        }
        path = f"/api/meetings/{meeting_id}/commands"
        outcome.http_during = await asyncio.to_thread(
            _http, "POST", http_urls[0] + path, token(branch.clerk, branch.branch_id), probe
        )
        await asyncio.to_thread(lock.release)  # the command waiting on the row goes through, on node A
        outcome.exit_status = await asyncio.to_thread(node_a.wait, DRAIN_SECONDS + 20)
        with lock.engine.connect() as connection:
            outcome.lease_owner_after_exit = connection.execute(
                text("SELECT node_id FROM meeting_leases WHERE meeting_id = :m"), {"m": meeting_id}
            ).scalar()
        assert (await hand_raised)["ok"]
        outcome.http_after = await asyncio.to_thread(
            _http, "POST", http_urls[1] + path, token(branch.clerk, branch.branch_id), probe
        )
        # Work goes on on node B for a while before the test ends.
        entries, rounds = outcome.entries, outcome.rounds

        async def moved_on() -> bool:
            return outcome.entries >= entries + 10 and outcome.rounds >= rounds + 1

        await _until(moved_on, "the minutes and the votes to go on on node B")
        stop.set()

    await asyncio.gather(write_minutes(), vote_rounds(), drain_node_a())
    for client in outcome.clients:
        await client.close()
    return outcome


@pytest.mark.postgres
def test_sigterm_drains_the_owner_its_clients_move_and_nothing_is_lost(pg_schema_url, tmp_path):
    context = AppContext.create(Settings(database_url=pg_schema_url, secret_key=TEST_SECRET))
    branch = seed_branch(context.sessions, code="cb-drain", officials=4 + VOTERS)
    ports = [free_port(), free_port()]
    urls = [f"ws://127.0.0.1:{port}" for port in ports]
    http_urls = [f"http://127.0.0.1:{port}" for port in ports]
    settings = {
        "CHIBO_LEASE_SECONDS": str(LEASE_SECONDS),
        "CHIBO_DRAIN_SECONDS": str(DRAIN_SECONDS),
        "CHIBO_MEDIA": "off",
    }
    lock = RowLock(pg_schema_url, branch.meeting_id)
    nodes = [start_node("node-a", ports[0], pg_schema_url, tmp_path / "a", **settings)]
    try:
        nodes.append(start_node("node-b", ports[1], pg_schema_url, tmp_path / "b", **settings))
        outcome = asyncio.run(asyncio.wait_for(_scenario(urls, http_urls, nodes[0], branch, lock), timeout=180))
    finally:
        lock.dispose()
        stop_nodes(*nodes)
    with context.sessions() as session:
        verified = journal.verify(session, branch.meeting_id)
        recorded = journal.read(session, branch.meeting_id)
    context.engine.dispose()

    # Node A stopped by itself, cleanly, having let the meeting go (the lease would have held for a minute).
    assert outcome.exit_status == 0
    assert outcome.lease_owner_after_exit in (None, "node-b")
    # While it drained it said so: not ready, a new socket sent away with the same words as the others, an
    # HTTP command refused with a code the client retries on (not a 500).
    assert outcome.ready_during == 503
    assert outcome.door == [{"type": "resync", "reason": "server_shutdown"}]
    assert outcome.door_close == 1012
    status, headers, body = outcome.http_during
    assert status == 503 and body["error"]["code"] == "node_draining" and headers.get("retry-after") == "1"
    assert outcome.http_after[0] == 200, outcome.http_after

    # Every client connected to node A was told why, and came back on node B from where it was.
    for client in outcome.clients:
        assert client.sent_away[0] == ("server_shutdown", 1012), (client.name, client.sent_away)
        assert http_urls[1].replace("http", "ws") in client.node_url, client.name
        assert client.refused_at_door == [], client.name  # the lease was free: node B did not send it back to A
        assert client.snapshots == 1, client.name  # resumed from its last seq: no second snapshot
        assert client.gaps == [], (client.name, client.gaps)
    # The command waiting on the row when the signal came was answered by node A itself...
    waiting = [(client, cid) for client in outcome.clients if (cid := outcome.at_signal[client.name])]
    assert any(urls[0] in client.answered_by[cid] and client.sends[cid] == 1 for client, cid in waiting), waiting
    # ...and the one sent during the drain went unanswered there, was sent again and answered on node B.
    assert outcome.hand.sends["hand"] == 2 and urls[1] in outcome.hand.answered_by["hand"]

    # The journal: intact, gap-free, every command of every client in it exactly once.
    assert verified.valid, verified.problem
    assert [r.seq for r in recorded] == list(range(1, len(recorded) + 1))
    seqs_of: dict[str, list[int]] = defaultdict(list)
    for r in recorded:
        if r.command_id:
            seqs_of[r.command_id].append(r.seq)
    for client in outcome.clients:
        prefix = f"member:{decode_access_token(client.bearer, TEST_SECRET).member_id}/"
        for cid, acked in client.acked.items():
            # One append, the one acknowledged (whose seqs may also hold the journal's opening, by the system).
            assert seqs_of[prefix + cid] and set(seqs_of[prefix + cid]) <= set(acked), (client.name, cid)
        assert set(client.sends) == set(client.acked), client.name  # each command answered, all accepted
    assert seqs_of[f"member:{branch.clerk}/probe"] != []
    written = Counter(r.event.entry_id for r in recorded if r.event.type == "entry_written")
    assert set(written) == {f"e{n}" for n in range(outcome.entries)} | {"probe"} and max(written.values()) == 1
    ballots = Counter((r.event.vote_id, r.event.member_id) for r in recorded if r.event.type == "ballot_cast")
    assert len(ballots) == outcome.rounds * VOTERS and max(ballots.values()) == 1
    closed = [r.event for r in recorded if r.event.type == "vote_closed"]
    assert len(closed) == outcome.rounds and all(vote.votes_for == VOTERS for vote in closed)
    # Nobody was recorded as gone, and the member who knocked during the drain was not checked in there.
    assert [r for r in recorded if r.event.type == "left"] == []
    assert branch.probationary not in {r.event.member_id for r in recorded if r.event.type == "checked_in"}


async def test_a_drain_is_no_departure_but_records_one_already_under_way(context, branch):
    """In process, on both databases: the drain closes a member's socket, which is not a departure even once
    the grace period has long passed; a member who had dropped before the drain is recorded as gone at once,
    since the node that takes the meeting over never knew of them."""
    live = replace(FAST_LIVE, leave_grace_s=1.0, hand_grace_s=1.0)
    staying, dropped = branch.officials[3], branch.officials[4]
    async with serve_live(context, live) as server:
        await asyncio.to_thread(context.service.open, branch.meeting_id)
        phones = {}
        for member_id in (staying, dropped):
            phones[member_id] = await Client.connect(server, branch.meeting_id, token(member_id, branch.branch_id))
            await phones[member_id].until(
                lambda f, m=member_id: (
                    f["type"] == "event"
                    and f["event"]["event"]["type"] == "checked_in"
                    and f["event"]["event"]["member_id"] == m
                )
            )
        await phones[dropped].close()

        async def waiting_out_its_grace() -> bool:
            return (branch.meeting_id, dropped) in server.live.presence.timers

        await _until(waiting_out_its_grace, "the dropped member's grace period to start", timeout=5, every=0.01)
        await server.live.drain()
        assert await phones[staying].until(lambda f: f["type"] == "resync") == {
            "type": "resync",
            "reason": "server_shutdown",
        }
        with pytest.raises(websockets.ConnectionClosed):
            await phones[staying].recv()
        assert phones[staying].ws.close_code == 1012
        assert server.live.leases.held == set()
        await asyncio.sleep(live.leave_grace_s * 2)  # past the grace the staying member's closing would have had
        recorded = await asyncio.to_thread(context.service.events_after, branch.meeting_id, 0)
    attendance = [(r.event.type, r.event.member_id) for r in recorded if r.event.type in ("checked_in", "left")]
    assert attendance == [("checked_in", staying), ("checked_in", dropped), ("left", dropped)]


@pytest.mark.parametrize("path", ["/api/meetings/{m}/commands", "/web/meetings/{m}/open", "/web/meetings/{m}/checkin"])
def test_every_http_journal_write_is_turned_away_while_draining(context, branch, path):
    """Not only commands: opening the meeting and a check-in with the room's code write to the journal too."""
    from starlette.testclient import TestClient

    from meeting.app import create_app

    app = create_app(context=context)
    with TestClient(app) as client:
        app.state.live.draining = True
        answer = client.post(
            path.format(m=branch.meeting_id), json={}, headers={"Authorization": f"Bearer {token(branch.clerk, 1)}"}
        )
        app.state.live.draining = False
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "node_draining"
    assert context.service.events_after(branch.meeting_id, 0) == []


# Every WebSocket the page opens, in order (net.js opens them with `new WebSocket(url)`).
LOG_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.openedSockets = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      window.openedSockets.push(String(url));
    }
  };
})();
"""


@pytest.mark.postgres
def test_the_browser_client_follows_the_drain_to_the_other_node(pg_schema_url, tmp_path):
    """Behind the deployment's Caddyfile.nodes (tests/cluster/test_node_url.py): the clerk's console (net.js) runs
    on node a through node a's own prefix, with its first command held on the meeting's row when node a gets
    SIGTERM. Node a answers that command; the console's socket is told to go and comes back through the
    public address (not node a's prefix, which is going away) to node b; the command queued behind it, refused
    or unanswered on node a, is sent again with its id and applied once on node b."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    context = AppContext.create(Settings(database_url=pg_schema_url, secret_key=TEST_SECRET))
    branch = seed_branch(context.sessions, code="cb-drain-browser")
    clerk = token(branch.clerk, branch.branch_id)
    lock = RowLock(pg_schema_url, branch.meeting_id)
    settings = {"CHIBO_LEASE_SECONDS": str(LEASE_SECONDS), "CHIBO_DRAIN_SECONDS": str(DRAIN_SECONDS)}
    try:
        with proxied_nodes(tmp_path, pg_schema_url, **settings) as (proxy, nodes), sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = chromium.new_page()
                page.add_init_script(LOG_SOCKETS)
                page.goto(proxy + "/")
                page.evaluate(
                    """async ([meetingId, memberId, token]) => {
                        const until = async (check) => {
                            for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
                            if (!check()) throw new Error('timed out');
                        };
                        // A socket of the clerk's by node a's prefix: node a runs the meeting.
                        const owner = new WebSocket(`ws://${location.host}/node/a/ws/meetings/${meetingId}`);
                        let welcomed = false;
                        owner.onopen = () => owner.send(JSON.stringify({ type: 'hello', token, role: 'hall' }));
                        owner.onmessage = (event) => { welcomed ||= JSON.parse(event.data).type === 'welcome'; };
                        await until(() => welcomed);
                        const net = await import('/static/js/net.js');
                        net.saveSession(net.sessionFromToken(token));
                        const live = new net.LiveMeeting({ meetingId, client: 'clerk', memberId });
                        await live.start();
                        await until(() => live.hubUp);
                        window.live = live;
                    }""",
                    [branch.meeting_id, branch.clerk, clerk],
                )
                lock.take()
                page.evaluate(
                    """([first, second]) => {
                        const checkIn = (member_id) => ({ type: 'check_in', member_id, mode: 'in_person' });
                        window.answers = Promise.all([
                            live.send(checkIn(first), { commandId: 'first' }),
                            live.send(checkIn(second), { commandId: 'second' }),
                        ]);
                    }""",
                    branch.officials[2:4],
                )
                _wait(lambda: lock.waiting() >= 1, "the first command to wait on the meeting's row in node a")
                nodes["a"].send_signal(signal.SIGTERM)
                _wait(lambda: _http("GET", f"{proxy}/node/a/readyz")[0] == 503, "node a to start draining")
                lock.release()
                seen = page.evaluate(
                    """async () => {
                        const answers = await window.answers;
                        for (let i = 0; i < 300 && !(live.hubUp && live.pendingCount === 0); i++) {
                            await new Promise((r) => setTimeout(r, 50));
                        }
                        const posts = performance.getEntriesByType('resource')
                            .map((entry) => new URL(entry.name).pathname)
                            .filter((path) => path.endsWith('/commands'));
                        const result = {
                            answers: answers.map((answer) => answer.events.map((recorded) => recorded.event.type)),
                            sockets: window.openedSockets, posts, seq: live.seq, hubUp: live.hubUp,
                            redirect: live.redirectUrl, outbox: live.pendingCount,
                        };
                        live.stop();
                        return result;
                    }"""
                )
            finally:
                chromium.close()
            exit_status = nodes["a"].wait(timeout=DRAIN_SECONDS + 20)
    finally:
        lock.dispose()
    with context.sessions() as session:
        recorded = journal.read(session, branch.meeting_id)
    context.engine.dispose()

    assert exit_status == 0
    ws_proxy = proxy.replace("http://", "ws://")
    hub = f"/ws/meetings/{branch.meeting_id}"
    # The owner's socket, the console's (through the balancer to node b, sent to node a), and after the drain's
    # resync the console's next one: through the public address again, to node b, which runs the meeting now.
    assert seen["sockets"][:4] == [f"{ws_proxy}/node/a{hub}", ws_proxy + hub, f"{ws_proxy}/node/a{hub}", ws_proxy + hub]
    assert seen["hubUp"] and seen["redirect"] is None and seen["outbox"] == 0
    assert seen["answers"] == [["journal_opened", "checked_in"], ["checked_in"]]  # the first one opens the journal
    commands = f"/api/meetings/{branch.meeting_id}/commands"
    # The first: refused by node b (not the owner), applied by node a while it drained. The second: sent to
    # node a, then (refused there or nobody listening) again through the balancer to node b.
    assert seen["posts"][:3] == [commands, f"/node/a{commands}", f"/node/a{commands}"]
    assert seen["posts"][-1] == commands
    applied = Counter(r.command_id for r in recorded if r.command_id and r.actor != "system")  # not the opening
    assert applied[f"member:{branch.clerk}/first"] == applied[f"member:{branch.clerk}/second"] == 1
    checked_in = Counter(r.event.member_id for r in recorded if r.event.type == "checked_in")
    assert checked_in == Counter(branch.officials[2:4])
    assert seen["seq"] == recorded[-1].seq  # the console's state followed the journal across the move


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
