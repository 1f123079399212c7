"""Routes around the meeting (issue 7): planning assignments and warnings, documents, invitations and absence
notices, the branch report, participation statistics. All under /api/prep/.

Who may do what:
- preparers of a meeting (the branch's secretary or deputy, or the meeting's chair or clerk): assign speakers,
  upload, distribute and delete documents, see who opened them, see absence notices, make the report;
- the branch's secretary or deputy: send the report to the commune, see participation statistics;
- every member of the branch (or an invite link for that meeting): the plan, distributed documents, the
  calendar file, their own absence notice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meeting import commune, documents, planning, reports, stats
from meeting.api.access import int_param, may_prepare, require_preparer, require_viewer
from meeting.api.common import UPLOAD_OVERHEAD, capped, ctx, parse_body, principal
from meeting.auth import Principal
from meeting.db.models import Meeting, Member, ReportSubmission
from meeting.errors import Rejected
from meeting.inputs import FIRST_YEAR, LAST_YEAR, DbId, refuse_nul

# -- who is asking: see meeting.api.access ------------------------------------------------------------------
_int = int_param


def document_store(request: Request) -> documents.DocumentStore:
    """One store per application (an object-storage client is worth keeping)."""
    state = request.app.state
    store = getattr(state, "document_store", None)
    if store is None:
        store = documents.store_from_settings(ctx(request).settings)
        state.document_store = store
    return store


def file_response(data: bytes, content_type: str, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# -- planning -----------------------------------------------------------------------------------------------------
def get_plan(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        plan = planning.plan_to_json(session, meeting)
        if not may_prepare(who, meeting):
            plan["warnings"] = []  # the reminders are for those who prepare
        return JSONResponse(plan)


class SpeakersBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    presenter_id: DbId | None = None
    designated_speakers: Annotated[list[DbId], Field(max_length=50)] = []


async def put_speakers(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, SpeakersBody)
    meeting_id, item_id = _int(request, "meeting_id"), request.path_params["item_id"]

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            meeting = planning.get_meeting(session, meeting_id)
            require_viewer(who, meeting)
            require_preparer(who, meeting)
            planning.assign_speakers(
                session,
                meeting_id,
                item_id,
                presenter_id=body.presenter_id,
                designated_speakers=body.designated_speakers,
            )
            return planning.plan_to_json(session, meeting)

    return JSONResponse(await anyio.to_thread.run_sync(work))


# -- documents ----------------------------------------------------------------------------------------------------
def list_documents(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        preparer = may_prepare(who, meeting)
        found = documents.meeting_documents(session, meeting.id, distributed_only=not preparer)
        return JSONResponse({"documents": [documents.document_to_json(d) for d in found]})


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes, str, str]:
    """(filename, data, kind, title) from a multipart form (field `file`) or a raw body (?filename=)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form_request = capped(request, limit + UPLOAD_OVERHEAD, documents.too_large(limit))
        async with form_request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise Rejected("bad_request", status=422, detail="file: a file is required")
            data = await upload.read(limit + 1)  # one byte over: check_upload refuses it
            kind = refuse_nul(str(form.get("kind") or "other"), "kind")
            title = refuse_nul(str(form.get("title") or ""), "title")
            return upload.filename or "", data, kind, title
    # A raw body (the file itself): refused at the first byte past the limit, so nothing cut short is stored.
    data = b"".join([chunk async for chunk in capped(request, limit, documents.too_large(limit)).stream()])
    params = request.query_params
    return params.get("filename", ""), data, params.get("kind", "other"), params.get("title", "")


async def upload_document(request: Request) -> JSONResponse:
    who = principal(request)
    meeting_id = _int(request, "meeting_id")
    context = ctx(request)

    def check() -> None:
        with context.sessions() as session:
            meeting = planning.get_meeting(session, meeting_id)
            require_viewer(who, meeting)
            require_preparer(who, meeting)

    await anyio.to_thread.run_sync(check)  # refuse before reading a large body
    limit = _document_limit(context)
    filename, data, kind, title = await _read_upload(request, limit)
    store = document_store(request)

    def work() -> dict[str, Any]:
        with context.sessions.begin() as session:
            document = documents.upload(
                session,
                store,
                meeting_id=meeting_id,
                filename=filename,
                data=data,
                kind=kind,
                title=title,
                user_id=who.user_id,
                limit=limit,
            )
            return documents.document_to_json(document)

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


class DistributeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_ids: Annotated[list[DbId], Field(max_length=100)] | None = None  # None: every one not yet distributed


async def distribute(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, DistributeBody)
    meeting_id = _int(request, "meeting_id")

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            meeting = planning.get_meeting(session, meeting_id)
            require_viewer(who, meeting)
            require_preparer(who, meeting)
            found = documents.distribute(session, meeting_id, body.document_ids, user_id=who.user_id)
            return {
                "documents": [documents.document_to_json(d) for d in found],
                "warnings": [w.to_json() for w in planning.plan_warnings(session, meeting)],
            }

    return JSONResponse(await anyio.to_thread.run_sync(work))


def _document_and_meeting(session: Any, request: Request) -> tuple[Any, Meeting]:
    document = documents.get_document(session, _int(request, "document_id"))
    meeting = session.get(Meeting, document.meeting_id) if document.meeting_id else None
    if meeting is None:
        raise Rejected("not_found", status=404, what="document")
    return document, meeting


def download_document(request: Request) -> Response:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        document, meeting = _document_and_meeting(session, request)
        try:
            require_viewer(who, meeting)
        except Rejected as exc:
            raise Rejected("not_found", status=404, what="document") from exc
        if document.distributed_at is None and not may_prepare(who, meeting):
            raise Rejected("not_found", status=404, what="document")
        data = documents.open_document(
            session, document_store(request), document, user_id=who.user_id, member_id=who.member_id
        )
        return file_response(data, document.content_type, document.filename, inline=True)


def delete_document(request: Request) -> Response:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        document, meeting = _document_and_meeting(session, request)
        require_viewer(who, meeting)
        require_preparer(who, meeting)
        documents.delete_document(session, document_store(request), document)
    return Response(status_code=204)


def document_access(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        require_preparer(who, meeting)
        report = documents.access_report(session, meeting.id)
    # The upload limit in force, so the page's hint says the real one.
    return JSONResponse({"documents": report, "max_bytes": _document_limit(ctx(request))})


def _document_limit(context: Any) -> int:
    return int(context.settings.extra.get("max_document_bytes", documents.MAX_DOCUMENT_BYTES))


# -- invitations and absence notices -----------------------------------------------------------------------------
def invitation_ics(request: Request) -> Response:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        text = planning.meeting_ics(session, meeting, ctx(request).settings.public_url)
    return file_response(text.encode("utf-8"), "text/calendar; charset=utf-8", f"hop-chi-bo-{meeting.id}.ics")


def _member_of(session: Any, who: Principal) -> Member:
    member = session.get(Member, who.member_id) if who.member_id is not None else None
    if member is None or member.branch_id != who.branch_id:
        raise Rejected("forbidden", status=403)
    return member


def my_meetings(request: Request) -> JSONResponse:
    who = principal(request)
    public_url = ctx(request).settings.public_url.rstrip("/")
    with ctx(request).sessions() as session:
        member = _member_of(session, who)
        listed = planning.member_meetings(session, member)
    if who.meeting_id is not None:  # an invite link shows its own meeting only
        listed = [m for m in listed if m["meeting_id"] == who.meeting_id]
    for entry in listed:
        entry["calendar_url"] = f"{public_url}/api/prep/meetings/{entry['meeting_id']}/invitation.ics"
    return JSONResponse({"meetings": listed})


class AbsenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=500)]


async def send_absence(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, AbsenceBody)
    meeting_id = _int(request, "meeting_id")

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            meeting = planning.get_meeting(session, meeting_id)
            require_viewer(who, meeting)
            member = _member_of(session, who)
            notice = planning.send_absence_notice(session, meeting_id, member.id, body.reason)
            return {
                "meeting_id": meeting_id,
                "member_id": member.id,
                "reason": notice.reason,
                "sent_at": notice.sent_at.isoformat(),
                # The journal already open: the clerk records the absence from the list of notices.
                "prefilled": not meeting.journal_seq,
            }

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


def withdraw_absence(request: Request) -> Response:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        member = _member_of(session, who)
        planning.withdraw_absence_notice(session, meeting.id, member.id)
    return Response(status_code=204)


def list_absences(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        require_preparer(who, meeting)
        notices = planning.active_absence_notices(session, meeting.id)
        names = {m.id: m.full_name for m in session.query(Member).filter(Member.branch_id == meeting.branch_id)}
        return JSONResponse(
            {
                "absences": [
                    {
                        "member_id": n.member_id,
                        "name": names.get(n.member_id, ""),
                        "reason": n.reason,
                        "sent_at": planning._aware(n.sent_at).isoformat(),
                    }
                    for n in notices
                ]
            }
        )


# -- after the meeting --------------------------------------------------------------------------------------------
def report_file(request: Request) -> Response:
    who = principal(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("docx", "pdf"):
        raise Rejected("not_found", status=404, what="report format")
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        require_preparer(who, meeting)
        report = reports.build_report(session, meeting.id)
    return render_report(report, fmt)


def render_report(report: reports.BranchReport, fmt: str) -> Response:
    name = f"bao-cao-hop-chi-bo-{report.meeting_id}.{fmt}"
    if fmt == "pdf":
        return file_response(reports.render_pdf(report), "application/pdf", name)
    return file_response(reports.render_docx(report), documents.DOCX.content_type, name)


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes_shared: bool = False
    note: Annotated[str, Field(max_length=5000)] = ""


async def submit_report(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, SubmitBody)
    meeting_id = _int(request, "meeting_id")

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            meeting = planning.get_meeting(session, meeting_id)
            require_viewer(who, meeting)
            if not who.may_manage_branch(meeting.branch_id):
                raise Rejected("forbidden", status=403)
            submission = commune.submit_report(
                session, meeting, user_id=who.user_id, minutes_shared=body.minutes_shared, note=body.note
            )
            return _submission_to_json(submission)

    return JSONResponse(await anyio.to_thread.run_sync(work))


def _submission_to_json(submission: ReportSubmission) -> dict[str, Any]:
    """A report as sent to the commune: what sending it answers and what asking about it later reads."""
    return {
        "meeting_id": submission.meeting_id,
        "submitted_at": planning._aware(submission.submitted_at).isoformat(),
        "minutes_shared": submission.minutes_shared,
        "note": submission.note,
    }


def report_submission(request: Request) -> JSONResponse:
    """Whether (and when, how) this meeting's report went to the commune: `{"submission": null}` until it did."""
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, _int(request, "meeting_id"))
        require_viewer(who, meeting)
        require_preparer(who, meeting)
        submission = session.get(ReportSubmission, meeting.id)
        return JSONResponse({"submission": _submission_to_json(submission) if submission else None})


def _period(request: Request) -> tuple[datetime | None, datetime | None]:
    def parse(name: str) -> datetime | None:
        value = request.query_params.get(name)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise Rejected("bad_request", status=422, detail=f"{name}: an ISO date") from exc
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # the window's arithmetic must stay within datetime's range
            raise Rejected("bad_request", status=422, detail=f"{name}: a year from {FIRST_YEAR} to {LAST_YEAR}")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return parse("since"), parse("until")


def _participation(request: Request) -> stats.BranchParticipation:
    who = principal(request)
    branch_id = _int(request, "branch_id")
    if not who.may_manage_branch(branch_id):
        raise Rejected("forbidden", status=403)
    since, until = _period(request)
    with ctx(request).sessions() as session:
        return stats.branch_participation(session, branch_id, since=since, until=until)


def participation(request: Request) -> JSONResponse:
    return JSONResponse(_participation(request).to_json())


def participation_chart(request: Request) -> Response:
    report = _participation(request)
    svg = stats.participation_svg(report, lang=request.query_params.get("lang", "vi"))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


routes: list[BaseRoute] = [
    Route("/api/prep/meetings/{meeting_id:int}", get_plan, methods=["GET"]),
    Route("/api/prep/meetings/{meeting_id:int}/items/{item_id}/speakers", put_speakers, methods=["PUT"]),
    Route("/api/prep/meetings/{meeting_id:int}/documents", list_documents, methods=["GET"]),
    Route("/api/prep/meetings/{meeting_id:int}/documents", upload_document, methods=["POST"]),
    Route("/api/prep/meetings/{meeting_id:int}/distribute", distribute, methods=["POST"]),
    Route("/api/prep/meetings/{meeting_id:int}/access", document_access, methods=["GET"]),
    Route("/api/prep/documents/{document_id:int}/file", download_document, methods=["GET"]),
    Route("/api/prep/documents/{document_id:int}", delete_document, methods=["DELETE"]),
    Route("/api/prep/meetings/{meeting_id:int}/invitation.ics", invitation_ics, methods=["GET"]),
    Route("/api/prep/my/meetings", my_meetings, methods=["GET"]),
    Route("/api/prep/meetings/{meeting_id:int}/absence", send_absence, methods=["POST"]),
    Route("/api/prep/meetings/{meeting_id:int}/absence", withdraw_absence, methods=["DELETE"]),
    Route("/api/prep/meetings/{meeting_id:int}/absences", list_absences, methods=["GET"]),
    Route("/api/prep/meetings/{meeting_id:int}/report.{fmt:str}", report_file, methods=["GET"]),
    Route("/api/prep/meetings/{meeting_id:int}/report/submit", submit_report, methods=["POST"]),
    Route("/api/prep/meetings/{meeting_id:int}/report/submission", report_submission, methods=["GET"]),
    Route("/api/prep/branches/{branch_id:int}/participation", participation, methods=["GET"]),
    Route("/api/prep/branches/{branch_id:int}/participation.svg", participation_chart, methods=["GET"]),
]
