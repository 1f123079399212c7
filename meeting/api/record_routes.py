"""The official record over HTTP: the minutes (draft or sealed) as JSON, HTML, DOCX and PDF; signing; addenda;
verification of the record and of an uploaded file; resolutions and their "5 rõ" action items; the previous
resolution's items for the review step; a member's own items. Plus the record viewer's and verifier's pages.

Who may do what: members of the meeting's branch read (an invite link reaches its own meeting's record, so a
remote member can read the draft at the adoption step; after the meeting the same link gives a record token,
which reads that meeting's sealed record and nothing else: `record_reader` and `record_for_reader`, called by
the four read routes); only the meeting's chair and clerk sign and write addenda; the branch's secretary or
deputy and the meeting's chair and clerk draft resolutions; an action item's assignee may mark it done. Anyone
else is told the meeting does not exist (404).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meeting import journal
from meeting.api.access import int_param, meeting_for_viewer, record_for_reader, require_preparer
from meeting.api.common import (
    UPLOAD_OVERHEAD,
    body_too_large,
    capped,
    ctx,
    parse_body,
    principal,
    read_limited,
    record_reader,
)
from meeting.api.openapi import describe
from meeting.auth import Principal
from meeting.db.models import ActionItem, Meeting, Resolution
from meeting.errors import Rejected
from meeting.inputs import Day, DbId
from meeting.record import resolutions as res
from meeting.record import seal
from meeting.record.html import page, render_html

MAX_UPLOAD = 30_000_000
WEB_DIR = Path(__file__).resolve().parent.parent / "record" / "web"
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}
Text = Annotated[str, Field(min_length=1, max_length=20000)]
Short = Annotated[str, Field(max_length=300)]


class SignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=200)]
    content_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None  # the draft the signer read


class AddendumBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text


class ActionBody(BaseModel):
    """One action item, "5 rõ": every field is needed (a missing one is named in the error)."""

    model_config = ConfigDict(extra="forbid")
    assignee_id: DbId | None = None
    task: Annotated[str, Field(max_length=2000)] | None = None
    deadline: Day | None = None
    responsible: Short | None = None
    expected_result: Annotated[str, Field(max_length=2000)] | None = None

    def fields(self) -> res.ActionFields:
        return res.ActionFields(self.assignee_id, self.task, self.deadline, self.responsible, self.expected_result)


class ActionUpdate(ActionBody):
    done: bool | None = None


class ResolutionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=300)]
    text: Annotated[str, Field(max_length=20000)] = ""
    actions: Annotated[list[ActionBody], Field(max_length=50)] = []


class ResolutionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    text: Annotated[str, Field(max_length=20000)] | None = None
    status: Annotated[str, Field(pattern=r"^(draft|adopted)$")] | None = None


# -- the minutes ------------------------------------------------------------------------------------------------------
def _viewed_meeting(session: Session, request: Request, who: Principal) -> Meeting:
    return meeting_for_viewer(session, who, int_param(request, "meeting_id"))


def _read_record(session: Session, request: Request, who: Principal, number: int = 0) -> Meeting:
    """The meeting whose record (or addendum `number`) the caller, from `record_reader`, reads."""
    return record_for_reader(session, who, int_param(request, "meeting_id"), number)


def _draft(session: Session, request: Request, meeting: Meeting) -> seal.Draft:
    recorded = journal.read(session, meeting.id)
    return seal.make_draft(session, meeting, recorded, seal.recordings_dir_of(ctx(request).settings))


@describe("The meeting's minutes (biên bản): the draft made from the journal, or the sealed record", tag="record")
def get_record(request: Request) -> JSONResponse:
    who = record_reader(request)
    with ctx(request).sessions() as session:
        meeting = _read_record(session, request, who)
        document = seal.record_document(session, meeting.id)
        draft = None if document is not None and document.sealed_at is not None else _draft(session, request, meeting)
        return JSONResponse(seal.record_status(session, meeting, draft, document, ctx(request).settings.seal))


def _file_response(body: bytes, fmt: str, filename: str) -> Response:
    headers = {"Cache-Control": "no-store", "X-Content-SHA256": hashlib.sha256(body).hexdigest()}
    if fmt != "html":
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=FORMATS[fmt], headers=headers)


@describe("The minutes as a file: .docx, .pdf or .html (the sealed files once signed)", tag="record")
def get_record_file(request: Request) -> Response:
    who = record_reader(request)
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise Rejected("not_found", status=404, what="format")
    with ctx(request).sessions() as session:
        meeting = _read_record(session, request, who)
        document = seal.record_document(session, meeting.id)
        sealed = document is not None and document.sealed_at is not None
        filename = f"bien-ban-{meeting.id}{'' if sealed else '-du-thao'}.{fmt}"
        if sealed and fmt in ("docx", "pdf"):
            return _file_response(document.docx if fmt == "docx" else document.pdf, fmt, filename)
        if sealed:
            minutes, _ = seal.sealed_minutes(document)
            signers = seal.signers_for(session, document, document.content_sha256 or "", *seal.officers(minutes))
            layout = seal.minutes_layout(minutes, signers, sealed=True, content_sha256=document.content_sha256 or "")
        else:
            layout = seal.draft_layout(session, _draft(session, request, meeting), document)
    if fmt == "html":
        return _file_response(render_html(layout).encode("utf-8"), fmt, filename)
    return _file_response(seal.render(layout, fmt, datetime.now(UTC), "draft"), fmt, filename)


@describe("Sign the minutes (chair or clerk, password re-entered); the second signature seals them", body=SignBody)
async def sign(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, SignBody)
    meeting_id = int_param(request, "meeting_id")
    with ctx(request).sessions() as session:
        meeting_for_viewer(session, who, meeting_id)
    result = await anyio.to_thread.run_sync(
        lambda: seal.sign_record(ctx(request), meeting_id, who, body.password, body.content_sha256)
    )
    return JSONResponse(result)


@describe("Check the sealed record: journal chain and head, minutes made again from the journal, file hashes")
def verify_record(request: Request) -> JSONResponse:
    who = record_reader(request)
    with ctx(request).sessions() as session:
        meeting = _read_record(session, request, who)
        return JSONResponse(seal.verify_record(session, meeting.id))


@describe("Write an addendum (correction) to the sealed record: chair or clerk", body=AddendumBody)
async def add_addendum(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, AddendumBody)
    meeting_id = int_param(request, "meeting_id")
    with ctx(request).sessions() as session:
        meeting_for_viewer(session, who, meeting_id)
    return JSONResponse(seal.add_addendum(ctx(request), meeting_id, who, body.text), status_code=201)


@describe("Sign an addendum (chair or clerk, password re-entered)", body=SignBody)
async def sign_addendum(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, SignBody)
    meeting_id = int_param(request, "meeting_id")
    with ctx(request).sessions() as session:
        meeting_for_viewer(session, who, meeting_id)
    number = int_param(request, "number")
    result = await anyio.to_thread.run_sync(
        lambda: seal.sign_addendum(ctx(request), meeting_id, number, who, body.password)
    )
    return JSONResponse(result)


@describe("An addendum as a file: .docx, .pdf or .html")
def get_addendum_file(request: Request) -> Response:
    who = record_reader(request)
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise Rejected("not_found", status=404, what="format")
    number = int_param(request, "number")
    with ctx(request).sessions() as session:
        meeting = _read_record(session, request, who, number)
        record = seal.record_document(session, meeting.id)
        document = seal.record_document(session, meeting.id, number) if number > 0 else None
        if record is None or document is None:
            raise Rejected("not_found", status=404, what="addendum")
        filename = f"bien-ban-{meeting.id}-bo-sung-{number}.{fmt}"
        if document.sealed_at is not None and fmt in ("docx", "pdf"):
            return _file_response(document.docx if fmt == "docx" else document.pdf, fmt, filename)
        layout = seal.addendum_draft_layout(session, record, document)
    if fmt == "html":
        return _file_response(render_html(layout).encode("utf-8"), fmt, filename)
    return _file_response(seal.render(layout, fmt, datetime.now(UTC), "draft"), fmt, filename)


@describe("Does this file (DOCX or PDF, sent as the request body) match a sealed record?", tag="record")
async def verify_upload(request: Request) -> JSONResponse:
    who = principal(request)
    if who.meeting_id is not None:  # an invite link reaches its own meeting, not the branch's archive
        raise Rejected("forbidden", status=403)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form_request = capped(request, MAX_UPLOAD + UPLOAD_OVERHEAD)
        async with form_request.form(max_files=1, max_fields=2) as form:
            upload = form.get("file")
            data = await upload.read(MAX_UPLOAD + 1) if upload is not None and not isinstance(upload, str) else b""
        if len(data) > MAX_UPLOAD:
            raise body_too_large(MAX_UPLOAD)
    else:
        data = await read_limited(request, MAX_UPLOAD)
    if not data:
        raise Rejected("file_missing", status=422)
    context = ctx(request)

    def verify() -> dict[str, Any]:  # in a worker thread: checking the signature is work, and pyHanko runs its own loop
        with context.sessions() as session:
            return seal.verify_file(session, who, data, context.settings.seal)

    return JSONResponse(await anyio.to_thread.run_sync(verify))


# -- resolutions and action items -------------------------------------------------------------------------------------
def _resolutions_json(session: Session, meeting: Meeting) -> dict[str, Any]:
    now = datetime.now(UTC)
    records = res.resolution_records(session, meeting.id, now)
    found = {r.id: r for r, _ in res.resolutions_of(session, meeting.id)}
    return {
        "meeting_id": meeting.id,
        "sealed": seal.is_sealed(session, meeting.id),
        "resolutions": [
            {**record.model_dump(mode="json"), "status": found[record.resolution_id].status} for record in records
        ],
    }


@describe("The meeting's resolutions with their 5 rõ action items and status", tag="record")
def list_resolutions(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        return JSONResponse(_resolutions_json(session, _viewed_meeting(session, request, who)))


@describe("Draft a resolution with its action items (5 rõ)", body=ResolutionBody, tag="record")
async def create_resolution(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, ResolutionBody)
    with ctx(request).sessions.begin() as session:
        meeting = _viewed_meeting(session, request, who)
        require_preparer(who, meeting)
        seal.require_unsealed(session, meeting.id)
        resolution = Resolution(meeting_id=meeting.id, title=body.title.strip(), text=body.text.strip())
        session.add(resolution)
        session.flush()
        for action in body.actions:
            res.add_action(session, resolution, meeting.branch_id, action.fields())
        return JSONResponse(_resolutions_json(session, meeting), status_code=201)


def _resolution_for(session: Session, request: Request, who: Principal) -> tuple[Resolution, Meeting]:
    resolution = session.get(Resolution, int_param(request, "resolution_id"))
    if resolution is None:
        raise Rejected("not_found", status=404, what="resolution")
    return resolution, meeting_for_viewer(session, who, resolution.meeting_id)


@describe("Change a resolution's title, text or status (before the record is sealed)", body=ResolutionUpdate)
async def update_resolution(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, ResolutionUpdate)
    with ctx(request).sessions.begin() as session:
        resolution, meeting = _resolution_for(session, request, who)
        require_preparer(who, meeting)
        seal.require_unsealed(session, meeting.id)
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(resolution, name, value.strip() if isinstance(value, str) else value)
        session.flush()
        return JSONResponse(_resolutions_json(session, meeting))


@describe("Add a 5 rõ action item to a resolution", body=ActionBody, tag="record")
async def add_action(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, ActionBody)
    with ctx(request).sessions.begin() as session:
        resolution, meeting = _resolution_for(session, request, who)
        require_preparer(who, meeting)
        seal.require_unsealed(session, meeting.id)
        res.add_action(session, resolution, meeting.branch_id, body.fields())
        return JSONResponse(_resolutions_json(session, meeting), status_code=201)


@describe("Change an action item's 5 rõ fields (before sealing), or mark it done / not done", body=ActionUpdate)
async def update_action(request: Request) -> JSONResponse:
    """A preparer changes an item's 5 rõ fields or marks it done; its assignee may mark it done or not done when
    it is one of their own items as GET /api/me/actions lists them (`own_items`): an invite link for the next
    meeting reaches the previous meeting's items its review step goes through, although it does not reach that
    meeting. Anyone else is refused: 404 outside the meeting's reach, 403 for a member who is neither."""
    who = principal(request)
    body = await parse_body(request, ActionUpdate)
    changes = body.model_dump(exclude_unset=True)
    done = changes.pop("done", None)
    now = datetime.now(UTC)
    with ctx(request).sessions.begin() as session:
        action = session.get(ActionItem, int_param(request, "action_id"))
        resolution = session.get(Resolution, action.resolution_id) if action is not None else None
        if action is None or resolution is None:
            raise Rejected("not_found", status=404, what="action item")
        own = who.member_id is not None and who.member_id == action.assignee_id
        if (
            done is not None
            and not changes
            and own
            and action.id in {i["action_id"] for i in own_items(session, who, now)}
        ):
            meeting = session.get(Meeting, resolution.meeting_id)
            assert meeting is not None  # the resolution's foreign key
        else:
            meeting = meeting_for_viewer(session, who, resolution.meeting_id)
            if changes:
                require_preparer(who, meeting)
                seal.require_unsealed(session, meeting.id)
                res.update_action(session, action, meeting.branch_id, changes)
            if done is not None:
                require_preparer(who, meeting)  # the assignee's own items were let through above
        if done is not None:
            res.set_done(action, done, now)
        session.flush()
        row = res.action_row(action, res.names_of(session, [action.assignee_id]), now, meeting.id)
        return JSONResponse(row.model_dump(mode="json"))


@describe("The previous resolution's action items with their status today: the review step's list", tag="record")
def review(request: Request) -> JSONResponse:
    who = principal(request)
    now = datetime.now(UTC)
    with ctx(request).sessions() as session:
        meeting = _viewed_meeting(session, request, who)
        previous = res.previous_meeting(session, meeting)
        rows = res.review_rows(session, meeting, now)
        return JSONResponse(
            {
                "meeting_id": meeting.id,
                "previous_meeting_id": previous.id if previous else None,
                "items": [r.model_dump(mode="json") for r in rows],
                "counts": {s: sum(1 for r in rows if r.status == s) for s in ("open", "done", "overdue")},
            }
        )


@describe("My own action items, with their status", tag="record")
def my_actions(request: Request) -> JSONResponse:
    """The caller's own action items ("5 rõ") with their status today, newest meeting first.

    Signed in with a password, a member sees every item of theirs. An invite link is a key to one meeting (sent
    by message, possibly forwarded, no password), so it sees what that meeting deals with and no more: the items
    its review step goes through (the previous meeting's, whatever their status, and older ones still not done),
    which are exactly those the member has to report on at this meeting, and the items this meeting sets.
    Keeping only the items whose own meeting is the invite's would hide the former: they come from an earlier
    meeting's resolution, and a remote member would join the review without seeing what they must answer for.
    """
    who = principal(request)
    with ctx(request).sessions() as session:
        return JSONResponse({"items": own_items(session, who, datetime.now(UTC))})


def own_items(session: Session, who: Principal, now: datetime) -> list[dict[str, Any]]:
    """The caller's own action items (see `my_actions`): the list they read, and the items whose done-ness they may
    report themselves (`update_action`). Signed in, all of their member record's items (a member record is in
    one branch); through an invite link, those its meeting deals with."""
    if who.member_id is None:
        return []
    if who.meeting_id is None:
        return res.member_actions(session, who.member_id, now)
    meeting = meeting_for_viewer(session, who, who.meeting_id)
    return res.member_actions_for_meeting(session, who.member_id, meeting, now)


# -- the pages --------------------------------------------------------------------------------------------------------
def _web_file(name: str, media_type: str) -> Response:
    return Response((WEB_DIR / name).read_bytes(), media_type=media_type, headers={"Cache-Control": "no-cache"})


PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static_prefix(request: Request) -> str:
    """The versioned prefix of static/ the pages' modules are served from (see meeting/web.py)."""
    from meeting.web import static_files

    return f"/static/{static_files(request).version}/"


LOADING = (
    '<p id="loading" class="after-loading" role="status"><span class="spinner" aria-hidden="true"></span>'
    '<span data-i18n="record.loading"></span></p>'
)


def record_page(request: Request) -> HTMLResponse:
    """The record viewer: a shell (no data), like every page; the script reads the record with the member's token,
    shows who has signed, and lets the chair and the clerk sign and write addenda."""
    meeting_id = int_param(request, "meeting_id")
    main = (
        '<p><a id="back" href="/" data-i18n="record.back.home"></a></p>'
        f'{LOADING}<div id="failed" class="notice" role="alert" hidden></div><div id="content" hidden></div>'
    )
    body = page("record.pageTitle", _static_prefix(request), main, {"meeting": str(meeting_id)})
    return HTMLResponse(body, headers=PAGE_HEADERS)


def verify_page(request: Request) -> HTMLResponse:
    """The verifier: choose a DOCX or PDF; the script asks POST /api/records/verify whether it is a sealed file."""
    main = (
        '<p><a id="back" href="/" data-i18n="record.back.home"></a></p>'
        '<section class="card stack" aria-labelledby="verify-heading">'
        '<h2 id="verify-heading" data-i18n="record.verifyHeading"></h2>'
        '<p data-i18n="record.verifyHelp"></p>'
        '<div class="field"><label for="file" data-i18n="record.verifyFile"></label>'
        '<input id="file" type="file" accept=".pdf,.docx,application/pdf"></div>'
        '<button id="check" type="button" class="btn btn-primary" data-i18n="record.verifyCheck"></button>'
        '<div id="result" role="status" aria-live="polite"></div></section>'
    )
    body = page("record.verifyTitle", _static_prefix(request), main, {"verify": "1"})
    return HTMLResponse(body, headers=PAGE_HEADERS)


def record_js(request: Request) -> Response:
    return _web_file("record.js", "text/javascript; charset=utf-8")


def record_css(request: Request) -> Response:
    return _web_file("record.css", "text/css; charset=utf-8")


routes: list[BaseRoute] = [
    Route("/api/meetings/{meeting_id:int}/record", get_record, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/record.{fmt}", get_record_file, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/record/sign", sign, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/record/verify", verify_record, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/record/addenda", add_addendum, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/record/addenda/{number:int}.{fmt}", get_addendum_file, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/record/addenda/{number:int}/sign", sign_addendum, methods=["POST"]),
    Route("/api/records/verify", verify_upload, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/resolutions", list_resolutions, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/resolutions", create_resolution, methods=["POST"]),
    Route("/api/resolutions/{resolution_id:int}", update_resolution, methods=["PATCH"]),
    Route("/api/resolutions/{resolution_id:int}/actions", add_action, methods=["POST"]),
    Route("/api/actions/{action_id:int}", update_action, methods=["PATCH"]),
    Route("/api/meetings/{meeting_id:int}/review", review, methods=["GET"]),
    Route("/api/me/actions", my_actions, methods=["GET"]),
    Route("/web/meetings/{meeting_id:int}/record", record_page, methods=["GET"]),
    Route("/web/record/verify", verify_page, methods=["GET"]),
    Route("/web/record/record.js", record_js, methods=["GET"]),
    Route("/web/record/record.css", record_css, methods=["GET"]),
]
