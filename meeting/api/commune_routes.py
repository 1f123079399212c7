"""Routes for the commune committee's admin (issue 7): the overview of its branches, the reports they sent, and
minutes only where a branch shared them. Under /api/commune/; every route checks the caller administers the
commune the branch belongs to (a meeting of another commune is simply not found)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meeting import commune, reports
from meeting.api.common import ctx, principal
from meeting.api.prep_routes import render_report
from meeting.errors import Rejected


def overview(request: Request) -> JSONResponse:
    who = principal(request)
    now = datetime.now(UTC)
    with ctx(request).sessions() as session:
        admin_of = commune.admin_commune(session, who)
        month = commune.Month.parse(request.query_params.get("month"), now)
        return JSONResponse(commune.overview(session, admin_of, month, now=now))


def report_file(request: Request) -> Response:
    """The report a branch sent (only once it has been sent)."""
    who = principal(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("docx", "pdf"):
        raise Rejected("not_found", status=404, what="report format")
    with ctx(request).sessions() as session:
        admin_of = commune.admin_commune(session, who)
        meeting = commune.commune_meeting(session, admin_of, int(request.path_params["meeting_id"]))
        if commune.submission_of(session, meeting.id) is None:
            raise Rejected("not_found", status=404, what="report")
        report = reports.build_report(session, meeting.id)
    return render_report(report, fmt)


def minutes(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        admin_of = commune.admin_commune(session, who)
        return JSONResponse(commune.shared_minutes(session, admin_of, int(request.path_params["meeting_id"])))


routes: list[BaseRoute] = [
    Route("/api/commune/overview", overview, methods=["GET"]),
    Route("/api/commune/meetings/{meeting_id:int}/report.{fmt:str}", report_file, methods=["GET"]),
    Route("/api/commune/meetings/{meeting_id:int}/minutes", minutes, methods=["GET"]),
]
