"""Bench: a node killed with SIGKILL and started again with default settings (no CHIBO_NODE_ID), on PostgreSQL.

One `chibo serve` on loopback runs a live meeting (its clerk connected over the WebSocket, writing the minutes). Each
run kills it, starts it again on the same data directory (so with the same node id, kept in `<data dir>/node-id`)
and measures: from the kill to `/readyz` answering 200 (the process starting: imports, schema check), and from that
readiness to the first command answered (a new WebSocket: hello, catch-up, one `write_entry` and its result), with
the redirect frames and refusals at the door that the client met on the way. Prints one JSON object (medians and
each run's figures).

    .venv/bin/python bench/restart.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import SECRET, pg_schema  # noqa: E402

from meeting.auth import Principal, issue_access_token  # noqa: E402
from meeting.context import AppContext  # noqa: E402
from meeting.settings import Settings  # noqa: E402
from tests.factories import seed_branch  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Longer than the default 10 s, so that a dead process's lease cannot lapse while the node restarts (which takes
# several seconds on a loaded machine) and hide a node that would not know its own leases.
LEASE_SECONDS = "30"


def start(port: int, database_url: str, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIBO_")}
    env.update(
        DATABASE_URL=database_url,
        CHIBO_SECRET_KEY=SECRET,
        CHIBO_DATA_DIR=str(data_dir),
        CHIBO_LEASE_SECONDS=LEASE_SECONDS,
        CHIBO_MEDIA="off",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "meeting.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(port: int, node: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and node.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("the node did not become ready")


async def first_answer(url: str, bearer: str, entry: dict, timeout: float = 30.0) -> dict[str, int]:
    """Connect (following redirects, retrying a refusal at the door after a back-off), send one command, wait for
    its result. Returns what the client met on the way."""
    met = {"redirects": 0, "refused_at_door": 0}
    target = url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with websockets.connect(target, open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "hello", "token": bearer, "last_seq": None}))
            first = json.loads(await ws.recv())
            if first["type"] == "redirect":
                met["redirects"] += 1
                target = first["url"]
                continue
            if first["type"] != "welcome":
                met["refused_at_door"] += 1
                await asyncio.sleep(0.5)
                continue
            await ws.send(json.dumps({"type": "command", "id": entry["entry_id"], "command": entry}))
            async for text in ws:
                frame = json.loads(text)
                if frame["type"] == "result" and frame["id"] == entry["entry_id"]:
                    if not frame["ok"]:
                        raise RuntimeError(frame)
                    return met
    raise TimeoutError("no answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs: list[dict[str, float | int]] = []
    with pg_schema("restart") as schema, tempfile.TemporaryDirectory() as folder:
        context = AppContext.create(Settings(database_url=schema.url, secret_key=SECRET))
        branch = seed_branch(context.sessions, code="cb-bench-restart")
        context.engine.dispose()
        bearer = issue_access_token(Principal(None, branch.clerk, branch.branch_id, "member"), SECRET)
        port = free_port()
        url = f"ws://127.0.0.1:{port}/ws/meetings/{branch.meeting_id}"
        data_dir = Path(folder) / "data"
        node = start(port, schema.url, data_dir)
        try:
            wait_ready(port, node)
            item = branch.item_ids[0]
            entry = {"type": "write_entry", "entry_id": "warm", "item_id": item, "text": "Mở đầu"}
            asyncio.run(first_answer(url, bearer, entry))  # the node now holds the meeting's lease
            for run in range(args.runs):
                node.send_signal(signal.SIGKILL)
                node.wait()
                killed = time.monotonic()
                node = start(port, schema.url, data_dir)
                wait_ready(port, node)
                ready = time.monotonic()
                entry = {"type": "write_entry", "entry_id": f"r{run}", "item_id": item, "text": f"Lần {run}"}
                met = asyncio.run(first_answer(url, bearer, entry))
                answered = time.monotonic()
                runs.append(
                    {
                        "kill_to_ready_s": round(ready - killed, 3),
                        "ready_to_first_answer_s": round(answered - ready, 3),
                        **met,
                    }
                )
        finally:
            if node.poll() is None:
                node.kill()
            node.wait()
        node_id = (data_dir / "node-id").read_text().strip()
    print(
        json.dumps(
            {
                "bench": "restart",
                "database": schema.describe(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}",
                "node_id_kept": node_id,
                "lease_seconds": int(LEASE_SECONDS),
                "runs": len(runs),
                "median_ready_to_first_answer_s": statistics.median(r["ready_to_first_answer_s"] for r in runs),
                "median_kill_to_ready_s": statistics.median(r["kill_to_ready_s"] for r in runs),
                "max_redirects": max(r["redirects"] for r in runs),
                "max_refused_at_door": max(r["refused_at_door"] for r in runs),
                "each_run": runs,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
