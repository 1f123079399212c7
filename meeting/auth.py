"""Passwords (argon2), access tokens and meeting invite links (PyJWT, HS256).

An access token names the user, their member id, branch and branch role. An invite token names one
member and one meeting; exchanged at /api/auth/invite it gives an access token limited to that meeting,
so an elderly member taps one link on the phone and has no password to remember. Once that meeting has ended,
the same link gives a member who took part a record token instead (typ "record"): the meeting's sealed record,
read only. `decode_access_token` refuses it, so every route but the record-read ones refuses it by construction.

Revocation: every access token carries the token epoch (`ver`) of its account as it was when the token was made:
the user's (`users.token_epoch`) when it names a login, else the member's (`members.token_epoch`). A password
change, a sign-out, a role change or a deactivation raises the epoch (`revoke_sessions`), and every request checks
it (`check_not_revoked`: one lookup by primary key), so the tokens issued before stop working at once, on every
node. Live connections carry the epoch they were opened with and are closed when it moves (signaling/endpoint.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meeting.db.models import Member, User
from meeting.errors import Rejected

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_dummy_hash: str | None = None


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal usernames."""
    global _dummy_hash
    if not password_hash:
        _dummy_hash = _dummy_hash or _hasher.hash("not-a-password")
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash, password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: int | None
    member_id: int | None
    branch_id: int | None
    role: str  # branch role: secretary | deputy | member; "admin" for a commune committee admin
    is_admin: bool = False
    meeting_id: int | None = None  # set when the token came from an invite link: that meeting only
    name: str = ""
    commune_id: int | None = None  # for a commune admin: the commune they administer
    record_only: bool = (
        False  # a record token: `meeting_id`'s sealed record, read only (meeting.api.common.record_reader)
    )
    token_epoch: int = 0  # the account's epoch when the token was issued (see the module's docstring)

    def may_see_branch(self, branch_id: int) -> bool:
        return self.branch_id == branch_id and self.meeting_id is None

    def may_manage_branch(self, branch_id: int) -> bool:
        return self.may_see_branch(branch_id) and self.role in ("secretary", "deputy")

    def may_see_meeting(self, branch_id: int, meeting_id: int) -> bool:
        if self.branch_id != branch_id:
            return False
        return self.meeting_id is None or self.meeting_id == meeting_id


def _principal_claims(principal: Principal, typ: str, now: datetime, expires_at: datetime) -> dict:
    return {
        "typ": typ,
        "sub": str(principal.user_id) if principal.user_id is not None else f"member:{principal.member_id}",
        "uid": principal.user_id,
        "mid": principal.member_id,
        "bid": principal.branch_id,
        "role": principal.role,
        "adm": principal.is_admin,
        "mtg": principal.meeting_id,
        "name": principal.name,
        "cid": principal.commune_id,
        "ver": principal.token_epoch,
        "iat": now,
        "exp": expires_at,
    }


def issue_access_token(principal: Principal, secret: str, minutes: int = 30, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return jwt.encode(
        _principal_claims(principal, "access", now, now + timedelta(minutes=minutes)), secret, algorithm=ALGORITHM
    )


RECORD = "record"  # the token type an invite gives after its meeting: that meeting's sealed record, read only


def issue_record_token(principal: Principal, secret: str, expires_at: datetime, now: datetime | None = None) -> str:
    """A record token for an invitee (`principal.meeting_id` set) whose meeting has ended."""
    assert principal.meeting_id is not None, "a record token names its one meeting"
    claims = _principal_claims(principal, RECORD, now or datetime.now(UTC), expires_at)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _decode(token: str, secret: str, typ: str) -> dict:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "typ"]})
    except jwt.ExpiredSignatureError as exc:
        raise Rejected("invite_invalid" if typ == "invite" else "token_expired", status=401) from exc
    except jwt.PyJWTError as exc:
        raise Rejected("invite_invalid" if typ == "invite" else "token_invalid", status=401) from exc
    if claims.get("typ") == RECORD and typ == "access":  # a valid record token where an access token is needed
        raise Rejected("record_token_only", status=403)
    if claims.get("typ") != typ:
        raise Rejected("invite_invalid" if typ == "invite" else "token_invalid", status=401)
    return claims


def _principal_of(claims: dict, record_only: bool = False) -> Principal:
    return Principal(
        user_id=claims.get("uid"),
        member_id=claims.get("mid"),
        branch_id=claims.get("bid"),
        role=claims.get("role", "member"),
        is_admin=bool(claims.get("adm")),
        meeting_id=claims.get("mtg"),
        name=claims.get("name", ""),
        commune_id=claims.get("cid"),
        record_only=record_only,
        token_epoch=claims.get("ver") if isinstance(claims.get("ver"), int) else 0,
    )


def decode_access_token(token: str, secret: str) -> Principal:
    """The holder of an access token; a record token is refused (403 record_token_only)."""
    return _principal_of(_decode(token, secret, "access"))


def is_record_token(token: str) -> bool:
    """Which kind of token this says it is, only to pick the decoder (which then checks the signature)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ") == RECORD
    except jwt.PyJWTError:
        return False


def decode_record_token(token: str, secret: str) -> Principal:
    """The holder of a record token: `record_only`, limited to its one meeting (`meeting_id`, never None)."""
    claims = _decode(token, secret, RECORD)
    if not isinstance(claims.get("mtg"), int):
        raise Rejected("token_invalid", status=401)
    return _principal_of(claims, record_only=True)


def issue_invite_token(
    *, meeting_id: int, member_id: int, branch_id: int, secret: str, expires_at: datetime, now: datetime | None = None
) -> str:
    claims = {
        "typ": "invite",
        "mtg": meeting_id,
        "mid": member_id,
        "bid": branch_id,
        "iat": now or datetime.now(UTC),
        "exp": expires_at,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class Invite:
    meeting_id: int
    member_id: int
    branch_id: int
    expires_at: datetime


def decode_invite_token(token: str, secret: str) -> Invite:
    claims = _decode(token, secret, "invite")
    return Invite(
        meeting_id=int(claims["mtg"]),
        member_id=int(claims["mid"]),
        branch_id=int(claims["bid"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
    return Invite(meeting_id=int(claims["mtg"]), member_id=int(claims["mid"]), branch_id=int(claims["bid"]))


def current_epoch(session: Session, who: Principal) -> int | None:
    """The epoch the caller's account has now (None: the account is gone). One lookup by primary key."""
    if who.user_id is not None:
        return session.scalar(select(User.token_epoch).where(User.id == who.user_id))
    if who.member_id is not None:
        return session.scalar(select(Member.token_epoch).where(Member.id == who.member_id))
    return None


def check_not_revoked(session: Session, who: Principal) -> None:
    """Refuse a token issued before its account's last sign-out, password change, role change or deactivation."""
    if current_epoch(session, who) != who.token_epoch:
        raise Rejected("token_revoked", status=401)


def revoke_sessions(session: Session, *, user_id: int | None = None, member_id: int | None = None) -> None:
    """End every session of a login and/or of a roster entry (its invite-link sessions included): the tokens
    issued so far are refused from the next request on. Atomic increments, safe under concurrent changes."""
    session.flush()  # the caller's pending changes first: the objects are expired below
    if user_id is not None:
        session.execute(update(User).where(User.id == user_id).values(token_epoch=User.token_epoch + 1))
    if member_id is not None:
        session.execute(update(Member).where(Member.id == member_id).values(token_epoch=Member.token_epoch + 1))
    session.expire_all()  # objects loaded before read the new epochs
