"""Branches and their rosters."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from meeting.accounts import branch_account_events, record_account_event, revoked
from meeting.api.access import (
    admin_commune_id,
    int_param,
    manageable_branch,
    organises,
    require_login_creation,
    require_password_reset,
    signed_in_member,
    visible_branch,
    visible_member,
)
from meeting.api.common import ctx, parse_body, principal
from meeting.api.openapi import describe
from meeting.auth import Principal, hash_password, revoke_sessions
from meeting.db.models import Branch, Member, User
from meeting.domain.model import Category
from meeting.errors import Rejected

Name = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=2, max_length=50, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Small = Annotated[int, Field(ge=1, le=100)]
BranchRole = Annotated[str, Field(pattern=r"^(secretary|deputy|member)$")]
Username = Annotated[str, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]


class RulesFields(BaseModel):
    quorum_numerator: Small | None = None
    quorum_denominator: Small | None = None
    quorum_strict: bool | None = None
    majority_numerator: Small | None = None
    majority_denominator: Small | None = None
    majority_strict: bool | None = None


class BranchCreate(RulesFields):
    model_config = ConfigDict(extra="forbid")
    name: Name
    code: Code
    organisation: Annotated[str, Field(max_length=200)] = ""


class BranchUpdate(RulesFields):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    organisation: Annotated[str, Field(max_length=200)] | None = None


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Name
    category: Category
    role: BranchRole = "member"
    phone: Annotated[str, Field(max_length=30)] = ""
    username: Username | None = None
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None

    @model_validator(mode="after")
    def login_needs_both(self) -> MemberCreate:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Name | None = None
    category: Category | None = None
    role: BranchRole | None = None
    phone: Annotated[str, Field(max_length=30)] | None = None
    active: bool | None = None
    username: Username | None = None  # gives a member without a login one (with `password`)
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None


def branch_to_json(branch: Branch) -> dict[str, Any]:
    return {
        "id": branch.id,
        "name": branch.name,
        "code": branch.code,
        "organisation": branch.organisation,
        "commune_id": branch.commune_id,
        "rules": {
            "quorum_numerator": branch.quorum_numerator,
            "quorum_denominator": branch.quorum_denominator,
            "quorum_strict": branch.quorum_strict,
            "majority_numerator": branch.majority_numerator,
            "majority_denominator": branch.majority_denominator,
            "majority_strict": branch.majority_strict,
        },
    }


def member_to_json(member: Member, with_phone: bool = True) -> dict[str, Any]:
    """`with_phone`: False for a caller who does not organise the branch (phone numbers are theirs only)."""
    return {
        "id": member.id,
        "branch_id": member.branch_id,
        "full_name": member.full_name,
        "category": member.category,
        "role": member.role,
        "phone": member.phone if with_phone else None,
        "active": member.active,
        "username": member.user.username if member.user else None,
    }


def _apply_rules(branch: Branch, body: RulesFields) -> None:
    for name in RulesFields.model_fields:
        value = getattr(body, name)
        if value is not None:
            setattr(branch, name, value)
        elif getattr(branch, name) is None:  # a new branch: the column's default (DESIGN.md's rules)
            setattr(branch, name, Branch.__table__.c[name].default.arg)
    for kind in ("quorum", "majority"):
        numerator, denominator = getattr(branch, f"{kind}_numerator"), getattr(branch, f"{kind}_denominator")
        if not 0 < numerator <= denominator:
            raise Rejected("bad_request", status=422, detail=f"{kind}: 0 < numerator <= denominator")


@describe("Branches the caller belongs to or administers")
def list_branches(request: Request) -> JSONResponse:
    who = signed_in_member(request)
    with ctx(request).sessions() as session:
        commune_id = admin_commune_id(session, who)
        if commune_id is not None:
            found = session.scalars(select(Branch).where(Branch.commune_id == commune_id).order_by(Branch.id))
        elif who.branch_id is not None:
            found = session.scalars(select(Branch).where(Branch.id == who.branch_id))
        else:
            found = []
        return JSONResponse({"branches": [branch_to_json(b) for b in found]})


@describe("Create a branch in the admin's commune", body=BranchCreate, status=201)
async def create_branch(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, BranchCreate)

    def work() -> dict[str, Any]:
        with ctx(request).sessions.begin() as session:
            commune_id = admin_commune_id(session, who)
            if commune_id is None:
                raise Rejected("forbidden", status=403)
            taken = Rejected("conflict", status=409, detail=f"branch code {body.code} is taken")
            if session.scalar(select(func.count()).select_from(Branch).where(Branch.code == body.code)):
                raise taken
            branch = Branch(name=body.name, code=body.code, organisation=body.organisation, commune_id=commune_id)
            _apply_rules(branch, body)
            session.add(branch)
            try:
                session.flush()
            except IntegrityError:  # created by another request since the check above
                raise taken from None
            return branch_to_json(branch)

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


@describe("One branch")
def get_branch(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        return JSONResponse(branch_to_json(visible_branch(session, who, int_param(request, "branch_id"))))


@describe("Change a branch's name or its quorum and majority rules", body=BranchUpdate)
async def update_branch(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, BranchUpdate)
    with ctx(request).sessions.begin() as session:
        branch = manageable_branch(session, who, int_param(request, "branch_id"))
        if body.name is not None:
            branch.name = body.name
        if body.organisation is not None:
            branch.organisation = body.organisation
        _apply_rules(branch, body)
        return JSONResponse(branch_to_json(branch))


@describe("The branch's roster")
def list_members(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        branch = visible_branch(session, who, int_param(request, "branch_id"))
        with_phone = organises(session, who, branch)
        members = session.scalars(select(Member).where(Member.branch_id == branch.id).order_by(Member.id))
        return JSONResponse({"members": [member_to_json(m, with_phone) for m in members]})


@describe("Add a member to the roster, optionally with a login", body=MemberCreate, status=201)
async def create_member(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, MemberCreate)
    password_hash = await anyio.to_thread.run_sync(hash_password, body.password) if body.password else None

    def work() -> dict[str, Any]:
        taken = Rejected("conflict", status=409, detail=f"username {body.username} is taken")
        with ctx(request).sessions.begin() as session:
            branch = manageable_branch(session, who, int_param(request, "branch_id"))
            user = None
            if body.username is not None:
                require_login_creation(session, who, branch.id, body.role)
                if session.scalar(select(func.count()).select_from(User).where(User.username == body.username)):
                    raise taken
                user = User(username=body.username, password_hash=password_hash, display_name=body.full_name)
                session.add(user)
                try:
                    session.flush()
                except IntegrityError:  # the same name created by another request since the check above
                    raise taken from None
            member = Member(
                branch_id=branch.id,
                user_id=user.id if user else None,
                full_name=body.full_name,
                category=body.category.value,
                role=body.role,
                phone=body.phone,
            )
            session.add(member)
            session.flush()
            if user is not None:
                record_account_event(
                    session, request, who, "login_created", subject_member_id=member.id, detail=user.username
                )
            session.refresh(member)
            return member_to_json(member)

    return JSONResponse(await anyio.to_thread.run_sync(work), status_code=201)


@describe("One member")
def get_member(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        member = visible_member(session, who, int_param(request, "member_id"))
        return JSONResponse(member_to_json(member, organises(session, who, member.branch)))


@describe("Change a member (name, category, role, phone, active; a login or a password reset)", body=MemberUpdate)
async def update_member(request: Request) -> JSONResponse:
    who = principal(request)
    body = await parse_body(request, MemberUpdate)
    password_hash = await anyio.to_thread.run_sync(hash_password, body.password) if body.password else None
    with ctx(request).sessions.begin() as session:
        member = visible_member(session, who, int_param(request, "member_id"))
        manageable_branch(session, who, member.branch_id)
        _check_login_change(session, who, member, body, password_hash)  # before anything changes
        secretaries = _secretaries(session, member.branch_id)
        before = (member.role, member.active)
        for name in ("full_name", "role", "phone", "active"):
            value = getattr(body, name)
            if value is not None:
                setattr(member, name, value)
        if body.category is not None:
            member.category = body.category.value
        if body.username is not None:
            _create_login(session, member, body.username, password_hash)
            record_account_event(
                session, request, who, "login_created", subject_member_id=member.id, detail=body.username
            )
        elif password_hash is not None:
            member.user.password_hash = password_hash
            revoke_sessions(session, user_id=member.user_id)
            record_account_event(session, request, who, "password_reset", subject_member_id=member.id)
        _keep_a_secretary(session, member.branch_id, secretaries)
        ended = _record_role_and_activity(session, request, who, member, before)
        data = member_to_json(member)
    if ended or password_hash is not None:
        revoked(request)
    return JSONResponse(data)


def _check_login_change(
    session: Session, who: Principal, member: Member, body: MemberUpdate, password_hash: str | None
) -> None:
    """The account rules of meeting/api/access.py for a login created or a password reset by someone else."""
    if body.username is not None:
        if member.user is not None:
            raise Rejected("bad_request", status=422, detail="this member has a login already")
        if password_hash is None:
            raise Rejected("bad_request", status=422, detail="username and password go together")
        require_login_creation(session, who, member.branch_id, body.role or member.role)
    elif password_hash is not None:
        if member.user is None:
            raise Rejected("bad_request", status=422, detail="this member has no login")
        require_password_reset(who, member)
        if body.role not in (None, "member"):  # not a reset on the way to becoming an organiser
            raise Rejected("password_reset_not_allowed", status=403)


def _create_login(session: Session, member: Member, username: str, password_hash: str | None) -> None:
    taken = Rejected("conflict", status=409, detail=f"username {username} is taken")
    if session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise taken
    member.user = User(username=username, password_hash=password_hash, display_name=member.full_name)
    try:
        session.flush()
    except IntegrityError:  # the same name created by another request since the check above
        raise taken from None


def _record_role_and_activity(
    session: Session, request: Request, who: Principal, member: Member, before: tuple[str, bool]
) -> bool:
    """A changed role or a (de)activation ends the member's sessions and goes to the audit; True if any did."""
    role, active = before
    changes = []
    if member.role != role:
        changes.append(("role_changed", f"{role} -> {member.role}"))
    if member.active != active:
        changes.append(("reactivated" if member.active else "deactivated", ""))
    for action, detail in changes:
        record_account_event(session, request, who, action, subject_member_id=member.id, detail=detail)
    if changes:
        revoke_sessions(session, user_id=member.user_id, member_id=member.id)
    return bool(changes)


def _secretaries(session: Session, branch_id: int) -> int:
    """Active secretaries with a login: those who can run the branch from here."""
    session.flush()
    return session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.branch_id == branch_id, Member.role == "secretary", Member.active, Member.user_id.is_not(None))
    )


def _keep_a_secretary(session: Session, branch_id: int, before: int) -> None:
    """A change may not take the branch's last secretary away (demoted, deactivated): nobody could run it then."""
    if before and not _secretaries(session, branch_id):
        raise Rejected("last_secretary", status=409)


@describe("Take a member off the active roster (their history is kept)")
def deactivate_member(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        member = visible_member(session, who, int_param(request, "member_id"))
        manageable_branch(session, who, member.branch_id)
        secretaries = _secretaries(session, member.branch_id)
        before = (member.role, member.active)
        member.active = False
        _keep_a_secretary(session, member.branch_id, secretaries)
        ended = _record_role_and_activity(session, request, who, member, before)
        data = member_to_json(member)
    if ended:
        revoked(request)
    return JSONResponse(data)


@describe("The branch's account audit: logins created, passwords reset or changed, roles, (de)activations, sign-outs")
def list_account_events(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions() as session:
        branch = manageable_branch(session, who, int_param(request, "branch_id"))
        return JSONResponse({"events": branch_account_events(session, branch.id)})


routes: list[BaseRoute] = [
    Route("/api/branches", list_branches, methods=["GET"]),
    Route("/api/branches", create_branch, methods=["POST"]),
    Route("/api/branches/{branch_id:int}", get_branch, methods=["GET"]),
    Route("/api/branches/{branch_id:int}", update_branch, methods=["PATCH"]),
    Route("/api/branches/{branch_id:int}/members", list_members, methods=["GET"]),
    Route("/api/branches/{branch_id:int}/members", create_member, methods=["POST"]),
    Route("/api/members/{member_id:int}", get_member, methods=["GET"]),
    Route("/api/members/{member_id:int}", update_member, methods=["PATCH"]),
    Route("/api/members/{member_id:int}", deactivate_member, methods=["DELETE"]),
    Route("/api/branches/{branch_id:int}/account-events", list_account_events, methods=["GET"]),
]
