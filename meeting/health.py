"""Probes for load balancers and orchestrators: `/healthz` (the process answers) and `/readyz` (it can serve).

Both are open without a token, like any health probe, and say nothing about the data: only "ok" or what is
missing (database unreachable, schema behind). Ready means the database answers and its schema is at the newest
Alembic revision shipped with this code, so a node started against an old database is kept out of rotation.
"""

from __future__ import annotations

import functools

import anyio
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from meeting.api.common import ctx
from meeting.api.openapi import describe
from meeting.db.migrate import alembic_config
from meeting.errors import Rejected

NO_STORE = {"Cache-Control": "no-store"}


@functools.cache
def code_heads() -> frozenset[str]:
    """The revisions this code expects; read once, the migration files do not change while running."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def database_heads(engine: Engine) -> frozenset[str]:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def readiness(engine: Engine) -> dict[str, str]:
    """Raises `Rejected('not_ready')` naming the first thing that is missing."""
    try:
        found = database_heads(engine)
    except Exception as exc:  # any driver error means the same thing to a probe: not reachable
        raise Rejected("not_ready", status=503, detail="database unreachable", reason=type(exc).__name__) from exc
    expected = code_heads()
    if found != expected:
        raise Rejected(
            "not_ready",
            status=503,
            detail="database schema is not at the newest revision",
            database=",".join(sorted(found)) or "empty",
            expected=",".join(sorted(expected)),
        )
    return {"status": "ok", "database": "ok", "schema": ",".join(sorted(found))}


@describe("The process is alive (no database access)", public=True, tag="meta")
def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@describe("The node can serve: database reachable and schema at the newest revision", public=True, tag="meta")
async def readyz(request: Request) -> JSONResponse:
    engine = ctx(request).engine
    # A blocking driver call: kept off the event loop, so a hung database never stalls live meetings.
    body = await anyio.to_thread.run_sync(readiness, engine)
    return JSONResponse(body, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
