"""Hostile input, shared by the fuzz tests (hypothesis strategies) and bench/fuzz.py (the same pools drawn with
`random`, much faster for a long run): live frames from real roles with real and hostile commands, and HTTP
requests to every route with real and hostile path parameters, queries and bodies.

Values are picked by what a field is called (`member_id` gets members of the meeting and numbers no database can
hold; `item_id` the agenda's items and strings that are not ids; ...), so most commands are nearly right and reach
the rules, rather than dying at the first check."""

from __future__ import annotations

import enum
import json
import random
import typing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from pydantic import BaseModel

from meeting.domain import commands as domain_commands

HOSTILE_INTS: list[Any] = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400]
HOSTILE_FLOATS: list[float] = [1e400, -1e400, float("nan"), 0.5, 1e-300, 1.0]
HOSTILE_TEXTS: list[str] = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: json.dumps writes it as \\ud800
    "\u202e\u200b",
    "x" * 65,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE journal; --",
    "%00",
    "1e400",
    "9223372036854775808",
    "null",
    "Đồng chí Nguyễn Văn A",
    "😀" * 10,
]
DEEP_TEXTS = ["[" * 2000 + "]" * 2000, '{"a":' * 300 + "1" + "}" * 300, "[" * 17 + "]" * 17]
PATH_HOSTILE = ["9223372036854775808", "18446744073709551616", "-1", "1e400", "0", "%00", "abc", "1.5", "%ff"]
QUERY_KEYS = ["after", "limit", "since", "until", "month", "lang", "filename", "kind", "title", "m", "x"]
QUERY_HOSTILE = [*PATH_HOSTILE, "0001-01-01", "9999-12-31", "2026-13", "2026-01-01T00:00:00+99:00", "vi", "en"]


def _command_catalog() -> dict[str, dict[str, Any]]:
    """Every live command's type and its fields (name -> annotation), read from the domain."""
    union = typing.get_args(typing.get_args(domain_commands.Command)[0])
    return {
        cls.model_fields["type"].default: {k: v.annotation for k, v in cls.model_fields.items() if k != "type"}
        for cls in union
    }


COMMANDS = _command_catalog()


def _enum_values(annotation: Any) -> list[str]:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [member.value for member in candidate]
    return []


@dataclass
class Real:
    """Ids that exist, so that hostile input sits next to input the rules accept."""

    member_ids: list[int]
    item_ids: list[str]
    meeting_ids: list[int]
    branch_ids: list[int]
    other_ids: list[int] = field(default_factory=lambda: [1, 2, 3])  # documents, resolutions, actions, numbers
    vote_ids: list[str] = field(default_factory=lambda: ["v1", "v2"])
    entry_ids: list[str] = field(default_factory=lambda: ["e1", "e2", "e-1"])

    def for_path(self, name: str) -> list[str]:
        pools: dict[str, list[Any]] = {
            "meeting_id": self.meeting_ids,
            "branch_id": self.branch_ids,
            "member_id": self.member_ids,
            "item_id": self.item_ids,
            "entry_id": self.entry_ids,
            "fmt": ["pdf", "docx", "html", "ics", "svg"],
            "template_id": ["regular", "thematic", "nope"],
            "path": ["js/net.js", "nope.js", "../README.md"],
        }
        return [str(v) for v in pools.get(name, self.other_ids)]


# -- hypothesis strategies (the test suite) ---------------------------------------------------------------------
def _scalars(real: Real) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HOSTILE_INTS),
        st.integers(),
        st.sampled_from(HOSTILE_FLOATS),
        st.sampled_from(HOSTILE_TEXTS),
        st.text(max_size=30),
        st.sampled_from(real.member_ids),
        st.sampled_from(real.item_ids),
    )


def json_values(real: Real) -> st.SearchStrategy[Any]:
    return st.recursive(
        _scalars(real),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
        max_leaves=6,
    )


def field_values(name: str, annotation: Any, real: Real) -> st.SearchStrategy[Any]:
    """A value for a field of this name: mostly plausible, often hostile, sometimes anything at all."""
    if name.endswith("member_id") or name in ("speaker_id", "chair_id", "clerk_id", "presenter_id", "assignee_id"):
        plausible = st.sampled_from(real.member_ids)
    elif name == "item_id":
        plausible = st.sampled_from(real.item_ids)
    elif name == "vote_id":
        plausible = st.sampled_from(real.vote_ids)
    elif name == "entry_id":
        plausible = st.sampled_from(real.entry_ids)
    elif name == "order":
        plausible = st.permutations(real.item_ids).map(list)
    elif name.startswith("votes_"):
        plausible = st.integers(0, 20)
    elif name == "hall":
        plausible = st.booleans()
    elif _enum_values(annotation):
        plausible = st.sampled_from(_enum_values(annotation))
    else:
        plausible = st.text(min_size=1, max_size=40)
    hostile = st.one_of(st.sampled_from(HOSTILE_INTS), st.sampled_from(HOSTILE_TEXTS), json_values(real))
    return weighted(plausible, 0.6, hostile)


def commands(real: Real) -> st.SearchStrategy[dict[str, Any]]:
    def of_type(kind: str) -> st.SearchStrategy[dict[str, Any]]:
        fields = COMMANDS[kind]
        return st.fixed_dictionaries(
            {"type": st.just(kind)},
            optional={
                **{name: field_values(name, annotation, real) for name, annotation in fields.items()},
                "extra": st.sampled_from(HOSTILE_TEXTS),
            },
        )

    return st.sampled_from(sorted(COMMANDS)).flatmap(of_type)


def sendable(text: str) -> str:
    """A WebSocket text frame must be UTF-8: a lone surrogate becomes U+FFFD (escaped in JSON it stays hostile)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _dumps(value: Any, ascii_only: bool) -> str:
    return sendable(json.dumps(value, ensure_ascii=ascii_only, allow_nan=True))


def hellos(tokens: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Hello frames: real tokens and hostile ones, sequence numbers no journal has, roles that do not exist."""
    return st.fixed_dictionaries(
        {"type": st.just("hello")},
        optional={
            "token": st.sampled_from(tokens) | st.sampled_from(tokens) | st.sampled_from(HOSTILE_TEXTS),
            "last_seq": st.none() | st.sampled_from(HOSTILE_INTS) | st.integers(),
            "role": st.sampled_from(["member", "hall", "chair", ""]),
            "v": st.sampled_from([1, 2, 2**64]),
        },
    )


def frames(real: Real, tokens: list[str]) -> st.SearchStrategy[str]:
    """One live frame's text: commands (most), the protocol's other frames with hostile fields, and garbage."""
    command_frame = st.fixed_dictionaries(
        {
            "type": st.just("command"),
            # "<id>": the test makes it a unique valid id
            "id": weighted(st.just("<id>"), 0.8, st.sampled_from(HOSTILE_TEXTS) | st.integers()),
            "command": commands(real),
        }
    )
    hello = hellos(tokens)
    other = st.one_of(
        st.just({"type": "ping"}),
        st.just({"type": "pong"}),
        hello,
        st.fixed_dictionaries({"type": st.just("rtc"), "kind": st.text(max_size=40)}, optional={"sdp": st.text()}),
        st.fixed_dictionaries({"type": st.sampled_from(HOSTILE_TEXTS)}, optional={"x": json_values(real)}),
        json_values(real),
    )
    structured = weighted(command_frame, 0.7, other)
    as_text = st.tuples(structured, st.booleans()).map(lambda pair: _dumps(*pair))
    garbage = st.one_of(
        st.sampled_from(DEEP_TEXTS), st.text(max_size=60), st.just("x" * 70_000), st.sampled_from(HOSTILE_TEXTS)
    ).map(sendable)
    return weighted(as_text, 0.85, garbage)


def weighted(usual: st.SearchStrategy[Any], share: float, rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` about `share` of the time (hypothesis's one_of would favour the simpler branch, the garbage)."""
    return st.integers(0, 99).flatmap(lambda n: usual if n < share * 100 else rare)


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str
    role: str
    body: bytes | None
    content_type: str = "application/json"


def _body_models(routes: list[Any]) -> dict[tuple[str, str], type[BaseModel] | None]:
    from starlette.routing import Route

    found = {}
    for route in routes:
        if isinstance(route, Route):
            description = getattr(route.endpoint, "__openapi__", None)
            for method in route.methods or ():
                found[(method, route.path)] = getattr(description, "body", None)
    return found


def http_calls(app_routes: list[Any], real: Real, roles: list[str]) -> st.SearchStrategy[HttpCall]:
    """A request to any route of the app (meeting.app.collect_routes()), by any caller, with hostile parts."""
    from starlette.routing import Route

    routes = sorted(
        (
            (method, route)
            for route in app_routes
            if isinstance(route, Route)
            for method in route.methods or ()
            if method != "HEAD"
        ),
        key=lambda pair: (pair[1].path, pair[0]),
    )
    models = _body_models(app_routes)

    @st.composite
    def call(draw: st.DrawFn) -> HttpCall:
        method, route = draw(st.sampled_from(routes))
        params = {
            name: draw(st.sampled_from(real.for_path(name)) | st.sampled_from(PATH_HOSTILE))
            for name in route.param_convertors
        }
        path = route.path_format.format(**{k: quote(v, safe="%") for k, v in params.items()})
        query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), st.sampled_from(QUERY_HOSTILE), max_size=3))
        if query:
            path += "?" + "&".join(f"{k}={quote(v, safe='%')}" for k, v in query.items())
        model = models.get((method, route.path))
        names = list(model.model_fields) if model is not None else ["command", "title", "member_id", "text"]
        structured = st.fixed_dictionaries({}, optional={name: field_values(name, None, real) for name in names}).map(
            lambda body: json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")
        )
        if "command" in names:
            structured = structured | commands(real).map(lambda c: json.dumps({"command": c}, allow_nan=True).encode())
        body = draw(
            st.one_of(
                st.none(),
                structured,
                structured,
                json_values(real).map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")),
                st.sampled_from([t.encode() for t in DEEP_TEXTS]),
                st.sampled_from([b"\xff\xfe", b"\x00", b"%PDF-1.4\n%%EOF\n", b"PK\x03\x04"]),
            )
        )
        return HttpCall(method, path, draw(st.sampled_from(roles)), body)

    return call()


# -- the same pools with `random` (bench/fuzz.py: 100,000 frames) ------------------------------------------------
def random_scalar(rng: random.Random, real: Real) -> Any:
    pool = rng.randrange(6)
    if pool == 0:
        return rng.choice(HOSTILE_INTS)
    if pool == 1:
        return rng.choice(HOSTILE_FLOATS)
    if pool == 2:
        return rng.choice(HOSTILE_TEXTS)
    if pool == 3:
        return rng.choice(real.member_ids)
    if pool == 4:
        return rng.choice(real.item_ids)
    return rng.choice([None, True, False, rng.randrange(-5, 100), "".join(rng.choices("abcĐ0_-", k=5))])


def random_value(rng: random.Random, real: Real, depth: int = 0) -> Any:
    shape = rng.randrange(8) if depth < 3 else 0
    if shape == 6:
        return [random_value(rng, real, depth + 1) for _ in range(rng.randrange(4))]
    if shape == 7:
        return {rng.choice(QUERY_KEYS): random_value(rng, real, depth + 1) for _ in range(rng.randrange(4))}
    return random_scalar(rng, real)


def random_field(rng: random.Random, name: str, annotation: Any, real: Real) -> Any:
    if rng.random() < 0.35:
        return random_value(rng, real)
    if name.endswith("member_id") or name in ("speaker_id", "chair_id", "clerk_id", "presenter_id", "assignee_id"):
        return rng.choice(real.member_ids)
    if name == "item_id":
        return rng.choice(real.item_ids)
    if name == "vote_id":
        return rng.choice(real.vote_ids)
    if name == "entry_id":
        return rng.choice(real.entry_ids)
    if name == "order":
        return rng.sample(real.item_ids, len(real.item_ids))
    if name.startswith("votes_"):
        return rng.randrange(20)
    if name == "hall":
        return rng.random() < 0.5
    values = _enum_values(annotation)
    if values:
        return rng.choice(values)
    return "".join(rng.choices("Nội dung phát biểu abc ", k=rng.randrange(1, 40)))


def random_command(rng: random.Random, real: Real) -> dict[str, Any]:
    kind = rng.choice(sorted(COMMANDS))
    if kind == "end_meeting" and rng.random() < 0.98:  # an ended meeting refuses the rest: end it seldom
        kind = "start_meeting"
    command: dict[str, Any] = {"type": kind}
    for name, annotation in COMMANDS[kind].items():
        if rng.random() < 0.85:
            command[name] = random_field(rng, name, annotation, real)
    if rng.random() < 0.05:
        command["extra"] = random_value(rng, real)
    return command


def random_frame(rng: random.Random, real: Real, tokens: list[str], command_id: str) -> str:
    roll = rng.random()
    if roll < 0.6:
        frame_id: Any = command_id if rng.random() < 0.9 else rng.choice([*HOSTILE_TEXTS, 2**64])
        value: Any = {"type": "command", "id": frame_id, "command": random_command(rng, real)}
    elif roll < 0.7:
        value = {"type": rng.choice(["ping", "pong"])}
    elif roll < 0.75:
        value = {"type": "hello", "token": rng.choice(tokens), "last_seq": rng.choice([None, *HOSTILE_INTS])}
    elif roll < 0.8:
        value = {"type": "rtc", "kind": rng.choice(["offer", "candidate", "answer", "x" * 40]), "sdp": "v=0"}
    elif roll < 0.9:
        value = random_value(rng, real)
    else:
        return sendable(rng.choice([*DEEP_TEXTS, *HOSTILE_TEXTS, "x" * 70_000, "{", '{"type":']))
    return _dumps(value, rng.random() < 0.5)


_TARGETS: dict[int, tuple[list[tuple[str, Any]], dict[tuple[str, str], Any]]] = {}


def random_http_call(rng: random.Random, app_routes: list[Any], real: Real, roles: list[str]) -> HttpCall:
    """What `http_calls` draws, drawn with `random`."""
    from starlette.routing import Route

    key = id(app_routes)
    if key not in _TARGETS:  # worked out once per route list: a long run draws from it 10,000 times
        pairs = [(m, r) for r in app_routes if isinstance(r, Route) for m in sorted(r.methods or ()) if m != "HEAD"]
        _TARGETS[key] = (pairs, _body_models(app_routes))
    pairs, models = _TARGETS[key]
    method, route = rng.choice(pairs)
    params = {
        name: rng.choice(real.for_path(name) if rng.random() < 0.7 else PATH_HOSTILE) for name in route.param_convertors
    }
    path = route.path_format.format(**{k: quote(v, safe="%") for k, v in params.items()})
    query = {rng.choice(QUERY_KEYS): rng.choice(QUERY_HOSTILE) for _ in range(rng.randrange(3))}
    if query:
        path += "?" + "&".join(f"{k}={quote(v, safe='%')}" for k, v in query.items())
    model = models.get((method, route.path))
    names = list(model.model_fields) if model is not None else ["command", "title", "member_id", "text"]
    roll = rng.random()
    body: bytes | None
    if roll < 0.2:
        body = None
    elif roll < 0.75:
        fields = {name: random_field(rng, name, None, real) for name in names if rng.random() < 0.8}
        if "command" in names and rng.random() < 0.7:
            fields["command"] = random_command(rng, real)
        body = json.dumps(fields, allow_nan=True).encode("utf-8", "surrogatepass")
    elif roll < 0.9:
        body = json.dumps(random_value(rng, real), allow_nan=True).encode("utf-8", "surrogatepass")
    else:
        body = rng.choice([*(t.encode() for t in DEEP_TEXTS), b"\xff\xfe", b"\x00", b"%PDF-1.4\n%%EOF\n"])
    return HttpCall(method, path, rng.choice(roles), body)
