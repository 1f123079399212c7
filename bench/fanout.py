"""Fan-out benchmark: latency from a chair's command to its event at every client, and deliveries per second.

Scenarios: 1 meeting x 200 clients and 100 meetings x 30 clients. For each, side by side in the same run:
  - chibo: `chibo serve` in its own process (the whole app, the real journal and hub; SQLite file by default,
    a PostgreSQL schema with --database postgresql);
  - bare: a `websockets` server in its own process that broadcasts each command to the room as an event frame of
    the same shape and size, doing no other work: the ceiling for this machine and this client harness.
The clients (all of them) run in one more process. Two phases per scenario:
  - paced: every chair sends one command per second (grant / revoke the floor): latency p50 / p90 / p99 / max;
  - saturated: every chair sends its next command as soon as the previous one is answered: deliveries/s.
The server's CPU time is read at the start and end of each phase (not during the connection storm).

Prints one JSON object. Usage: python bench/fanout.py [--quick] [--scenario 1x200|100x30|all]
                                                     [--database sqlite|postgresql]

Measured (2 cores, full runs, median of 3, each ratio against the bare server of the same run; load average
0.6-2.3, mostly these runs), 100 x 30:
  - SQLite:     p99 10.5 ms, 15,100 deliveries/s = 0.49 of bare (0.49-0.56); server CPU 63 ms per 1000 deliveries;
  - PostgreSQL: p99  8.2 ms, 14,300 deliveries/s = 0.39 of bare (0.39-0.50); server CPU 64 ms per 1000 deliveries.
Before the command path was cut (issue 3: a dedupe SELECT and row reads per command, an ORM flush per table) the
same runs gave p99 24.9 / 26.9 ms and 8,400 / 6,100 deliveries/s = 0.27 / 0.21 of bare. At 1 x 200 chibo delivers
more than the bare server (ratio 0.9-2.1), so there the ratio says little; p99 14.5 ms (SQLite), 12.5 ms (PostgreSQL).
What one command costs in process: bench/command.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import PG_URL, SECRET, pg_schema  # noqa: E402 (bench/ is the script's own folder)


# -- set-up: meetings that are running, with every member checked in ----------------------------------------------
def prepare(database_url: str, meetings: int, per_meeting: int) -> list[dict]:
    from meeting.auth import Principal, issue_access_token
    from meeting.context import AppContext
    from meeting.db.models import Branch, Member
    from meeting.domain import Actor
    from meeting.domain import commands as c
    from meeting.planning import create_meeting
    from meeting.settings import Settings

    context = AppContext.create(Settings(database_url=database_url, secret_key=SECRET))
    specs = []
    with context.sessions.begin() as session:
        for index in range(meetings):
            branch = Branch(name=f"Chi bộ {index}", code=f"bench-{index}")
            session.add(branch)
            session.flush()
            members = [
                Member(branch_id=branch.id, full_name=f"Đảng viên {k}", category="official") for k in range(per_meeting)
            ]
            session.add_all(members)
            session.flush()
            meeting = create_meeting(
                session,
                branch_id=branch.id,
                kind="regular",
                title="Bench",
                scheduled_at=datetime.now(UTC),
                chair_id=members[0].id,
                clerk_id=members[1].id,
            )
            specs.append({"meeting_id": meeting.id, "branch_id": branch.id, "members": [m.id for m in members]})
    for spec in specs:
        chair, clerk = Actor.member(spec["members"][0]), Actor.member(spec["members"][1])
        for member_id in spec["members"]:
            context.service.execute(spec["meeting_id"], c.CheckIn(member_id=member_id, mode="in_person"), clerk)
        context.service.execute(spec["meeting_id"], c.StartMeeting(), chair)
        first_item = context.service.state(spec["meeting_id"])[0].agenda[0].id
        context.service.execute(spec["meeting_id"], c.OpenItem(item_id=first_item), chair)
        spec["tokens"] = [
            issue_access_token(Principal(None, m, spec["branch_id"], "member"), SECRET, minutes=120)
            for m in spec["members"]
        ]
    context.engine.dispose()
    return specs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the bare ceiling: a broadcast server doing no work -------------------------------------------------------------
BARE_HASH = "0" * 64


async def bare_server(port: int) -> None:
    """Each command becomes an event frame of the same shape and size as chibo's, sent to the room."""
    import websockets

    rooms: dict[str, set] = {}
    counters: dict[str, int] = {}

    async def handler(ws) -> None:
        room = ws.request.path
        rooms.setdefault(room, set()).add(ws)
        try:
            frame = json.loads(await ws.recv())  # hello
            await ws.send(json.dumps({"type": "welcome", "v": 1, "seq": 0}))
            await ws.send(json.dumps({"type": "snapshot", "seq": 0, "state": {}}))
            async for text in ws:
                frame = json.loads(text)
                if frame.get("type") != "command":
                    continue
                counters[room] = seq = counters.get(room, 0) + 1
                recorded = {
                    "meeting_id": 1,
                    "seq": seq,
                    "actor": "member:1",
                    "command_id": f"member:1/{frame['id']}",
                    "event": {**frame["command"], "at": datetime.now(UTC).isoformat(), "by": None},
                    "hash": BARE_HASH,
                }
                websockets.broadcast(rooms[room], json.dumps({"type": "event", "seq": seq, "event": recorded}))
                await ws.send(json.dumps({"type": "result", "id": frame["id"], "ok": True, "seqs": [seq]}))
        except websockets.ConnectionClosed:
            pass
        finally:
            rooms[room].discard(ws)

    # Like `chibo serve`: no per-message deflate.
    async with websockets.serve(handler, "127.0.0.1", port, max_size=2**20, compression=None, ping_interval=None):
        await asyncio.Future()


# -- the clients ----------------------------------------------------------------------------------------------------
def marker(text: str) -> None:
    """Tell the parent process where the client is (it samples the server's CPU time at these points)."""
    print(text, flush=True)


async def run_clients(url: str, specs: list[dict], paced_s: float, saturated_s: float) -> dict:
    import websockets

    loop = asyncio.get_running_loop()
    sent: dict[str, float] = {}  # command id -> when the chair sent it
    latencies: list[float] = []  # ms, one per (command, client) in the paced phase
    phase = {"name": "connect"}
    deliveries = {"paced": 0, "saturated": 0}

    def received(text: str, now: float) -> dict | None:
        frame = json.loads(text)
        if frame["type"] == "event":
            command_id = (frame["event"].get("command_id") or "").rsplit("/", 1)[-1]
            if command_id in sent:
                if phase["name"] in deliveries:
                    deliveries[phase["name"]] += 1
                if phase["name"] == "paced":
                    latencies.append((now - sent[command_id]) * 1000)
        return frame

    async def listen(ws) -> None:
        try:
            async for text in ws:
                frame = received(text, loop.time())
                if frame["type"] == "ping":
                    await ws.send('{"type":"pong"}')
        except websockets.ConnectionClosed:
            pass

    async def connect(spec: dict, index: int):
        ws = await websockets.connect(
            f"{spec.get('url', url)}/ws/meetings/{spec['meeting_id']}",  # bench/scale.py spreads meetings on nodes
            max_size=2**22,
            open_timeout=120,
            compression=None,
        )
        await ws.send(json.dumps({"type": "hello", "v": 1, "token": spec["tokens"][index], "last_seq": None}))
        while json.loads(await ws.recv())["type"] != "snapshot":
            pass
        return ws

    sockets: list[list] = []
    for spec in specs:
        group = []
        for start in range(0, len(spec["tokens"]), 50):
            group += await asyncio.gather(
                *(connect(spec, i) for i in range(start, min(start + 50, len(spec["tokens"]))))
            )
        sockets.append(group)
    listeners = [loop.create_task(listen(ws)) for group in sockets for ws in group[1:]]

    async def chair(spec: dict, ws, until: float, paced: bool, offset: float) -> None:
        """The chair's socket: grant the floor, revoke it, again; its own events count like everyone's."""
        await asyncio.sleep(offset)
        n = 0
        target = spec["members"][2]
        while loop.time() < until:
            n += 1
            command_id = f"b{spec['meeting_id']}-{phase['name'][0]}{n}"
            command = {"type": "grant_floor", "member_id": target} if n % 2 else {"type": "revoke_floor"}
            sent[command_id] = loop.time()
            await ws.send(json.dumps({"type": "command", "id": command_id, "command": command}))
            while True:
                frame = received(await ws.recv(), loop.time())
                if frame["type"] == "ping":
                    await ws.send('{"type":"pong"}')
                if frame["type"] == "result" and frame["id"] == command_id:
                    if not frame["ok"]:
                        raise RuntimeError(f"command refused: {frame}")
                    break
            if paced:
                await asyncio.sleep(max(0.0, sent[command_id] + 1.0 - loop.time()))

    durations = {}
    for name, seconds, paced in (("paced", paced_s, True), ("saturated", saturated_s, False)):
        phase["name"] = name
        marker(f"start {name}")
        start = loop.time()
        until = start + seconds
        await asyncio.gather(
            *(
                chair(spec, group[0], until, paced, (i % 100) / 100.0 if paced else 0)
                for i, (spec, group) in enumerate(zip(specs, sockets, strict=True))
            )
        )
        await asyncio.sleep(0.5)  # the last events arrive
        durations[name] = loop.time() - start
        marker(f"end {name}")
    phase["name"] = "done"
    for task in listeners:
        task.cancel()
    for group in sockets:
        await asyncio.gather(*(ws.close() for ws in group), return_exceptions=True)

    latencies.sort()

    def pct(p: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else None

    return {
        "clients": sum(len(group) for group in sockets),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p90": pct(0.90),
        "latency_ms_p99": pct(0.99),
        "latency_ms_max": round(latencies[-1], 2) if latencies else None,
        "latency_samples": len(latencies),
        "paced_deliveries_per_s": round(deliveries["paced"] / durations["paced"], 1),
        "saturated_deliveries_per_s": round(deliveries["saturated"] / durations["saturated"], 1),
        "saturated_deliveries": deliveries["saturated"],
    }


def run_client_process(url: str, specs: list[dict], paced_s: float, saturated_s: float, server_pid: int) -> dict:
    """The clients in their own process; the server's CPU time is read at the start and end of each phase."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"url": url, "specs": specs, "paced_s": paced_s, "saturated_s": saturated_s}, handle)
    out = handle.name + ".out"
    cpu: dict[str, float] = {}
    with subprocess.Popen(
        [sys.executable, __file__, "--client", handle.name, out], stdout=subprocess.PIPE, text=True
    ) as clients:
        assert clients.stdout is not None
        for line in clients.stdout:
            what, name = line.split()
            cpu[f"{what} {name}"] = cpu_seconds(server_pid)
        if clients.wait(timeout=900) != 0:
            raise RuntimeError("the client process failed")
    result = json.loads(Path(out).read_text())
    for name in ("paced", "saturated"):
        result[f"server_cpu_s_{name}"] = round(cpu[f"end {name}"] - cpu[f"start {name}"], 2)
    saturated_cpu = result["server_cpu_s_saturated"]
    result["server_cpu_ms_per_1000_deliveries"] = round(1e6 * saturated_cpu / max(result["saturated_deliveries"], 1), 1)
    return result


@contextlib.contextmanager
def database(kind: str, name: str, workdir: Path) -> Iterator[str]:
    """A fresh database for one scenario: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / name}.db"
        return
    with pg_schema(f"bench_fanout_{name}") as schema:
        yield schema.url


def scenario(
    name: str, meetings: int, per_meeting: int, paced_s: float, saturated_s: float, workdir: Path, kind: str
) -> dict:
    with database(kind, name, workdir) as url:
        return run_scenario(url, meetings, per_meeting, paced_s, saturated_s, workdir)


def run_scenario(url: str, meetings: int, per_meeting: int, paced_s: float, saturated_s: float, workdir: Path) -> dict:
    specs = prepare(url, meetings, per_meeting)
    figures = {}
    # chibo, as deployed: `chibo serve` (uvicorn, the whole app, the journal in the database)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CHIBO_SECRET_KEY": SECRET,
        "CHIBO_DATA_DIR": str(workdir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "meeting.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # this script's own output is the JSON report alone
    )
    try:
        wait_port(port)
        figures["chibo"] = run_client_process(f"ws://127.0.0.1:{port}", specs, paced_s, saturated_s, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    # bare ceiling
    port = free_port()
    bare = subprocess.Popen([sys.executable, __file__, "--bare-server", str(port)], cwd=ROOT)
    try:
        wait_port(port)
        figures["bare"] = run_client_process(f"ws://127.0.0.1:{port}", specs, paced_s, saturated_s, bare.pid)
    finally:
        bare.kill()
        bare.wait()
    figures["ratio_of_bare_saturated_rate"] = round(
        figures["chibo"]["saturated_deliveries_per_s"] / max(figures["bare"]["saturated_deliveries_per_s"], 1e-9), 3
    )
    return figures


SCENARIOS = {"1x200": ("one", 1, 200), "100x30": ("many", 100, 30)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter phases (4 s paced, 3 s saturated)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--client", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        asyncio.run(bare_server(args.bare_server))
        return
    if args.client:
        spec = json.loads(Path(args.client[0]).read_text())
        result = asyncio.run(run_clients(spec["url"], spec["specs"], spec["paced_s"], spec["saturated_s"]))
        Path(args.client[1]).write_text(json.dumps(result))
        return
    paced_s, saturated_s = (4.0, 3.0) if args.quick else (12.0, 6.0)
    chosen = SCENARIOS if args.scenario == "all" else {args.scenario: SCENARIOS[args.scenario]}
    report: dict = {
        "benchmark": "fanout",
        "machine_cores": os.cpu_count(),
        "database": args.database if args.database == "sqlite" else f"postgresql ({PG_URL.split('@')[-1]})",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "paced_s": paced_s,
        "saturated_s": saturated_s,
        "note": (
            "server, bare server and all clients share this machine; the clients run in one process. "
            "Latency: chair's command sent -> its event parsed at every client of the meeting (paced phase: "
            "each chair one command a second). Deliveries: events parsed per second by all clients together "
            "(saturated phase: each chair sends its next command when the previous one is answered)."
        ),
    }
    with tempfile.TemporaryDirectory() as workdir:
        for label, (name, meetings, per_meeting) in chosen.items():
            report[label] = scenario(name, meetings, per_meeting, paced_s, saturated_s, Path(workdir), args.database)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
