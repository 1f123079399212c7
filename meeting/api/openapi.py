"""The OpenAPI 3.1 document, generated from the route table: each handler may carry `@describe(...)` with its
summary and request model; paths, methods and path parameters come from the routes themselves, and schemas from
the pydantic models, so the document cannot drift from the code."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.routing import BaseRoute, Route

Handler = TypeVar("Handler", bound=Callable[..., Any])
PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?}")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "message_en"],
            "properties": {
                "code": {"type": "string", "description": "stable code, see meeting/errors.py"},
                "message": {"type": "string", "description": "Vietnamese"},
                "message_en": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


@dataclass(frozen=True)
class Description:
    summary: str
    body: type[BaseModel] | None = None
    public: bool = False  # no access token needed
    tag: str | None = None
    query: type[BaseModel] | None = None  # the query string, parsed by `meeting.api.common.parse_query`
    status: int = 200  # the status of a success


def describe(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    public: bool = False,
    tag: str | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
):
    def attach(handler: Handler) -> Handler:
        handler.__openapi__ = Description(summary, body, public, tag, query, status)  # type: ignore[attr-defined]
        return handler

    return attach


def _description(route: Route) -> Description:
    found = getattr(route.endpoint, "__openapi__", None)
    if found is not None:
        return found
    doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
    return Description(doc[0] if doc else route.path)


def _tag(path: str) -> str:
    parts = [p for p in path.split("/") if p and not p.startswith("{")]
    return parts[1] if len(parts) > 1 and parts[0] == "api" else parts[0] if parts else "root"


def document(routes: Iterable[BaseRoute], title: str = "chibo", version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        info = _description(route)
        path = PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer"} if convertor == "int" else {"type": "string"},
            }
            for name, convertor in PARAM.findall(route.path)
        ]
        if info.query is not None:
            query_schema = info.query.model_json_schema()
            parameters += [
                {
                    "name": name,
                    "in": "query",
                    "required": name in query_schema.get("required", []),
                    "schema": field_schema,
                }
                for name, field_schema in query_schema["properties"].items()
            ]
        for method in sorted(route.methods or []):
            if method == "HEAD":
                continue
            operation: dict[str, Any] = {
                "summary": info.summary,
                "operationId": method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_"),
                "tags": [info.tag or _tag(route.path)],
                "parameters": parameters,
                "responses": {
                    str(info.status): {"description": "No content" if info.status == 204 else "OK"},
                    "default": {
                        "description": "error",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
            if not info.public:
                operation["security"] = [{"bearer": []}]
            if info.body is not None:
                schema = info.body.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in schema.pop("$defs", {}).items():
                    schemas[name] = definition
                schemas[info.body.__name__] = schema
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{info.body.__name__}"}}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": "Hybrid branch meetings: HTTP API"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
