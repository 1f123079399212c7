"""Who may see and change what. Every route asks one of these before it reads or writes anything.

Objects of a branch the caller does not belong to answer 404, not 403: an outsider is not even told that
they exist. A commune admin manages the branches of their commune and their members, but reads no meeting
content (state, journal, minutes) unless a branch shares it through the commune routes.

Accounts: who administers whose. Whoever sets a password, or creates a login, can sign in as that account
until its owner changes the password; so no role may set a password it could then use to reach what it may
not read itself:
- An existing password is changed only by its owner, with the current one (POST /api/auth/password). The commune
  admin never sets or resets anyone's password.
- The commune admin creates a branch's first login only: for its secretary or deputy, while no member of the
  branch has a login (a new branch). From then on the branch's own secretary and deputy create its logins; the
  admin can never again hold a login of that branch. The first secretary changes the password the admin gave.
- The branch's secretary and deputy create a login for a member of their branch who has none, and reset the
  forgotten password of a plain member (role `member`), never of a secretary or deputy (their own: the owner's
  change). Such a reset ends the member's sessions; the member sees that the old password no longer works.
- Roles, deactivation and reactivation: the branch's secretary and deputy, and its commune admin (these give the
  one who makes them no access). The branch keeps a secretary with a login (`last_secretary`).
- Every such change (login created, password reset or changed, role changed, deactivated, reactivated, signed
  out) ends the account's sessions at once (meeting/auth.py, token epochs) and is written to the account audit
  (meeting/accounts.py), which the branch's secretary and deputy and its commune admin read.
Phone numbers on the roster are for those who organise the branch (secretary, deputy, commune admin) only.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from meeting.api.common import principal
from meeting.auth import Principal
from meeting.db.models import Branch, Meeting, Member, RecordDocument, User
from meeting.errors import Rejected
from meeting.inputs import DB_INT_MAX


def int_param(request: Request, name: str) -> int:
    """A path id; one no database row can have (negative, past 2**63-1) is simply not found."""
    try:
        value = int(request.path_params[name])
    except (KeyError, ValueError) as exc:
        raise Rejected("not_found", status=404, what=name.removesuffix("_id")) from exc
    if not 0 <= value <= DB_INT_MAX:
        raise Rejected("not_found", status=404, what=name.removesuffix("_id"))
    return value


def signed_in_member(request: Request) -> Principal:
    """The caller, refused when their token came from an invite link: such a token reaches its own meeting
    (and /api/me) and nothing else, not even data that is the same for everyone."""
    who = principal(request)
    if who.meeting_id is not None:
        raise Rejected("forbidden", status=403)
    return who


def admin_commune_id(session: Session, who: Principal) -> int | None:
    """The commune a commune admin administers (None for everyone else)."""
    if not who.is_admin or who.user_id is None:
        return None
    user = session.get(User, who.user_id)
    return user.commune_id if user is not None and user.is_admin else None


def administers(session: Session, who: Principal, branch: Branch) -> bool:
    commune_id = admin_commune_id(session, who)
    return commune_id is not None and branch.commune_id == commune_id


def visible_branch(session: Session, who: Principal, branch_id: int) -> Branch:
    """A branch the caller belongs to (not through an invite link) or administers."""
    branch = session.get(Branch, branch_id)
    if branch is None or not (who.may_see_branch(branch_id) or administers(session, who, branch)):
        raise Rejected("not_found", status=404, what="branch")
    return branch


def manageable_branch(session: Session, who: Principal, branch_id: int) -> Branch:
    """A branch whose roster and meetings the caller may change: its secretary or deputy, or its commune admin."""
    branch = visible_branch(session, who, branch_id)
    if not (who.may_manage_branch(branch_id) or administers(session, who, branch)):
        raise Rejected("forbidden", status=403)
    return branch


def visible_member(session: Session, who: Principal, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise Rejected("not_found", status=404, what="member")
    visible_branch(session, who, member.branch_id)
    return member


def meeting_for_viewer(session: Session, who: Principal, meeting_id: int) -> Meeting:
    """A meeting whose content the caller may read: members of its branch, or an invite link for it."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not who.may_see_meeting(meeting.branch_id, meeting.id):
        raise Rejected("not_found", status=404, what="meeting")
    return meeting


def record_for_reader(session: Session, who: Principal, meeting_id: int, number: int = 0) -> Meeting:
    """A meeting whose record (`number` 0) or addendum (1, 2, ...) the caller may read, as
    `common.record_reader` names them: the meeting's viewers read the draft and the sealed documents; a record
    token (`record_only`, an invite link after its meeting) only its own meeting's, once sealed (409 before)."""
    meeting = meeting_for_viewer(session, who, meeting_id)  # a record token names one meeting: the others are 404
    if who.record_only:
        document = session.scalar(
            select(RecordDocument).where(RecordDocument.meeting_id == meeting.id, RecordDocument.number == number)
        )
        if document is None and number > 0:
            raise Rejected("not_found", status=404, what="addendum")
        if document is None or document.sealed_at is None:
            raise Rejected("record_not_sealed", status=409)
    return meeting


def meeting_plan_for(session: Session, who: Principal, meeting_id: int) -> Meeting:
    """A meeting's plan (time, place, chair, clerk, planned agenda): its viewers, and the commune admin, who
    already sees the branch's meeting list; the live content stays behind `meeting_for_viewer`."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    if who.may_see_meeting(meeting.branch_id, meeting.id):
        return meeting
    branch = session.get(Branch, meeting.branch_id)
    if branch is not None and administers(session, who, branch):
        return meeting
    raise Rejected("not_found", status=404, what="meeting")


def may_prepare(who: Principal, meeting: Meeting) -> bool:
    """The branch's secretary or deputy, or the meeting's own chair or clerk."""
    if who.may_manage_branch(meeting.branch_id):
        return True
    return who.may_see_branch(meeting.branch_id) and who.member_id in (meeting.chair_id, meeting.clerk_id)


def require_preparer(who: Principal, meeting: Meeting) -> None:
    if not may_prepare(who, meeting):
        raise Rejected("forbidden", status=403)


def require_viewer(who: Principal, meeting: Meeting) -> None:
    if not who.may_see_meeting(meeting.branch_id, meeting.id):
        raise Rejected("not_found", status=404, what="meeting")


def organises(session: Session, who: Principal, branch: Branch) -> bool:
    """The branch's secretary or deputy, or its commune admin: those who see members' phone numbers."""
    return who.may_manage_branch(branch.id) or administers(session, who, branch)


def require_login_creation(session: Session, who: Principal, branch_id: int, role: str) -> None:
    """May the caller create a login for a member of the branch (who has none), to hold branch role `role`?"""
    if who.may_manage_branch(branch_id):
        return
    branch = session.get(Branch, branch_id)
    if branch is None or not administers(session, who, branch):
        raise Rejected("forbidden", status=403)
    has_logins = session.scalar(
        select(func.count()).select_from(Member).where(Member.branch_id == branch.id, Member.user_id.is_not(None))
    )
    if has_logins or role not in ("secretary", "deputy"):
        raise Rejected("first_login_only", status=403)


def require_password_reset(who: Principal, member: Member) -> None:
    """May the caller set a new password for `member`'s existing login (a forgotten password)?"""
    if who.member_id is not None and who.member_id == member.id:
        raise Rejected("password_owner_only", status=403)  # one's own: POST /api/auth/password, current one too
    if not who.may_manage_branch(member.branch_id):
        raise Rejected("password_owner_only", status=403)  # the commune admin included
    if member.role != "member":
        raise Rejected("password_reset_not_allowed", status=403)
