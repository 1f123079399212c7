"""Signing in and out: password login, token refresh, invite-link exchange, who am I, sign-out, own password.

An invite link is exchanged for an access token limited to its meeting while the meeting is planned or under
way. After the meeting it gives a member who took part (their attendance has an arrival) a record token for as
long as the link is valid: the meeting's sealed record, read only (meeting/auth.py). Anyone else hears that the
meeting has ended (410)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from meeting.accounts import record_account_event, revoked
from meeting.api.common import client_address, ctx, parse_body, principal
from meeting.api.openapi import describe
from meeting.auth import (
    Principal,
    decode_invite_token,
    hash_password,
    issue_access_token,
    issue_record_token,
    revoke_sessions,
    verify_password,
)
from meeting.db.models import Attendance, Meeting, Member, User
from meeting.errors import Rejected


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Annotated[str, Field(min_length=8, max_length=200)]


class InviteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=10, max_length=2000)]


def principal_of_user(user: User) -> Principal | None:
    """What a user may do today, read from the roster (None: no active membership and not an admin)."""
    member = user.member
    if user.is_admin:
        return Principal(
            user_id=user.id,
            member_id=member.id if member else None,
            branch_id=None,
            role="admin",
            is_admin=True,
            name=user.display_name,
            commune_id=user.commune_id,
            token_epoch=user.token_epoch,
        )
    if member is None or not member.active:
        return None
    return Principal(
        user_id=user.id,
        member_id=member.id,
        branch_id=member.branch_id,
        role=member.role,
        name=member.full_name,
        token_epoch=user.token_epoch,
    )


def invitee_principal(member: Member, meeting: Meeting, record_only: bool = False) -> Principal:
    """A token's holder limited to one meeting (from an invite link); `record_only`: to its sealed record."""
    return Principal(
        user_id=member.user_id,
        member_id=member.id,
        branch_id=member.branch_id,
        role=member.role,
        meeting_id=meeting.id,
        name=member.full_name,
        record_only=record_only,
        token_epoch=member.user.token_epoch if member.user is not None else member.token_epoch,
    )


def valid_invitee(member: Member | None, meeting: Meeting | None, refused: Rejected) -> tuple[Member, Meeting]:
    if member is None or not member.active or meeting is None or member.branch_id != meeting.branch_id:
        raise refused
    return member, meeting


def check_invitee(member: Member | None, meeting: Meeting | None, refused: Rejected) -> tuple[Member, Meeting]:
    member, meeting = valid_invitee(member, meeting, refused)
    if meeting.status == "ended":
        raise Rejected("meeting_ended", status=410)
    return member, meeting


def took_part(session: Session, member: Member, meeting: Meeting) -> bool:
    """The member arrived at the meeting (in the room or online), as its attendance records it."""
    arrived = session.scalar(
        select(Attendance.first_arrived_at).where(
            Attendance.meeting_id == meeting.id, Attendance.member_id == member.id
        )
    )
    return arrived is not None


def token_response(request: Request, who: Principal, until: datetime | None = None) -> JSONResponse:
    """An access token for `who`; for a `record_only` one, a record token lasting no longer than `until`."""
    settings = ctx(request).settings
    now = datetime.now(UTC)
    if who.record_only:
        assert until is not None, "a record token ends with the invite it came from"
        expires_at = min(now + timedelta(minutes=settings.access_token_minutes), until)
        token = issue_record_token(who, settings.secret_key, expires_at, now)
    else:
        expires_at = now + timedelta(minutes=settings.access_token_minutes)
        token = issue_access_token(who, settings.secret_key, settings.access_token_minutes, now)
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int((expires_at - now).total_seconds()),
            "me": principal_to_json(who),
        }
    )


def principal_to_json(who: Principal) -> dict[str, Any]:
    return {
        "user_id": who.user_id,
        "member_id": who.member_id,
        "branch_id": who.branch_id,
        "role": who.role,
        "is_admin": who.is_admin,
        "meeting_id": who.meeting_id,
        "name": who.name,
        "commune_id": who.commune_id,
        "record_only": who.record_only,
    }


@describe("Sign in with a username and password", body=LoginBody, public=True, tag="auth")
async def login(request: Request) -> JSONResponse:
    body = await parse_body(request, LoginBody)
    throttle = ctx(request).login_throttle
    address = client_address(request)
    username = body.username.strip()

    def check() -> Principal:
        throttle.check(username, address)  # before the (deliberately slow) password hash is computed
        with ctx(request).sessions() as session:
            user = session.scalar(select(User).where(User.username == username))
            # The hash is checked even for an unknown username, so the answer's timing does not tell them apart.
            matches = verify_password(user.password_hash if user else None, body.password)
            who = principal_of_user(user) if user and matches else None
        if who is None:  # unknown user, wrong password or a deactivated member: one answer for all three
            throttle.failed(username, address)
            raise Rejected("bad_credentials", status=401)
        throttle.succeeded(username, address)
        return who

    return token_response(request, await anyio.to_thread.run_sync(check))


@describe("A fresh access token for a valid one, with the caller's role as the roster says now", tag="auth")
def refresh(request: Request) -> JSONResponse:
    who = principal(request)
    invalid = Rejected("token_invalid", status=401)
    with ctx(request).sessions() as session:
        # Rebuilt from the database, not copied from the old token: a demoted secretary, a deactivated member or
        # a revoked admin does not keep yesterday's rights by refreshing.
        if who.meeting_id is not None:
            member, meeting = check_invitee(
                session.get(Member, who.member_id) if who.member_id is not None else None,
                session.get(Meeting, who.meeting_id),
                invalid,
            )
            fresh = invitee_principal(member, meeting)
        elif who.user_id is not None:
            user = session.get(User, who.user_id)
            found = principal_of_user(user) if user is not None else None
            if found is None:
                raise invalid
            fresh = found
        else:
            member = session.get(Member, who.member_id) if who.member_id is not None else None
            if member is None or not member.active:
                raise invalid
            fresh = Principal(
                None, member.id, member.branch_id, member.role, name=member.full_name, token_epoch=member.token_epoch
            )
    return token_response(request, fresh)


@describe(
    "Exchange a meeting invite link for an access token limited to that meeting (after the meeting, for a member "
    "who took part: a record token, the meeting's sealed record only)",
    body=InviteBody,
    public=True,
)
async def invite(request: Request) -> JSONResponse:
    body = await parse_body(request, InviteBody)
    found = decode_invite_token(body.token, ctx(request).settings.secret_key)
    with ctx(request).sessions() as session:
        member, meeting = valid_invitee(
            session.get(Member, found.member_id),
            session.get(Meeting, found.meeting_id),
            Rejected("invite_invalid", status=401),
        )
        if meeting.status != "ended":
            return token_response(request, invitee_principal(member, meeting))
        if not took_part(session, member, meeting):
            raise Rejected("meeting_ended", status=410)
        reader = invitee_principal(member, meeting, record_only=True)
    return token_response(request, reader, until=found.expires_at)


@describe("Who the access token belongs to", tag="auth")
def me(request: Request) -> JSONResponse:
    who = principal(request)
    data = principal_to_json(who)
    with ctx(request).sessions() as session:
        if who.member_id is not None:
            member = session.get(Member, who.member_id)
            if member is not None:
                data["category"] = member.category
    return JSONResponse(data)


@describe("Sign out: every session of this account ends, on every device (its tokens are refused)", tag="auth")
def logout(request: Request) -> JSONResponse:
    who = principal(request)
    with ctx(request).sessions.begin() as session:
        # A login's sessions, or (no login: an invite link's) the roster entry's.
        user_id, member_id = (who.user_id, None) if who.user_id is not None else (None, who.member_id)
        revoke_sessions(session, user_id=user_id, member_id=member_id)
        record_account_event(
            session, request, who, "signed_out", subject_user_id=who.user_id, subject_member_id=who.member_id
        )
    revoked(request)
    return JSONResponse({"signed_out": True})


@describe("Change one's own password (the current one re-entered); the other sessions end", body=PasswordChangeBody)
async def change_password(request: Request) -> JSONResponse:
    who = principal(request)
    if who.user_id is None or who.meeting_id is not None:  # an invite link has no password to change
        raise Rejected("forbidden", status=403)
    body = await parse_body(request, PasswordChangeBody)
    address = client_address(request)
    new_hash = await anyio.to_thread.run_sync(hash_password, body.new_password)

    def work() -> Principal:
        with ctx(request).sessions.begin() as session:
            user = session.get(User, who.user_id)
            if user is None:
                raise Rejected("token_revoked", status=401)
            matches = ctx(request).login_throttle.verify(
                user.username, address, lambda: verify_password(user.password_hash, body.current_password)
            )
            if not matches:
                raise Rejected("current_password_wrong", status=403)
            user.password_hash = new_hash
            revoke_sessions(session, user_id=user.id)
            record_account_event(
                session, request, who, "password_changed", subject_user_id=user.id, subject_member_id=who.member_id
            )
            fresh = principal_of_user(session.get(User, who.user_id))
            if fresh is None:
                raise Rejected("token_revoked", status=401)
            return fresh

    fresh = await anyio.to_thread.run_sync(work)
    revoked(request)
    return token_response(request, fresh)  # this device stays signed in, with a token of the new epoch


routes: list[BaseRoute] = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/refresh", refresh, methods=["POST"]),
    Route("/api/auth/invite", invite, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/password", change_password, methods=["POST"]),
]
