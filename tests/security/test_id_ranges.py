"""Numbers no database row can hold (ids past 2**63-1, negative ones, "1e400", dates at the ends of the calendar)
are "not found" or "invalid" (404, 422), never a fault (500), wherever they come in: path, query, body, frame.

Every route of the app is tried (the route table of tests/api gives a request each route accepts), every path
parameter replaced in turn; every int field of every request model is checked to carry the database's bound.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from starlette.routing import Route

import meeting.api
from meeting.domain.commands import COMMAND_ADAPTER
from meeting.inputs import DB_INT_MAX
from signaling import protocol
from tests.api.test_route_matrix import TABLE, _prepare
from tests.api.world import World, new_meeting_body

OUT_OF_RANGE = ["9223372036854775808", "18446744073709551616", "-1", "1e400", "99999999999999999999999999999"]
# As JSON text: 1e400 is infinite to a parser, NaN and Infinity are what Python's json writes for them.
BODY_OUT_OF_RANGE = ["9223372036854775808", "18446744073709551616", "-1", "0", "1e30", "1e400", "Infinity", "NaN"]
HOSTILE = "__hostile__"
BEYOND_THE_CALENDAR = ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00-14:00"]


def _route(world: World, method: str, template: str) -> Route:
    return next(
        r for r in world.client.app.routes if isinstance(r, Route) and r.path == template and method in r.methods
    )


def test_every_path_parameter_out_of_range_is_not_found(world: World):
    fx = _prepare(world)
    failures, tried = [], 0
    for (method, template), spec in TABLE.items():
        if "{" not in template:
            continue
        route = _route(world, method, template)
        for name in route.param_convertors:
            for hostile in OUT_OF_RANGE:
                if spec.request is not None:  # a request the route accepts...
                    path, kwargs = spec.request(world, fx, "secretary")
                else:
                    path, kwargs = template.replace("{meeting_id:int}", str(world.a.meeting_id)), {}
                path, mark, query = path.partition("?")
                params = route.path_regex.match(path).groupdict()
                params[name] = hostile  # ...with one path parameter out of range
                hostile_path = route.path_format.format(**params) + mark + query
                headers = {**kwargs.pop("headers", {}), **world.headers("secretary")}
                response = world.client.request(method, hostile_path, headers=headers, **kwargs)
                tried += 1
                if spec.revokes:
                    world.renew_tokens()
                if response.status_code >= 500 or response.status_code not in (400, 403, 404, 405, 409, 422):
                    failures.append(f"{method} {hostile_path}: {response.status_code} {response.text[:120]}")
                elif response.json().get("error") is None:
                    failures.append(f"{method} {hostile_path}: {response.status_code} without the error shape")
    assert tried > 200, tried  # every route with an id in its path, each of them five times
    assert not failures, "\n".join(failures)


def test_the_websocket_path_out_of_range_is_refused_at_the_handshake(world: World):
    for hostile in OUT_OF_RANGE:
        with pytest.raises(Exception) as refused, world.client.websocket_connect(f"/ws/meetings/{hostile}"):
            pass
        assert "500" not in str(refused.value)


@pytest.mark.parametrize(
    "query",
    [
        *(f"after={v}" for v in OUT_OF_RANGE),
        *(f"limit={v}" for v in OUT_OF_RANGE),
    ],
)
def test_journal_query_out_of_range_is_invalid(world: World, query: str):
    response = world.client.get(
        f"/api/meetings/{world.a.meeting_id}/journal?{query}", headers=world.headers("secretary")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
def test_participation_window_beyond_the_calendar_is_invalid(world: World, name: str, moment: str):
    for suffix in ("participation", "participation.svg"):
        response = world.client.get(
            f"/api/prep/branches/{world.a.branch_id}/{suffix}",
            params={name: moment},
            headers=world.headers("secretary"),
        )
        assert response.status_code == 422, f"{suffix}?{name}={moment}: {response.status_code} {response.text}"


def _hostile_bodies(world: World) -> list[tuple[str, str, dict, list[str]]]:
    """(method, path, a body the route accepts, the keys holding ids) for every route whose body names an id."""
    a, m = world.a, world.a.meeting_id
    item = a.item_ids[0]
    return [
        ("POST", f"/api/branches/{a.branch_id}/meetings", new_meeting_body(world), ["chair_id", "clerk_id"]),
        ("POST", f"/api/meetings/{m}/invites", {"member_id": a.officials[4]}, ["member_id"]),
        (
            "PUT",
            f"/api/prep/meetings/{m}/items/{item}/speakers",
            {"presenter_id": a.officials[2], "designated_speakers": [a.officials[3]]},
            ["presenter_id", "designated_speakers"],
        ),
        ("POST", f"/api/prep/meetings/{m}/distribute", {"document_ids": [1]}, ["document_ids"]),
        (
            "POST",
            f"/api/meetings/{m}/commands",
            {"command": {"type": "check_in", "member_id": a.officials[2], "mode": "remote"}},
            ["command.member_id"],
        ),
        (
            "POST",
            f"/api/meetings/{m}/commands",
            {"command": {"type": "grant_floor", "member_id": a.officials[2]}},
            ["command.member_id"],
        ),
    ]


def _with_value(body: dict, key: str, value: Any) -> dict:
    body = {k: dict(v) if isinstance(v, dict) else v for k, v in body.items()}
    outer, _, inner = key.partition(".")
    if inner:
        body[outer][inner] = value
    else:
        body[outer] = [value] if isinstance(body[outer], list) else value
    return body


def test_ids_out_of_range_in_bodies_are_invalid(world: World):
    failures = []
    for method, path, body, keys in _hostile_bodies(world):
        for key in keys:
            for value in BODY_OUT_OF_RANGE:
                content = json.dumps(_with_value(body, key, HOSTILE)).replace(f'"{HOSTILE}"', value)
                headers = {**world.headers("secretary"), "Content-Type": "application/json"}
                response = world.client.request(method, path, content=content, headers=headers)
                if response.status_code not in (404, 422):
                    failures.append(f"{method} {path} {key}={value}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)


def test_dates_beyond_the_calendar_in_bodies_are_invalid(world: World):
    secretary = world.headers("secretary")
    for moment in BEYOND_THE_CALENDAR:
        body = {**new_meeting_body(world), "scheduled_at": moment}
        created = world.client.post(f"/api/branches/{world.a.branch_id}/meetings", json=body, headers=secretary)
        assert created.status_code == 422, created.text
    action = {
        "assignee_id": world.a.officials[2],
        "task": "Việc",
        "deadline": "9999-12-31",
        "responsible": "Chi ủy",
        "expected_result": "Xong",
    }
    resolution = {"title": "Nghị quyết", "actions": [action]}
    added = world.client.post(f"/api/meetings/{world.a.meeting_id}/resolutions", json=resolution, headers=secretary)
    assert added.status_code == 422, added.text
    action["deadline"] = "2030-01-31"
    added = world.client.post(f"/api/meetings/{world.a.meeting_id}/resolutions", json=resolution, headers=secretary)
    assert added.status_code == 201, added.text  # the same with a deadline in range: the date was the refusal


# -- every int a client can send carries the database's bound -------------------------------------------------------
def _request_models() -> dict[str, Any]:
    """Every pydantic model a request or a frame is validated by: the API's, the pages', the commands, the frames."""
    found: dict[str, Any] = {}
    modules = [f"meeting.api.{m.name}" for m in pkgutil.iter_modules(meeting.api.__path__)]
    for name in [*modules, "meeting.web", "signaling.media.signal"]:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == name:
                found[f"{name}.{value.__name__}"] = TypeAdapter(value)
    found["commands"] = COMMAND_ADAPTER
    found["frames"] = protocol.INCOMING
    return found


def _unbounded_integers(schema: Any, where: str) -> list[str]:
    if isinstance(schema, list):
        return [p for i, s in enumerate(schema) for p in _unbounded_integers(s, f"{where}[{i}]")]
    if not isinstance(schema, dict):
        return []
    problems = []
    if schema.get("type") == "integer" and "const" not in schema and "enum" not in schema:
        upper = schema.get("maximum", schema.get("exclusiveMaximum"))
        lower = schema.get("minimum", schema.get("exclusiveMinimum"))
        if upper is None or upper > DB_INT_MAX or lower is None or lower < -DB_INT_MAX:
            problems.append(where)
    for key, value in schema.items():
        problems += _unbounded_integers(value, f"{where}.{key}")
    return problems


def test_every_int_field_of_every_request_model_is_bounded():
    models = _request_models()
    assert len(models) > 25, sorted(models)  # the walk found the API's models, not just a few
    problems = [p for name, adapter in models.items() for p in _unbounded_integers(adapter.json_schema(), name)]
    assert not problems, "integers without the database's bound (use meeting.inputs.DbId or Seq):\n" + "\n".join(
        problems
    )
