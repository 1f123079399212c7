"""Property-based fuzzing of the running app (uvicorn on 127.0.0.1, its log captured): live frames from real roles
(the chair's and the clerk's consoles, a member, an invite link) with random and hostile commands, hostile hellos,
and HTTP requests to every route by every kind of caller. Whatever comes in:
- no 5xx, no close without a close frame, no ERROR or traceback in the server's log;
- after the hello, exactly one answer per frame where the protocol answers (in order: an error for a bad frame,
  a result for a command, a pong for a ping), and the socket stays open;
- a refused hello gets its error frame, then a close with a 4xxx code whose reason is that error's code;
- afterwards every meeting's journal is gap-free and its hash chain valid.
A bounded budget (the suite's 200 examples per property), so it runs with the rest of the suite; bench/fuzz.py
runs the same inputs 100,000 frames long against `chibo serve`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection

from meeting.app import collect_routes
from meeting.errors import Rejected
from signaling import protocol
from signaling.hub import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.api.world import ROLES
from tests.security.conftest import Served, closing, connect, joined
from tests.security.hostile import Real, frames, hellos, http_calls, sendable

# The server runs in another thread of this process, and its libraries draw from `random` while hypothesis
# generates here: hypothesis takes that for a strategy using `random` and warns.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

# The budget of the normal suite: the project's 200 examples for frames and requests; a hello costs a connection
# and its close handshake, so half as many. `database=None`: the server's state differs from run to run, so a
# stored failing example would not replay; hypothesis prints the failing input instead.
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
FUZZ_HELLOS = settings(FUZZ, max_examples=100)


@pytest.fixture
def media_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The media plane answers `rtc` frames in its own ways (tests/media); here an `rtc` frame gets one answer."""
    monkeypatch.setenv("CHIBO_MEDIA", "off")


def real_ids(served: Served) -> Real:
    world = served.world
    return Real(
        member_ids=[*world.a.everyone, world.b.officials[1]],
        item_ids=list(world.a.item_ids),
        meeting_ids=[world.a.meeting_id, world.b.meeting_id],
        branch_ids=[world.a.branch_id, world.b.branch_id],
    )


def tokens_of(served: Served) -> list[str]:
    return [t for t in served.world.tokens.values() if t] + [served.invite]


def expected_answer(text: str) -> str | tuple[str, str] | None:
    """What the protocol answers to this frame (PROTOCOL.md): the same parser decides what kind of frame it is."""
    try:
        frame = protocol.parse(text)
    except Rejected:
        return "error"
    if isinstance(frame, protocol.Ping):
        return "pong"
    if isinstance(frame, protocol.Pong):
        return None
    if isinstance(frame, protocol.CommandFrame):
        return ("result", frame.id)
    return "error"  # a second hello, or rtc with the media plane off


def answers(ws: ClientConnection, pongs: int) -> list[str | tuple[str, str]]:
    """The server's answers, in order, until `pongs` pongs (its events and pings left out)."""
    seen: list[str | tuple[str, str]] = []
    while pongs:
        frame = json.loads(ws.recv(timeout=15))
        if frame["type"] == "ping":
            ws.send('{"type":"pong"}')
        elif frame["type"] == "result":
            seen.append(("result", frame["id"]))
        elif frame["type"] in ("error", "pong"):
            seen.append(frame["type"])
            pongs -= frame["type"] == "pong"
    return seen


@pytest.fixture
def consoles(media_off: None, served: Served) -> Iterator[dict[str, ClientConnection]]:
    world = served.world
    opened = served.world.client.post(f"/web/meetings/{world.a.meeting_id}/open", headers=world.headers("chair"))
    assert opened.status_code == 200, opened.text  # the journal is live: commands reach the rules
    sockets = {
        "chair console": joined(served, world.tokens["chair"], role="hall"),
        "clerk console": joined(served, world.tokens["clerk"], role="hall"),
        "member": joined(served, world.tokens["member"]),
        "invite link": joined(served, served.invite),
    }
    yield sockets
    for ws in sockets.values():
        ws.close()


def test_live_frames_from_real_roles(media_off: None, served: Served, consoles: dict[str, ClientConnection]):
    real, counter = real_ids(served), itertools.count()
    results = {"ok": 0, "refused": 0}

    @FUZZ
    @given(who=st.sampled_from(sorted(consoles)), batch=st.lists(frames(real, tokens_of(served)), max_size=6))
    def exchange(who: str, batch: list[str]) -> None:
        ws = consoles[who]
        expected = []
        for text in batch:
            text = text.replace('"<id>"', f'"f{next(counter)}"')  # command ids unique across the run
            expected.append(expected_answer(text))
            ws.send(text)
        ws.send('{"type":"ping"}')
        got = answers(ws, pongs=expected.count("pong") + 1)
        assert got == [e for e in expected if e is not None] + ["pong"], batch
        results["ok"] += sum(1 for e in expected if isinstance(e, tuple))
        results["refused"] += expected.count("error")

    exchange()
    assert results["ok"] > 50 and results["refused"] > 50, results  # both kinds were really tried
    for ws in consoles.values():  # every socket is still open and answering
        ws.send('{"type":"ping"}')
        assert answers(ws, pongs=1) == ["pong"]
    assert served.logs.faults() == []
    assert served.journal_problems() == []
    with served.context.sessions() as session:
        from meeting.db.models import Meeting

        assert session.get(Meeting, served.world.a.meeting_id).journal_seq > 1  # commands did change the meeting


def test_hellos_and_first_frames(media_off: None, served: Served):
    real, refused_codes = real_ids(served), set()
    first_frames = st.one_of(
        hellos(tokens_of(served)).map(lambda h: sendable(json.dumps(h, allow_nan=True))),
        frames(real, tokens_of(served)),
    )

    @FUZZ_HELLOS
    @example(first='{"type":"ping"}', meeting=served.world.a.meeting_id)  # a frame before the hello: hello_first
    @example(first="[" * 2000 + "]" * 2000, meeting=served.world.a.meeting_id)  # the RecursionError payload
    @given(first=first_frames, meeting=st.sampled_from([served.world.a.meeting_id, served.world.b.meeting_id]))
    def handshake(first: str, meeting: int) -> None:
        ws = connect(served, meeting)
        ws.send(first)
        opening = json.loads(ws.recv(timeout=10))
        if opening["type"] == "welcome":
            ws.close()
            return
        assert opening["type"] == "error", opening
        rest, code, reason = closing(ws)
        assert rest == [] and code in (CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND), (first, code)
        assert reason == opening["error"]["code"]
        refused_codes.add(reason)

    handshake()
    assert {"bad_frame", "hello_first"} <= refused_codes, refused_codes
    assert served.logs.faults() == []
    assert served.journal_problems() == []


def test_http_requests_to_every_route(media_off: None, served: Served):
    world, statuses = served.world, set()

    @FUZZ
    @given(call=http_calls(collect_routes(), real_ids(served), list(ROLES)))
    def request(call) -> None:
        headers = {**world.headers(call.role), "Content-Type": call.content_type}
        response = world.client.request(call.method, call.path, content=call.body, headers=headers)
        statuses.add(response.status_code)
        if call.method != "GET" and response.status_code < 300:
            world.renew_tokens()  # a sign-out or a member's change may have ended sessions: callers sign in again
        assert response.status_code < 500, (call, response.text[:300])
        assert response.headers.get("x-content-type-options") == "nosniff", call
        if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
            assert response.json()["error"]["code"], call

    request()
    assert {200, 401, 404, 422} <= statuses, statuses  # the calls reached routes, callers and validation alike
    assert served.logs.faults() == []
    assert served.journal_problems() == []
