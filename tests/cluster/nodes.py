"""What the multi-process cluster tests share: `chibo serve` nodes on loopback, sharing one PostgreSQL schema,
and a WebSocket client that follows redirects, reconnects to whichever node answers, resumes from its last
sequence number and sends its unanswered command again with the same id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websockets

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as answer:
            if answer.status == 200:
                return
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"{what} did not start")


def start_node(name: str, port: int, database_url: str, data_dir: Path, **env: str) -> subprocess.Popen:
    """`chibo serve` on 127.0.0.1:port, its own address as its public one; `env` adds or overrides settings."""
    node = subprocess.Popen(
        [sys.executable, "-m", "meeting.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "CHIBO_SECRET_KEY": TEST_SECRET,
            "CHIBO_NODE_ID": name,
            "CHIBO_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CHIBO_DATA_DIR": str(data_dir),
            **env,
        },
        stdout=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", node, f"node {name}")
    return node


def stop_nodes(*nodes: subprocess.Popen) -> None:
    for node in nodes:
        if node.poll() is None:
            node.kill()
        node.wait()


# The services of compose.nodes.yaml and the node ids they are given there.
SERVICES = {"app:8000": "a", "app-b:8000": "b"}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} not installed: pip install -e '.[test]'"
    return found


def _proxy_config(port: int, nodes: dict[str, int], balanced_to: str, log: Path) -> dict[str, Any]:
    """docker/Caddyfile.nodes as Caddy adapts it, with the addresses swapped for loopback ones."""
    adapted = subprocess.run(
        [_tool("caddy"), "adapt", "--adapter", "caddyfile", "--config", str(ROOT / "docker" / "Caddyfile.nodes")],
        env={"PATH": "/usr/bin:/bin", "CHIBO_DOMAIN": "127.0.0.1", "CHIBO_TLS": "internal"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = json.loads(adapted.stdout)
    del config["apps"]["tls"]
    config["admin"] = {"disabled": True}
    config["logging"] = {"logs": {"default": {"writer": {"output": "file", "filename": str(log)}}}}
    (server,) = config["apps"]["http"]["servers"].values()
    server["listen"] = [f"127.0.0.1:{port}"]
    server["automatic_https"] = {"disable": True}
    server.pop("logs", None)
    (site,) = server["routes"]
    routes = site["handle"][0]["routes"]

    def retarget(routes: list[dict[str, Any]]) -> None:
        for route in routes:
            for handler in route.get("handle", []):
                if handler["handler"] == "subroute":
                    retarget(handler["routes"])
                elif handler["handler"] == "reverse_proxy":
                    for upstream in handler["upstreams"]:
                        upstream["dial"] = f"127.0.0.1:{nodes[SERVICES[upstream['dial']]]}"

    retarget(routes)
    balancer = routes[-1]["handle"][0]
    assert balancer["handler"] == "reverse_proxy" and "match" not in routes[-1]
    assert len(balancer["upstreams"]) == len(nodes)  # in the real file; here one node takes it all
    balancer["upstreams"] = [{"dial": f"127.0.0.1:{nodes[balanced_to]}"}]
    return config


@contextlib.contextmanager
def proxied_nodes(root: Path, database_url: str, **env: str) -> Iterator[tuple[str, dict[str, subprocess.Popen]]]:
    """Nodes a and b behind docker/Caddyfile.nodes, as compose.nodes.yaml runs them, on loopback: (the proxy's
    address, the node processes). Each node's CHIBO_NODE_URL is <proxy>/node/<name>; the balanced route sends
    everything to node b (what the balancer does to half the requests). `env` adds settings to both nodes."""
    proxy_port = free_port()
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    ports = {"a": free_port(), "b": free_port()}
    nodes: dict[str, subprocess.Popen] = {}
    caddy: subprocess.Popen | None = None
    try:
        for name, port in ports.items():
            nodes[name] = start_node(
                name,
                port,
                database_url,
                root / "data",  # one volume for both, as in compose.nodes.yaml
                CHIBO_PUBLIC_URL=proxy_url,
                CHIBO_NODE_URL=f"{proxy_url}/node/{name}",
                CHIBO_MEDIA="off",
                **env,
            )
        config_file = root / "caddy.json"
        config_file.write_text(json.dumps(_proxy_config(proxy_port, ports, "b", root / "caddy.log")))
        caddy_home = {"XDG_DATA_HOME": str(root / "caddy-data"), "XDG_CONFIG_HOME": str(root / "caddy-config")}
        caddy = subprocess.Popen(
            [_tool("caddy"), "run", "--config", str(config_file)],
            env={"PATH": "/usr/bin:/bin", "HOME": str(root), **caddy_home},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for path in ("/healthz", "/node/a/healthz", "/node/b/healthz"):
            wait_for(proxy_url + path, caddy, "caddy")
        yield proxy_url, nodes
    finally:
        for process in [*nodes.values(), *([caddy] if caddy else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*nodes.values(), *([caddy] if caddy else [])]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _Lost(Exception):
    """The connection closed under a command that was waiting for its result."""


class Member:
    """A live client, as the protocol asks clients to behave.

    It reads its socket all the time (a background task): events must follow one another without a gap or a
    duplicate (else `gaps` says where), pings are answered, and a connection's end is noted in `sent_away` with
    the `resync` reason and the close code it came with. `command` sends until answered: when the connection
    is lost it reconnects to the next node and sends the same id again."""

    def __init__(self, name: str, urls: list[str], meeting_id: int, bearer: str, role: str = "member") -> None:
        self.name, self.urls, self.meeting_id, self.bearer, self.role = name, urls, meeting_id, bearer, role
        self.ws: Any = None
        self.node_url = ""  # the node this client is connected to
        self.last_seq: int | None = None
        self.snapshots = 0  # a client that resumes from its last_seq gets events, not a second snapshot
        self.gaps: list[tuple[int | None, int]] = []  # (last seq applied, the seq that came next) when not +1
        self.sent_away: list[tuple[str | None, int | None]] = []  # (resync reason, close code) per lost connection
        self.refused_at_door: list[tuple[str, dict]] = []  # (node, first frame) when a node let us not in
        self.redirects = 0  # redirect frames received
        self.sends: dict[str, int] = {}  # command id -> times sent
        self.acked: dict[str, list[int]] = {}
        self.answered_by: dict[str, str] = {}  # command id -> the node whose result was taken
        self.pending: str | None = None  # the command id waiting for its result
        self._frames: asyncio.Queue[dict | None] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    async def connect(self, prefer: int = 0, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        target = f"{self.urls[prefer]}/ws/meetings/{self.meeting_id}"
        while loop.time() < deadline:
            try:
                ws = await websockets.connect(target, open_timeout=3)
                hello = {"type": "hello", "token": self.bearer, "last_seq": self.last_seq, "role": self.role}
                await ws.send(json.dumps(hello))
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "redirect":
                    self.redirects += 1
                    target = frame["url"]  # the owner, perhaps gone: if so we come back to the others below
                    await ws.close()
                    continue
                if frame["type"] != "welcome":  # sent away at the door (a node draining): try the next one
                    self.refused_at_door.append((target, frame))
                    await ws.close()
                    raise ConnectionError(frame)
                self.ws, self.node_url = ws, target
                self._frames = asyncio.Queue()
                self._reader = loop.create_task(self._read(ws, self._frames))
                return
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                # InvalidHandshake: the node died during the opening handshake
                prefer = (prefer + 1) % len(self.urls)
                target = f"{self.urls[prefer]}/ws/meetings/{self.meeting_id}"
                await asyncio.sleep(0.3)
        raise TimeoutError(f"{self.name} found no node")

    async def _read(self, ws: Any, frames: asyncio.Queue[dict | None]) -> None:
        reason = None
        try:
            async for text in ws:
                frame = json.loads(text)
                kind = frame["type"]
                if kind == "snapshot":
                    self.snapshots += 1
                    self.last_seq = frame["seq"]
                elif kind == "event":
                    if self.last_seq is not None and frame["seq"] != self.last_seq + 1:
                        self.gaps.append((self.last_seq, frame["seq"]))
                    self.last_seq = frame["seq"]
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind == "resync":
                    reason = frame["reason"]
                elif kind == "result":
                    frames.put_nowait(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.sent_away.append((reason, ws.close_code))
            frames.put_nowait(None)

    async def command(self, client_id: str, command: dict, timeout: float = 30.0) -> dict:
        """Send until answered: after a lost connection, reconnect and send the same id again."""
        self.pending = client_id
        while True:
            try:
                self.sends[client_id] = self.sends.get(client_id, 0) + 1
                await self.ws.send(json.dumps({"type": "command", "id": client_id, "command": command}))
                while True:
                    frame = await asyncio.wait_for(self._frames.get(), timeout)
                    if frame is None:
                        raise _Lost
                    if frame["id"] == client_id:
                        if frame["ok"]:
                            self.acked[client_id] = frame["seqs"]
                        self.answered_by[client_id] = self.node_url
                        self.pending = None
                        return frame
            except (websockets.ConnectionClosed, OSError, TimeoutError, _Lost):
                await self.close()
                await self.connect(prefer=(self._node_index() + 1) % len(self.urls))

    def _node_index(self) -> int:
        return next((i for i, url in enumerate(self.urls) if self.node_url.startswith(url)), 0)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 3)
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 3)
