"""JSON from outside is bounded in size and depth and must be UTF-8 without NUL; whatever breaks a rule gets the
error shape (HTTP 413 or 422; on the WebSocket an error frame, and before the hello a close with code and reason),
never a fault, a dropped socket or a traceback in the log. The same parser reads HTTP bodies and frames."""

from __future__ import annotations

import json

import pytest

from meeting.api.common import MAX_JSON_BYTES
from meeting.inputs import MAX_JSON_DEPTH
from signaling.hub import CLOSE_UNAUTHENTICATED
from tests.api.world import World
from tests.security.conftest import Served, answers_until_pong, closing, connect, joined

DEEP = "[" * 2000 + "]" * 2000  # the payload that raised RecursionError in the frame parser


def nested(depth: int) -> dict:
    value: object = "bottom"
    for _ in range(depth - 1):
        value = [value]
    return {"username": value, "password": "x"}


def _refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["message"] and error["message_en"]
    return error


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/invite", "/api/meetings/{m}/commands"])
def test_deep_nesting_is_invalid_with_or_without_a_token(world: World, path: str):
    path = path.format(m=world.a.meeting_id)
    for headers in ({}, world.headers("chair")):
        response = world.client.post(path, content=DEEP, headers={**headers, "Content-Type": "application/json"})
        if response.status_code == 401:  # a route behind a token may say so first; with one it reads the body
            continue
        _refused(response, 422)


def test_depth_limit_is_exact(world: World):
    # The login body is an object (1) holding a field: the deepest allowed value still reaches the model, one
    # level more is refused by the parser.
    just_deep_enough = world.client.post("/api/auth/login", json=nested(MAX_JSON_DEPTH - 1))
    assert just_deep_enough.status_code == 422
    assert "nested deeper" not in just_deep_enough.text  # refused by the model (a name is text), not the depth
    too_deep = world.client.post("/api/auth/login", json=nested(MAX_JSON_DEPTH + 1))
    assert "nested deeper" in _refused(too_deep, 422)["message_en"]


def test_body_over_the_limit_is_too_large_declared_or_streamed(world: World):
    big = json.dumps({"username": "x" * MAX_JSON_BYTES, "password": "x"}).encode()
    declared = world.client.post("/api/auth/login", content=big, headers={"Content-Type": "application/json"})
    _refused(declared, 413)

    def chunks():  # no Content-Length: the limit must hold while reading
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = world.client.post("/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    _refused(streamed, 413)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{}",  # not UTF-8
        b'{"username": "a", "password": ' + b"9" * 5000 + b"}",  # an integer of 5,000 digits
        b'{"username": "a\\u0000b", "password": "x"}',  # NUL in a value
        b'{"user\\u0000name": "a", "password": "x"}',  # NUL in a key
        b'{"username": "\\ud800", "password": "x"}',  # a lone surrogate
        b"",
        b"null",
        b"[]",
    ],
)
def test_malformed_bodies_are_invalid(world: World, body: bytes):
    response = world.client.post("/api/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (401, 422), response.text  # 401: an empty body is "{}", a wrong login
    assert response.json()["error"]["code"] in ("bad_request", "bad_credentials")


# -- the WebSocket, on a real server ----------------------------------------------------------------------------
def test_deep_first_frame_is_refused_with_a_close_frame(served: Served):
    for _ in range(3):
        ws = connect(served)
        ws.send(DEEP)
        frames, code, reason = closing(ws)
        assert [f["error"]["code"] for f in frames] == ["bad_frame"]
        assert (code, reason) == (CLOSE_UNAUTHENTICATED, "bad_frame")
    assert served.logs.faults() == []


def test_hostile_frames_after_the_hello_each_get_an_error_and_the_socket_stays(served: Served):
    world = served.world
    ws = joined(served, world.tokens["member"])
    hostile = [
        DEEP,
        json.dumps(nested(MAX_JSON_DEPTH + 1)),
        '{"type":"command","id":"a\\u0000","command":{}}',
        '{"type":"command","id":"x1","command":{"type":"lower_hand","member_id":18446744073709551616}}',
        '{"type":"command","id":"x2","command":{"type":"raise_hand","kind":"\\u0000"}}',
        '{"type":"ping","v":' + "9" * 5000 + "}",
        '{"type":"hello","token":"' + "t" * 20 + '","last_seq":18446744073709551616}',
        "x" * (70 * 1024),
        '{"type":"rtc","kind":"' + "k" * 40 + '"}',
    ]
    for text in hostile:
        ws.send(text)
    ws.send('{"type":"ping"}')
    answers = answers_until_pong(ws)
    assert [a["type"] for a in answers] == ["error"] * 3 + ["result"] + ["error"] * 5 + ["pong"], answers
    assert answers[3]["ok"] is False and answers[3]["error"]["code"] == "bad_frame"
    ws.close()
    assert served.logs.faults() == []


def test_frame_past_the_transport_limit_closes_with_1009(served: Served):
    ws = joined(served, served.world.tokens["member"])
    ws.send("x" * (300 * 1024))
    _, code, _ = closing(ws)
    assert code == 1009
    assert served.logs.faults() == []


@pytest.mark.parametrize("after_hello", [False, True])
def test_invalid_utf8_closes_1007_without_a_traceback(served: Served, after_hello: bool):
    ws = joined(served, served.world.tokens["member"]) if after_hello else connect(served)
    ws.send(b'{"type":"ping","x":"\xff\xfe"}', text=True)
    _, code, _ = closing(ws)
    assert code == 1007
    assert served.logs.faults() == []  # the client's fault: at most a debug line, never an ERROR with a traceback
