"""WebRTC signalling over the meeting's WebSocket: `{"type": "rtc", "kind": ...}` frames (see LIMITS.md and
signaling/PROTOCOL.md). The hub hands every `rtc` frame of an authenticated connection to `handle`.

client → server
  {"type":"rtc","kind":"config"}                            which ICE servers to use (ask before creating the
                                                            RTCPeerConnection)
  {"type":"rtc","kind":"offer","sdp":"v=0..."}              join (or re-join) the meeting's audio
  {"type":"rtc","kind":"candidate","candidate":"candidate:..","sdpMid":"0","sdpMLineIndex":0}
                                                            a trickled ICE candidate ("" ends them)
  {"type":"rtc","kind":"leave"}                             hang up
server → client
  {"type":"rtc","kind":"config","ice_servers":[...]}
  {"type":"rtc","kind":"answer","sdp":"v=0..."}             the server's candidates are all in the answer
  {"type":"rtc","kind":"closed","reason":"left|replaced|connection_lost|meeting_ended"}
  {"type":"rtc","kind":"error","for":"offer", "error":{code,message,message_en,details}}

Who is heard is the journal's business, not these frames': the chair's floor and mutes are meeting commands
(`grant_floor`, `mute_microphone`, ...), and the plane's gate follows their events (see plane.py). A client
learns that it is muted from the meeting state (`muted`, `hall_muted`) like everything else.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from meeting.errors import Rejected
from signaling.media.floor_gate import HALL, GateChange, Who
from signaling.media.plane import MediaPlane
from signaling.media.settings import MediaSettings, browser_ice

log = logging.getLogger("chibo.media")


class _Rtc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["rtc"]


class ConfigRequest(_Rtc):
    kind: Literal["config"]


class Offer(_Rtc):
    kind: Literal["offer"]
    sdp: Annotated[str, Field(min_length=10, max_length=32_000)]


class Candidate(_Rtc):
    kind: Literal["candidate"]
    candidate: Annotated[str, Field(max_length=1_000)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None  # the browser's own field names
    sdpMLineIndex: Annotated[int, Field(ge=0, le=31)] | None = None


class Leave(_Rtc):
    kind: Literal["leave"]


RtcFrame = Annotated[ConfigRequest | Offer | Candidate | Leave, Field(discriminator="kind")]
RTC_FRAME: TypeAdapter[RtcFrame] = TypeAdapter(RtcFrame)


class Connection(Protocol):
    """What the media layer needs of the hub's connection."""

    meeting_id: int
    member_id: int | None
    role: str

    def offer(self, seq: int, text: str) -> bool: ...


class Hub(Protocol):
    def send(self, connection: Any, text: str) -> None: ...


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def parse(data: dict[str, Any]) -> RtcFrame:
    try:
        return RTC_FRAME.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "rtc"
        raise Rejected("bad_frame", status=400, detail=f"{where}: {first['msg']}") from exc


class MediaSignaling:
    def __init__(self, plane: MediaPlane, hub: Hub) -> None:
        self.plane = plane
        self.hub = hub
        self.joined: dict[tuple[int, Who], Connection] = {}  # whose connection carries which participant
        plane.on_change.append(self._gate_changed)
        plane.on_peer_gone.append(self._peer_gone)

    @classmethod
    def from_context(cls, context: Any, hub: Hub) -> MediaSignaling | None:
        """The live side's media handler, configured from the environment; None when CHIBO_MEDIA is off."""
        settings = MediaSettings.from_env(context.settings.data_dir)
        if not settings.enabled:
            return None
        return cls(MediaPlane(context.service, settings), hub)

    async def start(self) -> None:
        self.plane.start()

    async def stop(self) -> None:
        await self.plane.stop()
        self.joined.clear()

    @staticmethod
    def who(connection: Connection) -> Who:
        if connection.role == "hall":
            return HALL
        if connection.member_id is None:
            raise Rejected("forbidden", status=403)
        return Who.member(connection.member_id)

    async def handle(self, connection: Connection, frame: BaseModel) -> None:
        """One `rtc` frame from an authenticated connection; every refusal is answered, nothing raises."""
        data = frame.model_dump()
        kind = str(data.get("kind", ""))[:32]
        try:
            rtc = parse(data)
            if isinstance(rtc, ConfigRequest):
                settings = self.plane.settings
                servers = browser_ice(
                    settings.ice_servers, settings.turn_secret, str(self.who(connection)), time.time()
                )
                self._send(connection, {"kind": "config", "ice_servers": servers})
            elif isinstance(rtc, Offer):
                await self._offer(connection, rtc)
            elif isinstance(rtc, Candidate):
                room = self.plane.rooms.get(connection.meeting_id)
                if room is None or self.joined.get((connection.meeting_id, self.who(connection))) is not connection:
                    raise Rejected("media_not_joined", status=409)
                await room.peer(self.who(connection)).add_candidate(rtc.candidate, rtc.sdpMid, rtc.sdpMLineIndex)
            elif isinstance(rtc, Leave):
                await self._leave(connection, "left")
        except Rejected as exc:
            self._send(connection, {"kind": "error", "for": kind, **exc.to_json()})
        except Exception:
            log.exception("rtc %s failed in meeting %s", kind, connection.meeting_id)
            self._send(connection, {"kind": "error", "for": kind, **Rejected("internal", status=500).to_json()})

    async def _offer(self, connection: Connection, offer: Offer) -> None:
        who = self.who(connection)
        key = (connection.meeting_id, who)
        earlier = self.joined.get(key)
        answer = await self.plane.join(connection.meeting_id, who, offer.sdp)
        self.joined[key] = connection
        if earlier is not None and earlier is not connection:
            self._send(earlier, {"kind": "closed", "reason": "replaced"})
        self._send(connection, {"kind": "answer", "sdp": answer})

    async def _leave(self, connection: Connection, reason: str) -> None:
        who = self.who(connection)
        key = (connection.meeting_id, who)
        if self.joined.get(key) is not connection:
            return
        del self.joined[key]
        await self.plane.leave(connection.meeting_id, who)
        if reason == "left":
            self._send(connection, {"kind": "closed", "reason": reason})

    def disconnected(self, connection: Connection) -> None:
        """The WebSocket closed: its peer connection goes too (a phone that returns sends a new offer)."""
        try:
            who = self.who(connection)
        except Rejected:
            return
        if self.joined.get((connection.meeting_id, who)) is connection:
            self.plane.background(self._leave(connection, "disconnected"))

    # -- from the plane ----------------------------------------------------------------------------------------
    def _gate_changed(self, meeting_id: int, change: GateChange) -> None:
        if change.kind == "meeting_ended":
            for (meeting, _who), connection in list(self.joined.items()):
                if meeting == meeting_id:
                    self._send(connection, {"kind": "closed", "reason": "meeting_ended"})
                    del self.joined[(meeting, _who)]

    def _peer_gone(self, meeting_id: int, who: Who) -> None:
        connection = self.joined.pop((meeting_id, who), None)
        if connection is not None:
            self._send(connection, {"kind": "closed", "reason": "connection_lost"})

    def _send(self, connection: Connection, frame: dict[str, Any]) -> None:
        self.hub.send(connection, _dumps({"type": "rtc", **frame}))  # the connection's queue and its bound
