"""The media plane over the meeting's WebSocket: the whole app under uvicorn on 127.0.0.1, real websockets
clients that authenticate, and aiortc peers whose offers and answers travel as `rtc` frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from signaling.endpoint import LiveSettings
from signaling.media.floor_gate import Who
from signaling.media.probe import ProbeClient
from tests.conftest import TEST_SECRET
from tests.media.conftest import until


@asynccontextmanager
async def serve(context) -> AsyncIterator[tuple[str, Any]]:
    app = create_app(context=context, live_settings=LiveSettings(hello_timeout_s=2.0, leave_grace_s=0.2))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), what="uvicorn started")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}", app.state.live
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


class Socket:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames: list[dict] = []

    @classmethod
    async def open(cls, url: str, meeting_id: int, member_id: int, branch_id: int, role: str = "member") -> Socket:
        bearer = issue_access_token(Principal(None, member_id, branch_id, "member"), TEST_SECRET)
        socket = cls(await websockets.connect(f"{url}/ws/meetings/{meeting_id}", open_timeout=5))
        await socket.send({"type": "hello", "token": bearer, "role": role})
        await socket.until(lambda f: f["type"] == "welcome")
        return socket

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(self, predicate, timeout: float = 10.0) -> dict:
        for frame in self.frames:
            if predicate(frame):
                self.frames.remove(frame)
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), max(deadline - loop.time(), 0.01)))
            if frame["type"] == "ping":
                await self.send({"type": "pong"})
            if predicate(frame):
                return frame
            self.frames.append(frame)

    async def rtc(self, kind: str) -> dict:
        return await self.until(lambda f: f["type"] == "rtc" and f["kind"] == kind)

    async def command(self, client_id: str, command: dict) -> dict:
        await self.send({"type": "command", "id": client_id, "command": command})
        result = await self.until(lambda f: f["type"] == "result" and f["id"] == client_id)
        assert result["ok"], result
        return result

    async def join_audio(self, **client) -> ProbeClient:
        probe = ProbeClient(**client)

        async def answer_for(sdp: str) -> str:
            await self.send({"type": "rtc", "kind": "offer", "sdp": sdp})
            return (await self.rtc("answer"))["sdp"]

        await probe.connect(answer_for)
        return probe


async def test_offer_answer_over_the_websocket_the_floor_by_command_and_teardown_on_disconnect(context, branch):
    meeting, chair, speaker_id, listener_id = branch.meeting_id, branch.chair, branch.officials[2], branch.officials[3]
    async with serve(context) as (url, live):
        media = live.media
        chair_ws = await Socket.open(url, meeting, chair, branch.branch_id)
        speaker_ws = await Socket.open(url, meeting, speaker_id, branch.branch_id)
        listener_ws = await Socket.open(url, meeting, listener_id, branch.branch_id)
        await listener_ws.send({"type": "rtc", "kind": "config"})
        assert (await listener_ws.rtc("config"))["ice_servers"] == []
        await listener_ws.send({"type": "rtc", "kind": "candidate", "candidate": ""})
        assert (await listener_ws.rtc("error"))["error"]["code"] == "media_not_joined"

        speaker = await speaker_ws.join_audio(tone=True)
        listener = await listener_ws.join_audio()
        # A trickled candidate as Chrome writes it (on loopback here), then the end of candidates: accepted.
        chrome_line = "candidate:1 1 udp 2113937151 127.0.0.1 9 typ host generation 0 ufrag AbCd network-cost 999"
        await listener_ws.send({"type": "rtc", "kind": "candidate", "candidate": chrome_line, "sdpMid": "0"})
        await listener_ws.send({"type": "rtc", "kind": "candidate", "candidate": "", "sdpMid": "0"})
        await listener_ws.send({"type": "rtc", "kind": "config"})
        await listener_ws.rtc("config")
        assert not [f for f in listener_ws.frames if f["type"] in ("rtc", "error")]
        for garbage in ("candidate:garbage", "candidate:1 1 udp x 127.0.0.1 9 typ host"):
            await listener_ws.send({"type": "rtc", "kind": "candidate", "candidate": garbage})
            assert (await listener_ws.rtc("error"))["error"]["code"] == "media_bad_candidate"
        room = media.plane.rooms[meeting]
        await chair_ws.command("c1", {"type": "start_meeting"})
        await chair_ws.command("c2", {"type": "open_item", "item_id": branch.item_ids[0]})
        await until(lambda: room.gate.last_seq > 0, what="the room following the journal")
        assert listener.silent_to(440.0, 5) or len(listener.heard) < 5
        # The floor goes to someone present: wait for presence to have checked the speaker's phone in (it does so
        # on its own, after the connection, and a busy machine may take a while).
        await until(
            lambda: context.service.state(meeting)[0].is_present(speaker_id), what="the speaker checked in by presence"
        )
        await chair_ws.command("c3", {"type": "grant_floor", "member_id": speaker_id})
        await until(lambda: listener.hears(440.0, 10), what="the floor holder heard through the hub")

        # The chair mutes the floor holder by a meeting command: its event reaches every client, and the server
        # drops the speaker's audio (their browser keeps sending it).
        await chair_ws.command("c4", {"type": "mute_microphone", "member_id": speaker_id})
        muted = await speaker_ws.until(
            lambda f: f["type"] == "event" and f["event"]["event"]["type"] == "microphone_muted"
        )
        assert muted["event"]["event"]["member_id"] == speaker_id
        await until(lambda: listener.silent_to(440.0, 10), what="the muted speaker silenced")
        inbound = room.peers[Who.member(speaker_id)].inbound
        arrived = inbound.received
        await until(lambda: inbound.received > arrived + 10, what="the muted speaker's audio still arriving")
        assert listener.silent_to(440.0, 10), "the server drops what a muted speaker sends"

        speaker_pc = room.peers[Who.member(speaker_id)].pc
        await speaker_ws.ws.close()  # the phone's socket drops: its peer connection goes with it
        await until(lambda: Who.member(speaker_id) not in room.peers, what="the speaker's peer removed")
        assert speaker_pc.connectionState == "closed"

        await listener_ws.send({"type": "rtc", "kind": "leave"})
        assert (await listener_ws.rtc("closed"))["reason"] == "left"
        await until(lambda: meeting not in media.plane.rooms, what="the empty room closed")
        assert room.closed and media.joined == {}
        for probe in (speaker, listener):
            await probe.close()
        await chair_ws.ws.close()
        await listener_ws.ws.close()
