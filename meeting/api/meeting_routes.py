"""Meetings: planning (create from a template, edit, agenda) and the live meeting over HTTP (state, journal,
commands, invite links). The live hub offers the same commands over a WebSocket; both go through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meeting import journal, planning
from meeting.api.access import (
    int_param,
    manageable_branch,
    may_prepare,
    meeting_for_viewer,
    meeting_plan_for,
    require_preparer,
    signed_in_member,
    visible_branch,
)
from meeting.api.common import ctx, parse_body, parse_query, principal, validation_summary
from meeting.api.openapi import describe
from meeting.auth import Principal, issue_invite_token
from meeting.db.models import Meeting, Member
from meeting.domain.commands import Actor, parse_command
from meeting.domain.model import MeetingKind
from meeting.errors import Rejected
from meeting.inputs import DbId, Moment, Seq
from meeting.templates import TEMPLATES
from meeting.views import state_to_json

Title = Annotated[str, Field(min_length=1, max_length=300)]
MemberRef = DbId


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MeetingKind
    title: Title
    scheduled_at: Moment
    place: Annotated[str, Field(max_length=300)] = ""
    chair_id: MemberRef | None = None
    clerk_id: MemberRef | None = None
    template_id: Annotated[str, Field(max_length=40)] | None = None


class MeetingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    scheduled_at: Moment | None = None
    place: Annotated[str, Field(max_length=300)] | None = None
    chair_id: MemberRef | None = None
    clerk_id: MemberRef | None = None


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    kind: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")] = "other"
    position: Annotated[int, Field(ge=0, le=100)] | None = None
    speaking_limit_s: Annotated[int, Field(ge=10, le=3600)] | None = None


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    kind: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")] | None = None
    speaking_limit_s: Annotated[int, Field(ge=10, le=3600)] | None = None


class AgendaOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)]


class CommandBody(BaseModel):
    """A live command; `command_id` (made by the client) makes a retried command count once."""

    model_config = ConfigDict(extra="forbid")
    command_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None
    command: dict[str, Any]


class JournalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: Annotated[Seq, Field(description="the last sequence number the caller has")] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: MemberRef


def meeting_to_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "branch_id": meeting.branch_id,
        "kind": meeting.kind,
        "title": meeting.title,
        "place": meeting.place,
        "scheduled_at": meeting.scheduled_at.isoformat(),
        "status": meeting.status,
        "chair_id": meeting.chair_id,
        "clerk_id": meeting.clerk_id,
        "started_at": meeting.started_at.isoformat() if meeting.started_at else None,
        "ended_at": meeting.ended_at.isoformat() if meeting.ended_at else None,
        "live": (meeting.journal_seq or 0) > 0,
        "journal_seq": meeting.journal_seq or 0,
        "agenda": [
            {
                "id": item.id,
                "position": item.position,
                "title": item.title,
                "kind": item.kind,
                "speaking_limit_s": item.speaking_limit_s,
                "status": item.status,
                "presenter_id": item.presenter_id,
                "designated_speakers": list(item.designated_speakers or []),
            }
            for item in meeting.agenda
        ],
    }


def invite_expiry(scheduled_at: datetime, now: datetime, hours: int) -> datetime:
    """`hours` after the meeting's scheduled time; a link made later than that (a meeting held late) still gets
    `hours` from now, so no one is ever handed a link that is already dead."""
    return max(scheduled_at, now) + timedelta(hours=hours)


def _check_officers(session: Session, branch_id: int, *member_ids: int | None) -> None:
    """Chair and clerk must be active members of the meeting's branch."""
    for member_id in member_ids:
        if member_id is None:
            continue
        member = session.get(Member, member_id)
        if member is None or member.branch_id != branch_id or not member.active:
            raise Rejected("not_in_roster", status=422)


def _aware(moment: datetime) -> datetime:
    """In UTC, as the database gives it back (a time without a zone is taken as UTC)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- planning ----------------------------------------------------------------------------------------------------
@describe("The branch's meetings, newest first")
def list_meetings(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        branch = visible_branch(session, who, int_param(request, "branch_id"))
        found = session.scalars(
            select(Meeting).where(Meeting.branch_id == branch.id).order_by(Meeting.scheduled_at.desc())
        )
        return JSONResponse({"meetings": [meeting_to_json(m) for m in found]})


@describe("Schedule a meeting from an agenda template", body=MeetingCreate, status=201)
async def create_meeting(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, MeetingCreate)
    if body.template_id is not None and body.template_id not in TEMPLATES:
        raise Rejected("not_found", status=404, what="template")

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            branch = manageable_branch(session, who, int_param(request, "branch_id"))
            _check_officers(session, branch.id, body.chair_id, body.clerk_id)
            meeting = planning.create_meeting(
                session,
                branch_id=branch.id,
                kind=body.kind,
                title=body.title,
                scheduled_at=_aware(body.scheduled_at),
                place=body.place,
                chair_id=body.chair_id,
                clerk_id=body.clerk_id,
                template_id=body.template_id,
            )
            session.refresh(meeting)
            return meeting_to_json(meeting)

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


@describe("One meeting with its planned agenda")
def get_meeting(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        return JSONResponse(meeting_to_json(meeting_plan_for(session, who, int_param(request, "meeting_id"))))


@describe("Change a meeting before it goes live", body=MeetingUpdate)
async def update_meeting(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, MeetingUpdate)
    with ctx(request).sessions.begin() as session:
        meeting = meeting_for_viewer(session, who, int_param(request, "meeting_id"))
        require_preparer(who, meeting)
        planning.require_plannable(meeting)
        _check_officers(session, meeting.branch_id, body.chair_id, body.clerk_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(meeting, name, _aware(value) if isinstance(value, datetime) else value)
        session.flush()
        return JSONResponse(meeting_to_json(meeting))


@describe("Cancel a meeting that has not gone live", status=204)
def delete_meeting(request: Request) -> Response:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        meeting = session.get(Meeting, int_param(request, "meeting_id"))
        if meeting is None:
            raise Rejected("not_found", status=404, what="meeting")
        manageable_branch(session, who, meeting.branch_id)  # its secretary or deputy, or the commune admin
        planning.require_plannable(meeting)
        session.delete(meeting)
    return Response(status_code=204)


@describe("The planned agenda")
def get_agenda(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        meeting = meeting_plan_for(session, who, int_param(request, "meeting_id"))
        return JSONResponse({"agenda": meeting_to_json(meeting)["agenda"]})


def _editable(session: Session, request: Request, who: Principal) -> Meeting:
    meeting = meeting_for_viewer(session, who, int_param(request, "meeting_id"))
    require_preparer(who, meeting)
    planning.require_plannable(meeting)
    return meeting


@describe("Add an agenda item (before the meeting goes live)", body=ItemCreate, status=201)
async def add_item(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, ItemCreate)
    with ctx(request).sessions.begin() as session:
        meeting = _editable(session, request, who)
        planning.add_item(
            session,
            meeting.id,
            title=body.title,
            kind=body.kind,
            position=body.position,
            speaking_limit_s=body.speaking_limit_s,
        )
        session.refresh(meeting)
        return JSONResponse({"agenda": meeting_to_json(meeting)["agenda"]}, status_code=201)


@describe("Change an agenda item (before the meeting goes live)", body=ItemUpdate)
async def update_item(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, ItemUpdate)
    with ctx(request).sessions.begin() as session:
        meeting = _editable(session, request, who)
        item = next((i for i in meeting.agenda if i.id == request.path_params["item_id"]), None)
        if item is None:
            raise Rejected("unknown_item", status=404)
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is not None or name == "speaking_limit_s":  # null clears the time limit, nothing else
                setattr(item, name, value)
        session.flush()
        return JSONResponse({"agenda": meeting_to_json(meeting)["agenda"]})


@describe("Remove an agenda item (before the meeting goes live)")
def remove_item(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        meeting = _editable(session, request, who)
        planning.remove_item(session, meeting.id, request.path_params["item_id"])
        session.refresh(meeting)
        return JSONResponse({"agenda": meeting_to_json(meeting)["agenda"]})


@describe("Put the agenda in a new order (before the meeting goes live)", body=AgendaOrder)
async def reorder_agenda(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, AgendaOrder)
    with ctx(request).sessions.begin() as session:
        meeting = _editable(session, request, who)
        planning.reorder_items(session, meeting.id, body.order)
        session.refresh(meeting)
        return JSONResponse({"agenda": meeting_to_json(meeting)["agenda"]})


@describe("The built-in orders of business")
def list_templates(request: Request) -> JSONResponse:
    signed_in_member(request)
    return JSONResponse({"templates": [t.to_json() for t in TEMPLATES.values()]})


@describe("One built-in order of business")
def get_template(request: Request) -> JSONResponse:
    signed_in_member(request)
    template = TEMPLATES.get(request.path_params["template_id"])
    if template is None:
        raise Rejected("not_found", status=404, what="template")
    return JSONResponse(template.to_json())


# -- the live meeting --------------------------------------------------------------------------------------------
def _viewer_meeting_id(request: Request) -> tuple[int, Principal]:
    who = principal(request)
    meeting_id = int_param(request, "meeting_id")
    with ctx(request).sessions() as session:
        meeting_for_viewer(session, who, meeting_id)
    return meeting_id, who


@describe("The live meeting's state: agenda, attendance and quorum, queue, floor, votes, minutes")
def get_state(request: Request) -> JSONResponse:
    meeting_id, _ = _viewer_meeting_id(request)
    state, seq = ctx(request).service.state(meeting_id)
    return JSONResponse(state_to_json(state, seq))


@describe("Journal events after a sequence number, oldest first", query=JournalQuery)
def get_journal(request: Request) -> JSONResponse:
    meeting_id, _ = _viewer_meeting_id(request)
    query = parse_query(request, JournalQuery)
    events = ctx(request).service.events_after(meeting_id, query.after, query.limit)
    return JSONResponse({"events": [e.to_json() for e in events], "more": len(events) == query.limit})


@describe("Recompute the journal's hash chain and say whether it is intact")
def verify_journal(request: Request) -> JSONResponse:
    meeting_id, _ = _viewer_meeting_id(request)
    with ctx(request).sessions() as session:
        result = journal.verify(session, meeting_id)
    return JSONResponse(
        {"valid": result.valid, "length": result.length, "head": result.head, "problem": result.problem}
    )


@describe("Run a live command (the same commands as over the WebSocket)", body=CommandBody)
async def post_command(request: Request) -> JSONResponse:
    who = principal(request)
    meeting_id = int_param(request, "meeting_id")
    with ctx(request).sessions() as session:
        # Only its preparers open the meeting with their first command (not an invite link, not a member).
        may_open = may_prepare(who, meeting_for_viewer(session, who, meeting_id))
    body = await parse_body(request, CommandBody)
    try:
        command = parse_command(body.command)
    except ValidationError as exc:
        raise Rejected("bad_request", status=422, detail=validation_summary(exc)) from exc
    if who.member_id is None:
        raise Rejected("forbidden", status=403)
    # With several nodes, only the meeting's owner appends, so its clients see every event at once.
    await request.app.state.live.leases.ensure_owner(meeting_id)
    recorded = await ctx(request).service.execute_async(
        meeting_id, command, Actor.member(who.member_id), body.command_id, may_open=may_open
    )
    return JSONResponse({"events": [r.to_json() for r in recorded]})


@describe("Make a one-tap invite link for a member", body=InviteCreate, status=201)
async def create_invite(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, InviteCreate)
    settings = ctx(request).settings
    with ctx(request).sessions() as session:
        meeting = meeting_for_viewer(session, who, int_param(request, "meeting_id"))
        require_preparer(who, meeting)
        member = session.get(Member, body.member_id)
        if member is None or member.branch_id != meeting.branch_id or not member.active:
            raise Rejected("not_in_roster", status=422)
        if meeting.status == "ended":
            raise Rejected("meeting_ended")
        expires_at = invite_expiry(_aware(meeting.scheduled_at), datetime.now(UTC), settings.invite_hours)
        token = issue_invite_token(
            meeting_id=meeting.id,
            member_id=member.id,
            branch_id=meeting.branch_id,
            secret=settings.secret_key,
            expires_at=expires_at,
        )
    return JSONResponse(
        {
            "token": token,
            "url": f"{settings.public_url}/join#invite={token}",
            "expires_at": expires_at.isoformat(),
            "member_id": member.id,
        },
        status_code=201,
    )


routes: list[BaseRoute] = [
    Route("/api/branches/{branch_id:int}/meetings", list_meetings, methods=["GET"]),
    Route("/api/branches/{branch_id:int}/meetings", create_meeting, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}", get_meeting, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}", update_meeting, methods=["PATCH"]),
    Route("/api/meetings/{meeting_id:int}", delete_meeting, methods=["DELETE"]),
    Route("/api/meetings/{meeting_id:int}/agenda", get_agenda, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/agenda", add_item, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/agenda/order", reorder_agenda, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/agenda/{item_id}", update_item, methods=["PATCH"]),
    Route("/api/meetings/{meeting_id:int}/agenda/{item_id}", remove_item, methods=["DELETE"]),
    Route("/api/agenda-templates", list_templates, methods=["GET"]),
    Route("/api/agenda-templates/{template_id}", get_template, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/state", get_state, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/journal", get_journal, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/journal/verify", verify_journal, methods=["GET"]),
    Route("/api/meetings/{meeting_id:int}/commands", post_command, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/invites", create_invite, methods=["POST"]),
]
