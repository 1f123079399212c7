"""Scale-out benchmark: how many meetings (30 connections each) one node holds with the chair-to-client p99
latency under 100 ms, and the same with two nodes sharing one PostgreSQL, on this machine.

Each step runs every meeting at one chair command per second (see bench/fanout.py for the client harness)
and grows the number of meetings until p99 passes 100 ms. Clients of meeting i go to node i % nodes, so each
node owns its share of the meetings through the lease. Prints one JSON object.
Usage: python bench/scale.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import SECRET, pg_schema  # noqa: E402
from fanout import cpu_seconds, free_port, prepare, run_client_process, wait_port  # noqa: E402

PER_MEETING = 30
TARGET_P99_MS = 100.0


def step(nodes: int, meetings: int, paced_s: float, workdir: Path) -> dict:
    with pg_schema("bench_scale") as schema:
        return run_step(schema.url, nodes, meetings, paced_s, workdir)


def run_step(url: str, nodes: int, meetings: int, paced_s: float, workdir: Path) -> dict:
    servers = []
    try:
        specs = prepare(url, meetings, PER_MEETING)
        ports = [free_port() for _ in range(nodes)]
        for index, port in enumerate(ports):
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "CHIBO_SECRET_KEY": SECRET,
                "CHIBO_NODE_ID": f"node-{index}",
                "CHIBO_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "CHIBO_DATA_DIR": str(workdir / f"node-{index}"),
            }
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "meeting.cli", "serve", "--port", str(port), "--log-level", "warning"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                )
            )
        for port in ports:
            wait_port(port)
        for index, spec in enumerate(specs):
            spec["url"] = f"ws://127.0.0.1:{ports[index % nodes]}"
        cpu_before = [cpu_seconds(server.pid) for server in servers]
        figures = run_client_process(specs[0]["url"], specs, paced_s, 0.5, servers[0].pid)
        figures["server_cpu_s"] = [round(cpu_seconds(s.pid) - b, 2) for s, b in zip(servers, cpu_before, strict=True)]
        figures["meetings"] = meetings
        return figures
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def capacity(nodes: int, sizes: list[int], paced_s: float, workdir: Path) -> dict:
    steps = []
    held = 0
    for meetings in sizes:
        figures = step(nodes, meetings, paced_s, workdir)
        steps.append(
            {k: figures[k] for k in ("meetings", "clients", "latency_ms_p50", "latency_ms_p99", "latency_samples")}
            | {"server_cpu_s": figures["server_cpu_s"], "deliveries_per_s": figures["paced_deliveries_per_s"]}
        )
        if figures["latency_ms_p99"] is None or figures["latency_ms_p99"] > TARGET_P99_MS:
            break
        held = meetings
    return {"nodes": nodes, "meetings_held_at_p99_under_100ms": held, "connections": held * PER_MEETING, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [10, 30] if args.quick else [10, 20, 40, 60, 80, 100]
    paced_s = 3.0 if args.quick else 8.0
    import tempfile

    with tempfile.TemporaryDirectory() as workdir:
        report = {
            "benchmark": "scale",
            "machine_cores": os.cpu_count(),
            "connections_per_meeting": PER_MEETING,
            "chair_commands_per_meeting_per_s": 1,
            "note": "nodes, PostgreSQL and the client process all share this machine's cores",
            "one_node": capacity(1, sizes, paced_s, Path(workdir)),
            "two_nodes": capacity(2, sizes, paced_s, Path(workdir)),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
