"""The ASGI application: the HTTP API, the live hub and the browser apps, on one Starlette app."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meeting.api.common import error_response, handle_http, handle_rejected, handle_unexpected
from meeting.api.openapi import describe, document
from meeting.context import AppContext
from meeting.errors import Rejected
from meeting.settings import Settings
from signaling.endpoint import Live, LiveSettings, live_endpoint


@describe("This document", public=True, tag="meta")
def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document(request.app.routes))


def collect_routes() -> list[BaseRoute]:
    from meeting.api import (  # issue 7: preparation, reports, commune overview
        auth_routes,
        branch_routes,
        commune_routes,
        meeting_routes,
        prep_routes,
    )

    routes: list[BaseRoute] = [Route("/api/openapi.json", openapi_json, methods=["GET"])]
    routes += auth_routes.routes
    routes += branch_routes.routes
    routes += meeting_routes.routes
    routes += prep_routes.routes
    routes += commune_routes.routes
    from meeting.api import record_routes  # issue 6: the official record, resolutions and action items

    routes += record_routes.routes
    from meeting import health  # issue 8: liveness and readiness probes, open like any probe

    routes += health.routes
    from meeting import metrics  # issue 8: Prometheus figures, for the scraper only

    routes += metrics.routes
    from meeting import web  # issue 5: the browser apps' pages, static files and room check-in

    routes += web.routes
    return routes


# Every HTTP request that writes to a live meeting's journal: a command, opening the journal, a QR check-in.
_JOURNAL_WRITE = re.compile(r"/(api/meetings/\d+/commands|web/meetings/\d+/(open|checkin))/?$")


class DrainGate:
    """While the live side drains (signaling/endpoint.py, Live.drain) an HTTP journal write is answered 503
    `node_draining` (the browser sends it again, same id, to whichever node answers next) and `/readyz` 503,
    so the balancer stops sending work here; the commands already let in are counted until answered, so
    the drain releases the meetings' leases only after them."""

    def __init__(self, app: ASGIApp, live: Live) -> None:
        self.app = app
        self.live = live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] == "POST" and _JOURNAL_WRITE.search(scope["path"]):
            if self.live.draining:
                await error_response(Rejected("node_draining", status=503, retry_after=1))(scope, receive, send)
                return
            with self.live.command_running():
                await self.app(scope, receive, send)
        elif self.live.draining and scope["path"].endswith("/readyz"):
            await error_response(Rejected("not_ready", status=503, detail="node draining"))(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# Any HTML without a policy of its own (the page shells in meeting/web.py and the record pages set theirs): a
# document, such as the minutes as .html, that runs nothing, loads only our styles and images, and is framed by no one.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


class EdgeHeaders:
    """Every HTTP response leaves with `X-Content-Type-Options: nosniff`, and every HTML one with a
    Content-Security-Policy: here, once, so that no route can forget them. A URL holding NUL (`%00`) in its path
    or query is refused (422) before any route reads it: PostgreSQL cannot store NUL, and nothing needs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", DOCUMENT_CSP)
            await send(message)

        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            refusal = Rejected("bad_request", status=422, detail="the address may not contain the NUL character")
            await error_response(refusal)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings | None = None, context: AppContext | None = None, live_settings: LiveSettings | None = None
) -> Starlette:
    context = context or AppContext.create(settings or Settings.from_env())
    live = Live.create(context, live_settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await live.start()
        try:
            yield
        finally:
            await live.stop()
            context.engine.dispose()

    app = Starlette(
        routes=[*collect_routes(), WebSocketRoute("/ws/meetings/{meeting_id:int}", live_endpoint)],
        lifespan=lifespan,
        exception_handlers={
            Rejected: handle_rejected,
            HTTPException: handle_http,
            Exception: handle_unexpected,
        },
    )
    app.state.ctx = context
    app.state.live = live
    app.add_middleware(DrainGate, live=live)
    app.add_middleware(EdgeHeaders)
    from meeting import metrics

    metrics.install(app)
    return app
