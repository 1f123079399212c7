"""The account audit: every change to someone's account is written down (who, whom, what, when, from where), and
the live side is told to drop the connections of sessions that just ended.

Who may make which change is decided in meeting/api/access.py; this module only records and notifies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from meeting.auth import Principal
from meeting.db.models import AccountEvent, Member, User

ACTIONS = (
    "login_created",
    "password_reset",
    "password_changed",
    "role_changed",
    "deactivated",
    "reactivated",
    "signed_out",
)


def record_account_event(
    session: Session,
    request: Request,
    who: Principal,
    action: str,
    *,
    subject_user_id: int | None = None,
    subject_member_id: int | None = None,
    detail: str = "",
) -> AccountEvent:
    """One row of the audit, in the caller's transaction: it is kept exactly when the change is."""
    assert action in ACTIONS, action
    member = session.get(Member, subject_member_id) if subject_member_id is not None else None
    user = session.get(User, subject_user_id) if subject_user_id is not None else None
    if member is None and user is not None:
        member = user.member
    subject_name = member.full_name if member is not None else (user.display_name if user is not None else "")
    event = AccountEvent(
        action=action,
        detail=detail[:200],
        branch_id=member.branch_id if member is not None else None,
        actor_user_id=who.user_id,
        actor_member_id=who.member_id,
        actor_name=(who.name or ("admin" if who.is_admin else ""))[:200],
        subject_user_id=user.id if user is not None else (member.user_id if member is not None else None),
        subject_member_id=member.id if member is not None else None,
        subject_name=subject_name[:200],
        address=(request.client.host if request.client else "unknown")[:64],
    )
    session.add(event)
    return event


def branch_account_events(session: Session, branch_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """A branch's account audit, newest first."""
    rows = session.scalars(
        select(AccountEvent)
        .where(AccountEvent.branch_id == branch_id)
        .order_by(AccountEvent.at.desc(), AccountEvent.id.desc())
        .limit(limit)
    )
    return [account_event_to_json(row) for row in rows]


def account_event_to_json(event: AccountEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "action": event.action,
        "detail": event.detail,
        "branch_id": event.branch_id,
        "actor": {"user_id": event.actor_user_id, "member_id": event.actor_member_id, "name": event.actor_name},
        "subject": {"user_id": event.subject_user_id, "member_id": event.subject_member_id, "name": event.subject_name},
        "address": event.address,
    }


def revoked(request: Request) -> None:
    """Sessions just ended (after the commit): this node closes their live connections now; the other nodes do at
    their next periodic check (signaling/endpoint.py, Live.check_revocations)."""
    live = getattr(request.app.state, "live", None)
    if live is not None:
        live.revocations_changed()
