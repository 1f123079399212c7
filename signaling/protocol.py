"""The live protocol, version 1: JSON text frames over one WebSocket per browser (see PROTOCOL.md).

Incoming frames are validated here, with a size limit on the frame and on every field; anything else
gets an error frame. Outgoing frames are built here so their shape is in one place.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from meeting.errors import Rejected
from meeting.inputs import Seq, untrusted_json

VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Frame):
    """First frame: who I am and how far I got. `last_seq` None asks for a full snapshot."""

    type: Literal["hello"]
    v: Literal[1] = 1
    token: Annotated[str, Field(min_length=10, max_length=4000)]
    last_seq: Seq | None = None
    role: Literal["member", "hall"] = "member"


class CommandFrame(_Frame):
    type: Literal["command"]
    id: ClientId
    command: dict[str, Any]


class Ping(_Frame):
    type: Literal["ping"]


class Pong(_Frame):
    type: Literal["pong"]


class MediaFrame(BaseModel):
    """WebRTC signalling (offer, answer, ICE candidates) for the media plane; validated by the media layer."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["rtc"]
    kind: Annotated[str, Field(max_length=32)]


Incoming = Annotated[Hello | CommandFrame | Ping | Pong | MediaFrame, Field(discriminator="type")]
INCOMING: TypeAdapter[Incoming] = TypeAdapter(Incoming)


def parse(text: str | bytes) -> Incoming:
    """One frame from the wire, or `Rejected("bad_frame")` saying what is wrong with it."""
    if isinstance(text, bytes):
        raise Rejected("bad_frame", status=400, detail="binary frames are not used")
    data = untrusted_json(text, limit=MAX_FRAME_BYTES, code="bad_frame")  # size, depth, NUL
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise Rejected("bad_frame", status=400, detail="a frame is a JSON object with a type")
    try:
        return INCOMING.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "frame"
        raise Rejected("bad_frame", status=400, detail=f"{where}: {first['msg']}") from exc


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def welcome(meeting_id: int, member_id: int | None, role: str, seq: int) -> str:
    return dumps(
        {"type": "welcome", "v": VERSION, "meeting_id": meeting_id, "member_id": member_id, "role": role, "seq": seq}
    )


def snapshot(seq: int, state: dict[str, Any]) -> str:
    return dumps({"type": "snapshot", "seq": seq, "state": state})


def event(recorded_json: dict[str, Any]) -> str:
    return dumps({"type": "event", "seq": recorded_json["seq"], "event": recorded_json})


def result_ok(client_id: str, seqs: list[int]) -> str:
    return dumps({"type": "result", "id": client_id, "ok": True, "seqs": seqs})


def result_error(client_id: str | None, error: Rejected) -> str:
    return dumps({"type": "result", "id": client_id, "ok": False, **error.to_json()})


def error(error: Rejected) -> str:
    return dumps({"type": "error", **error.to_json()})


def resync(reason: str) -> str:
    return dumps({"type": "resync", "reason": reason})


def redirect(url: str, node_id: str) -> str:
    return dumps({"type": "redirect", "url": url, "node": node_id})


PING = dumps({"type": "ping"})
PONG = dumps({"type": "pong"})
