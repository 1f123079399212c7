"""Every route, called by every kind of caller: who gets through and who is refused.

The table below must name every route of the app: a new route without a row here fails
`test_every_route_is_in_the_table`. A refused caller gets 401 when anonymous and 403 or 404 otherwise.
A caller from outside (a member of branch B, or an invite link for another meeting) must get exactly the
answer they would get for an object that does not exist: the refusal itself tells them nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from meeting import documents, planning, web
from meeting.app import create_app
from meeting.auth import issue_invite_token
from meeting.db.models import ReportSubmission
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from meeting.throttle import LoginThrottle
from tests.api.world import ROLES, World, build_world, new_meeting_body
from tests.conftest import TEST_SECRET

MEMBERS_OF_A = {"secretary", "chair", "clerk", "member"}
VIEWERS_OF_A = MEMBERS_OF_A | {"invitee"}
PREPARERS = {"secretary", "chair", "clerk"}  # the branch's secretary, the meeting's chair and clerk
PLAN_READERS = VIEWERS_OF_A | {"admin"}  # the plan (not the live meeting) is also the commune admin's business
GHOST_ID = "987654321"  # no object has this id
EVERYONE_SIGNED_IN = set(ROLES) - {"anonymous"}
ACCOUNTS = EVERYONE_SIGNED_IN - {"invitee"}  # an invite link reaches its own meeting, /api/me and nothing else
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Fixture:
    """Objects the table's requests point at, made once per world."""

    plan_meeting: int  # scheduled, never opened: its plan may still be edited
    ended_meeting: int  # held and ended, its report sent with the minutes shared
    entry_id: str
    document_id: int


@dataclass(frozen=True)
class Case:
    allowed: frozenset[str]
    ok: int = 200  # the status an allowed caller gets
    request: Callable[[World, Fixture, str], tuple[str, dict]] | None = None  # -> (path, httpx kwargs)
    public: bool = False  # same answer for everyone, anonymous included
    revokes: bool = False  # ends the caller's sessions: the world's tokens are issued again after it


def case(allowed, ok=200, request=None, public=False, revokes=False) -> Case:
    return Case(frozenset(allowed), ok, request, public, revokes)


def _member_id(world: World, role: str) -> int | None:
    return {
        "secretary": world.a.chair,
        "chair": world.chair,
        "clerk": world.a.clerk,
        "member": world.a.officials[2],
        "invitee": world.a.officials[3],
        "outsider": world.b.officials[2],
    }.get(role)


def _fresh_meeting(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    with world.context.sessions.begin() as session:
        meeting = planning.create_meeting(
            session,
            branch_id=world.a.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sẽ hủy",
            scheduled_at=datetime.now(UTC) + timedelta(days=5),
        )
        return f"/api/meetings/{meeting.id}", {}


def _fresh_item(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    with world.context.sessions.begin() as session:
        item = planning.add_item(session, fx.plan_meeting, title="Mục tạm")
        return f"/api/meetings/{fx.plan_meeting}/agenda/{item.id}", {}


def _fresh_document(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    store = documents.store_from_settings(world.context.settings)
    with world.context.sessions.begin() as session:
        document = documents.upload(session, store, meeting_id=fx.plan_meeting, filename="tam.pdf", data=PDF)
        return f"/api/prep/documents/{document.id}", {}


def _withdraw_absence(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    member_id = _member_id(world, role)
    if member_id is not None and role != "outsider":
        with world.context.sessions.begin() as session:
            planning.send_absence_notice(session, world.a.meeting_id, member_id, "Ốm")
    return f"/api/prep/meetings/{world.a.meeting_id}/absence", {}


def _self_check_in_command(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    member_id = _member_id(world, role) or world.a.chair
    body = {"command": {"type": "check_in", "member_id": member_id, "mode": "remote"}}
    return f"/api/meetings/{world.a.meeting_id}/commands", {"json": body}


def _room_check_in(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    code = web.checkin_code(TEST_SECRET, world.a.meeting_id, web.current_window())
    return f"/web/meetings/{world.a.meeting_id}/checkin", {"json": {"code": code}}


def _invite_exchange(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    token = issue_invite_token(
        meeting_id=world.a.meeting_id,
        member_id=world.a.officials[4],
        branch_id=world.a.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=2),
    )
    return "/api/auth/invite", {"json": {"token": token}}


def _new_member(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    body = {"full_name": f"Đảng viên mới {role}", "category": "official"}
    return f"/api/branches/{world.a.branch_id}/members", {"json": body}


def _new_branch(world: World, fx: Fixture, role: str) -> tuple[str, dict]:
    return "/api/branches", {"json": {"name": f"Chi bộ {role}", "code": f"cb-new-{role}"}}


def _fresh_resolution(world: World, fx: Fixture, role: str, suffix: str = "") -> tuple[str, dict]:
    """A resolution of the planned meeting, with one 5 rõ action item given to the plain member."""
    from meeting.db.models import Resolution
    from meeting.record.resolutions import ActionFields, add_action

    with world.context.sessions.begin() as session:
        resolution = Resolution(meeting_id=fx.plan_meeting, title="Nghị quyết tạm")
        session.add(resolution)
        session.flush()
        fields = ActionFields(world.a.officials[2], "Việc", datetime.now(UTC).date(), "Chi ủy", "Xong")
        action = add_action(session, resolution, world.a.branch_id, fields)
        if suffix == "action":
            return f"/api/actions/{action.id}", {"json": {"done": True}}
        return f"/api/resolutions/{resolution.id}{suffix}", {}


FIVE_CLEAR = {"task": "Việc", "deadline": "2030-01-31", "responsible": "Chi ủy", "expected_result": "Xong"}


def _get(path: str) -> Callable[[World, Fixture, str], tuple[str, dict]]:
    return lambda world, fx, role: (path.format(world=world, fx=fx), {})


def _with(path: str, **kwargs) -> Callable[[World, Fixture, str], tuple[str, dict]]:
    return lambda world, fx, role: (path.format(world=world, fx=fx), kwargs)


A, M, P = "{world.a.branch_id}", "{world.a.meeting_id}", "{fx.plan_meeting}"

TABLE: dict[tuple[str, str], Case] = {
    ("GET", "/api/openapi.json"): case(ROLES, public=True),
    ("POST", "/api/auth/login"): case(
        ROLES, 401, _with("/api/auth/login", json={"username": "nobody", "password": "x"}), public=True
    ),
    ("POST", "/api/auth/refresh"): case(EVERYONE_SIGNED_IN),
    ("POST", "/api/auth/invite"): case(ROLES, request=_invite_exchange, public=True),
    ("GET", "/api/me"): case(EVERYONE_SIGNED_IN),
    ("POST", "/api/auth/logout"): case(EVERYONE_SIGNED_IN, revokes=True),
    # Only a login's owner, with its current password: the world's members have no login and the admin's password
    # is not this one, so all are refused here; tests/api/test_accounts.py changes a password for real.
    ("POST", "/api/auth/password"): case(
        set(), request=_with("/api/auth/password", json={"current_password": "sai", "new_password": "mat-khau-moi"})
    ),
    ("GET", "/api/branches"): case(ACCOUNTS),
    ("POST", "/api/branches"): case({"admin"}, 201, _new_branch),
    ("GET", "/api/branches/{branch_id:int}"): case(MEMBERS_OF_A | {"admin"}, request=_get(f"/api/branches/{A}")),
    ("PATCH", "/api/branches/{branch_id:int}"): case(
        {"admin", "secretary"}, request=_with(f"/api/branches/{A}", json={"organisation": "Đảng ủy xã A"})
    ),
    ("GET", "/api/branches/{branch_id:int}/members"): case(
        MEMBERS_OF_A | {"admin"}, request=_get(f"/api/branches/{A}/members")
    ),
    ("POST", "/api/branches/{branch_id:int}/members"): case({"admin", "secretary"}, 201, _new_member),
    ("GET", "/api/members/{member_id:int}"): case(
        MEMBERS_OF_A | {"admin"}, request=_get("/api/members/{world.a.probationary}")
    ),
    ("PATCH", "/api/members/{member_id:int}"): case(
        {"admin", "secretary"}, request=_with("/api/members/{world.a.probationary}", json={"phone": "0912345678"})
    ),
    ("DELETE", "/api/members/{member_id:int}"): case(
        {"admin", "secretary"}, request=_get("/api/members/{world.a.guest}")
    ),
    ("GET", "/api/branches/{branch_id:int}/account-events"): case(
        {"admin", "secretary"}, request=_get(f"/api/branches/{A}/account-events")
    ),
    ("GET", "/api/branches/{branch_id:int}/meetings"): case(
        MEMBERS_OF_A | {"admin"}, request=_get(f"/api/branches/{A}/meetings")
    ),
    ("POST", "/api/branches/{branch_id:int}/meetings"): case(
        {"admin", "secretary"},
        201,
        lambda world, fx, role: (f"/api/branches/{world.a.branch_id}/meetings", {"json": new_meeting_body(world)}),
    ),
    ("GET", "/api/meetings/{meeting_id:int}"): case(PLAN_READERS, request=_get(f"/api/meetings/{M}")),
    ("PATCH", "/api/meetings/{meeting_id:int}"): case(
        PREPARERS, request=_with(f"/api/meetings/{P}", json={"place": "Hội trường xã"})
    ),
    ("DELETE", "/api/meetings/{meeting_id:int}"): case({"admin", "secretary"}, 204, _fresh_meeting),
    ("GET", "/api/meetings/{meeting_id:int}/agenda"): case(PLAN_READERS, request=_get(f"/api/meetings/{M}/agenda")),
    ("POST", "/api/meetings/{meeting_id:int}/agenda"): case(
        PREPARERS, 201, _with(f"/api/meetings/{P}/agenda", json={"title": "Mục bổ sung"})
    ),
    ("POST", "/api/meetings/{meeting_id:int}/agenda/order"): case(
        PREPARERS,
        request=lambda world, fx, role: (
            f"/api/meetings/{fx.plan_meeting}/agenda/order",
            {"json": {"order": _plan_order(world, fx)}},
        ),
    ),
    ("PATCH", "/api/meetings/{meeting_id:int}/agenda/{item_id}"): case(
        PREPARERS,
        request=lambda world, fx, role: (
            f"/api/meetings/{fx.plan_meeting}/agenda/{_plan_order(world, fx)[0]}",
            {"json": {"speaking_limit_s": 240}},
        ),
    ),
    ("DELETE", "/api/meetings/{meeting_id:int}/agenda/{item_id}"): case(PREPARERS, request=_fresh_item),
    ("GET", "/api/agenda-templates"): case(ACCOUNTS),
    ("GET", "/api/agenda-templates/{template_id}"): case(ACCOUNTS, request=_get("/api/agenda-templates/regular")),
    ("GET", "/api/meetings/{meeting_id:int}/state"): case(VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/state")),
    ("GET", "/api/meetings/{meeting_id:int}/journal"): case(VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/journal")),
    ("GET", "/api/meetings/{meeting_id:int}/journal/verify"): case(
        VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/journal/verify")
    ),
    ("POST", "/api/meetings/{meeting_id:int}/commands"): case(VIEWERS_OF_A, request=_self_check_in_command),
    ("POST", "/api/meetings/{meeting_id:int}/invites"): case(
        PREPARERS, 201, _with(f"/api/meetings/{M}/invites", json={"member_id": 0})
    ),
    # issue 7: preparation, documents, absences, reports, statistics, the commune
    ("GET", "/api/prep/meetings/{meeting_id:int}"): case(VIEWERS_OF_A, request=_get(f"/api/prep/meetings/{M}")),
    ("PUT", "/api/prep/meetings/{meeting_id:int}/items/{item_id}/speakers"): case(
        PREPARERS,
        request=lambda world, fx, role: (
            f"/api/prep/meetings/{fx.plan_meeting}/items/{_plan_order(world, fx)[0]}/speakers",
            {"json": {"presenter_id": world.a.officials[2], "designated_speakers": []}},
        ),
    ),
    ("GET", "/api/prep/meetings/{meeting_id:int}/documents"): case(
        VIEWERS_OF_A, request=_get(f"/api/prep/meetings/{M}/documents")
    ),
    ("POST", "/api/prep/meetings/{meeting_id:int}/documents"): case(
        PREPARERS,
        201,
        lambda world, fx, role: (
            f"/api/prep/meetings/{fx.plan_meeting}/documents?filename=du-thao-{role}.pdf",
            {"content": PDF, "headers": {"Content-Type": "application/pdf"}},
        ),
    ),
    ("POST", "/api/prep/meetings/{meeting_id:int}/distribute"): case(
        PREPARERS, request=_with(f"/api/prep/meetings/{P}/distribute", json={})
    ),
    ("GET", "/api/prep/meetings/{meeting_id:int}/access"): case(
        PREPARERS, request=_get(f"/api/prep/meetings/{P}/access")
    ),
    ("GET", "/api/prep/documents/{document_id:int}/file"): case(  # distributed: every member may read it
        MEMBERS_OF_A, request=_get("/api/prep/documents/{fx.document_id}/file")
    ),
    ("DELETE", "/api/prep/documents/{document_id:int}"): case(PREPARERS, 204, _fresh_document),
    ("GET", "/api/prep/meetings/{meeting_id:int}/invitation.ics"): case(
        VIEWERS_OF_A, request=_get(f"/api/prep/meetings/{M}/invitation.ics")
    ),
    ("GET", "/api/prep/my/meetings"): case(VIEWERS_OF_A | {"outsider"}),
    ("POST", "/api/prep/meetings/{meeting_id:int}/absence"): case(
        VIEWERS_OF_A, 201, _with(f"/api/prep/meetings/{M}/absence", json={"reason": "Đi công tác"})
    ),
    ("DELETE", "/api/prep/meetings/{meeting_id:int}/absence"): case(VIEWERS_OF_A, 204, _withdraw_absence),
    ("GET", "/api/prep/meetings/{meeting_id:int}/absences"): case(
        PREPARERS, request=_get(f"/api/prep/meetings/{M}/absences")
    ),
    ("GET", "/api/prep/meetings/{meeting_id:int}/report.{fmt:str}"): case(
        PREPARERS, request=_get("/api/prep/meetings/{fx.ended_meeting}/report.docx")
    ),
    ("POST", "/api/prep/meetings/{meeting_id:int}/report/submit"): case(
        {"secretary"},
        request=_with("/api/prep/meetings/{fx.ended_meeting}/report/submit", json={"minutes_shared": True}),
    ),
    ("GET", "/api/prep/meetings/{meeting_id:int}/report/submission"): case(
        PREPARERS, request=_get("/api/prep/meetings/{fx.ended_meeting}/report/submission")
    ),
    ("GET", "/api/prep/branches/{branch_id:int}/participation"): case(
        {"secretary"}, request=_get(f"/api/prep/branches/{A}/participation")
    ),
    ("GET", "/api/prep/branches/{branch_id:int}/participation.svg"): case(
        {"secretary"}, request=_get(f"/api/prep/branches/{A}/participation.svg")
    ),
    ("GET", "/api/commune/overview"): case({"admin"}),
    ("GET", "/api/commune/meetings/{meeting_id:int}/report.{fmt:str}"): case(
        {"admin"}, request=_get("/api/commune/meetings/{fx.ended_meeting}/report.pdf")
    ),
    ("GET", "/api/commune/meetings/{meeting_id:int}/minutes"): case(
        {"admin"}, request=_get("/api/commune/meetings/{fx.ended_meeting}/minutes")
    ),
    # issue 6: the official record, resolutions and action items (the invitee's meeting is open, not ended)
    ("GET", "/api/meetings/{meeting_id:int}/record"): case(VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/record")),
    ("GET", "/api/meetings/{meeting_id:int}/record.{fmt}"): case(
        VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/record.html")
    ),
    ("POST", "/api/meetings/{meeting_id:int}/record/sign"): case(  # only its chair and clerk; it has not ended
        {"chair", "clerk"}, 409, _with(f"/api/meetings/{M}/record/sign", json={"password": "x"})
    ),
    ("GET", "/api/meetings/{meeting_id:int}/record/verify"): case(  # nothing sealed yet
        VIEWERS_OF_A, 409, _get(f"/api/meetings/{M}/record/verify")
    ),
    ("POST", "/api/meetings/{meeting_id:int}/record/addenda"): case(
        {"chair", "clerk"}, 409, _with(f"/api/meetings/{M}/record/addenda", json={"text": "Đính chính"})
    ),
    ("GET", "/api/meetings/{meeting_id:int}/record/addenda/{number:int}.{fmt}"): case(  # none written yet
        VIEWERS_OF_A, 404, _get(f"/api/meetings/{M}/record/addenda/1.pdf")
    ),
    ("POST", "/api/meetings/{meeting_id:int}/record/addenda/{number:int}/sign"): case(
        {"chair", "clerk"}, 404, _with(f"/api/meetings/{M}/record/addenda/1/sign", json={"password": "x"})
    ),
    ("POST", "/api/records/verify"): case(ACCOUNTS, request=_with("/api/records/verify", content=PDF)),
    ("GET", "/api/meetings/{meeting_id:int}/resolutions"): case(
        VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/resolutions")
    ),
    ("POST", "/api/meetings/{meeting_id:int}/resolutions"): case(
        PREPARERS, 201, _with(f"/api/meetings/{P}/resolutions", json={"title": "Nghị quyết"})
    ),
    ("PATCH", "/api/resolutions/{resolution_id:int}"): case(
        PREPARERS,
        request=lambda world, fx, role: (_fresh_resolution(world, fx, role)[0], {"json": {"text": "Nội dung"}}),
    ),
    ("POST", "/api/resolutions/{resolution_id:int}/actions"): case(
        PREPARERS,
        201,
        lambda world, fx, role: (
            _fresh_resolution(world, fx, role, "/actions")[0],
            {"json": {**FIVE_CLEAR, "assignee_id": world.a.officials[2]}},
        ),
    ),
    ("PATCH", "/api/actions/{action_id:int}"): case(  # its assignee (the plain member) or a preparer
        PREPARERS | {"member"}, request=lambda world, fx, role: _fresh_resolution(world, fx, role, "action")
    ),
    ("GET", "/api/meetings/{meeting_id:int}/review"): case(VIEWERS_OF_A, request=_get(f"/api/meetings/{M}/review")),
    ("GET", "/api/me/actions"): case(EVERYONE_SIGNED_IN),
    ("GET", "/web/meetings/{meeting_id:int}/record"): case(
        ROLES, request=_get(f"/web/meetings/{M}/record"), public=True
    ),
    ("GET", "/web/record/verify"): case(ROLES, public=True),
    ("GET", "/web/record/record.js"): case(ROLES, public=True),
    ("GET", "/web/record/record.css"): case(ROLES, public=True),
    ("GET", "/metrics"): case(ROLES, 403, public=True),  # for the scraper on this machine, or with its own token
    # issue 5: pages are empty shells for everyone; data only through the routes above
    ("GET", "/"): case(ROLES, public=True),
    ("GET", "/join"): case(ROLES, public=True),
    ("GET", "/chair"): case(ROLES, public=True),
    ("GET", "/clerk"): case(ROLES, public=True),
    ("GET", "/hall"): case(ROLES, public=True),
    ("GET", "/branch"): case(ROLES, public=True),
    ("GET", "/resolutions"): case(ROLES, public=True),
    ("GET", "/stats"): case(ROLES, public=True),
    ("GET", "/commune"): case(ROLES, public=True),
    ("GET", "/members"): case(ROLES, public=True),
    # issue 8: health probes, open like any probe, nothing about the data in them
    ("GET", "/healthz"): case(ROLES, public=True),
    ("GET", "/readyz"): case(ROLES, public=True),
    ("GET", "/static/{path:path}"): case(ROLES, request=_get("/static/css/app.css"), public=True),
    ("GET", "/web/meetings/{meeting_id:int}/checkin-qr.svg"): case(
        PREPARERS, request=_get(f"/web/meetings/{M}/checkin-qr.svg")
    ),
    ("POST", "/web/meetings/{meeting_id:int}/checkin"): case(VIEWERS_OF_A, request=_room_check_in),
    ("POST", "/web/meetings/{meeting_id:int}/open"): case(PREPARERS, request=_get(f"/web/meetings/{M}/open")),
    ("GET", "/web/meetings/{meeting_id:int}/minutes/{entry_id}/revisions"): case(
        VIEWERS_OF_A, request=_get(f"/web/meetings/{M}/minutes/{{fx.entry_id}}/revisions")
    ),
}


def _plan_order(world: World, fx: Fixture) -> list[str]:
    with world.context.sessions() as session:
        return [item.id for item in planning.get_meeting(session, fx.plan_meeting).agenda]


def _prepare(world: World) -> Fixture:
    context, a = world.context, world.a
    with context.sessions.begin() as session:
        plan = planning.create_meeting(
            session,
            branch_id=a.branch_id,
            kind=MeetingKind.THEMATIC,
            title="Chuyên đề quý IV",
            scheduled_at=datetime.now(UTC) + timedelta(days=10),
            chair_id=world.chair,
            clerk_id=a.clerk,
        )
        ended = planning.create_meeting(
            session,
            branch_id=a.branch_id,
            kind=MeetingKind.REGULAR,
            title="Tháng trước",
            scheduled_at=datetime.now(UTC) - timedelta(days=30),
            chair_id=world.chair,
            clerk_id=a.clerk,
        )
        plan_id, ended_id = plan.id, ended.id
        store = documents.store_from_settings(context.settings)
        document = documents.upload(session, store, meeting_id=plan_id, filename="du-thao.pdf", data=PDF)
        document_id = document.id
        documents.distribute(session, plan_id, [document_id], user_id=None)
    service, chair, clerk = context.service, Actor.member(world.chair), Actor.member(a.clerk)
    # The invitee's meeting is open (live) but not started, so absence notices can still be sent to it.
    for meeting_id in (a.meeting_id, ended_id):
        service.execute(meeting_id, c.CheckIn(member_id=a.chair, mode="in_person"), clerk)
    service.execute(ended_id, c.StartMeeting(), chair)
    first_item = service.state(a.meeting_id)[0].agenda[0].id
    service.execute(a.meeting_id, c.WriteEntry(entry_id="e-1", item_id=first_item, text="Khai mạc"), clerk)
    service.execute(ended_id, c.EndMeeting(), chair)
    with context.sessions.begin() as session:
        session.add(ReportSubmission(meeting_id=ended_id, branch_id=a.branch_id, minutes_shared=True))
    return Fixture(plan_meeting=plan_id, ended_meeting=ended_id, entry_id="e-1", document_id=document_id)


@pytest.fixture
def world(context) -> World:
    # Every role tries the same wrong sign-in here; the throttle has its own tests (test_login_throttle.py).
    context.login_throttle = LoginThrottle(per_account=1000, per_address=1000)
    client = TestClient(create_app(context=context))
    return build_world(context, client)


def test_every_route_is_in_the_table(world: World):
    routes = {
        (method, route.path)
        for route in world.client.app.routes
        if isinstance(route, Route)
        for method in route.methods or []
        if method != "HEAD"
    }
    assert routes == set(TABLE), f"missing: {routes - set(TABLE)}; stale: {set(TABLE) - routes}"


def test_every_route_with_every_role(world: World):
    fx = _prepare(world)
    invite_case = TABLE[("POST", "/api/meetings/{meeting_id:int}/invites")]
    failures = []
    for (method, template), spec in TABLE.items():
        for role in ROLES:
            if spec is invite_case:
                path, kwargs = (
                    f"/api/meetings/{world.a.meeting_id}/invites",
                    {"json": {"member_id": world.a.officials[4]}},
                )
            elif spec.request is not None:
                path, kwargs = spec.request(world, fx, role)
            else:
                path, kwargs = template, {}
            headers = {**kwargs.pop("headers", {}), **world.headers(role)}
            response = world.client.request(method, path, headers=headers, **kwargs)
            if spec.public or role in spec.allowed:
                expected = {spec.ok}
            elif role == "anonymous":
                expected = {401}
            else:
                expected = {403, 404}
            if response.status_code not in expected:
                failures.append(f"{method} {path} as {role}: {response.status_code} {response.text[:160]}")
            if spec.revokes:
                world.renew_tokens()
            if response.status_code >= 400:
                assert "error" in response.json(), f"{method} {path}: error without the error shape"
            if response.status_code in (403, 404) and _outside(world, role, path) and re.search(r"/\d+(/|$)", path):
                ghost_path = re.sub(r"/\d+(?=/|$)", "/" + GHOST_ID, path)
                ghost = world.client.request(method, ghost_path, headers=headers, **kwargs)
                if ghost.status_code != response.status_code:
                    failures.append(
                        f"{method} {path} as {role}: {response.status_code}, but {ghost.status_code} for an id "
                        "that does not exist: the refusal tells an outsider the object exists"
                    )
    assert not failures, "\n".join(failures)


def _outside(world: World, role: str, path: str) -> bool:
    """The caller has no business knowing whether the object exists (their own meeting they know of)."""
    if role == "outsider":
        return True
    return role == "invitee" and not re.search(rf"/meetings/{world.a.meeting_id}(/|$)", path)


def test_a_commune_admin_finds_nothing_of_another_commune(world: World):
    b, admin = world.b, world.headers("admin")
    paths = [
        f"/api/branches/{b.branch_id}",
        f"/api/branches/{b.branch_id}/members",
        f"/api/branches/{b.branch_id}/meetings",
        f"/api/members/{b.officials[0]}",
        f"/api/meetings/{b.meeting_id}",
        f"/api/meetings/{b.meeting_id}/agenda",
        f"/api/meetings/{b.meeting_id}/state",
    ]
    for path in paths:
        response = world.client.get(path, headers=admin)
        assert response.status_code == 404, f"{path}: {response.status_code}"
    listed = world.client.get("/api/branches", headers=admin).json()["branches"]
    assert [branch["id"] for branch in listed] == [world.a.branch_id]
    changed = world.client.patch(f"/api/branches/{b.branch_id}", json={"name": "Đổi tên"}, headers=admin)
    assert changed.status_code == 404


# -- sequences (issue 13): accounts changed, then the changed accounts used -----------------------------------------
def _give_logins(world: World, member_ids: list[int]) -> dict[int, str]:
    """Logins (password PASSWORD) for these members of A: member id -> username."""
    from meeting.auth import hash_password
    from meeting.db.models import Member, User
    from tests.factories import PASSWORD

    password_hash = hash_password(PASSWORD)
    usernames = {}
    with world.context.sessions.begin() as session:
        for member_id in member_ids:
            user = User(username=f"a-{member_id}", password_hash=password_hash, display_name=f"A {member_id}")
            session.get(Member, member_id).user = user
            usernames[member_id] = user.username
    return usernames


def _sign_in(world: World, username: str, password: str | None = None) -> dict[str, str]:
    from tests.factories import PASSWORD

    response = world.client.post("/api/auth/login", json={"username": username, "password": password or PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _content_routes(world: World, fx: Fixture) -> list[tuple[str, str, dict]]:
    """Every route of the table that reads or writes a meeting's content and that the commune admin may not use."""
    found = []
    for (method, template), spec in TABLE.items():
        if spec.public or "admin" in spec.allowed or "/meetings/" not in template or spec is _INVITES:
            continue
        path, kwargs = spec.request(world, fx, "admin") if spec.request else (template, {})
        found.append((method, path, kwargs))
    return found


_INVITES = TABLE[("POST", "/api/meetings/{meeting_id:int}/invites")]


def test_a_commune_admin_who_changes_accounts_cannot_act_as_them(world: World):
    fx = _prepare(world)
    a, admin = world.a, world.headers("admin")
    usernames = _give_logins(world, [a.chair, world.chair, a.clerk, a.officials[2]])
    known = "quan-tri-biet-mat-khau"
    attempts = [
        ("PATCH", f"/api/members/{a.chair}", {"password": known}),
        ("PATCH", f"/api/members/{world.chair}", {"password": known}),
        ("PATCH", f"/api/members/{a.officials[2]}", {"password": known, "role": "member"}),
        ("PATCH", f"/api/members/{a.officials[4]}", {"username": "qt-lam-1", "password": known, "role": "secretary"}),
        ("PATCH", f"/api/members/{a.guest}", {"username": "qt-lam-2", "password": known}),
        (
            "POST",
            f"/api/branches/{a.branch_id}/members",
            {"full_name": "Giả", "category": "official", "role": "deputy", "username": "qt-lam-3", "password": known},
        ),
    ]
    for method, path, body in attempts:
        response = world.client.request(method, path, json=body, headers=admin)
        assert response.status_code == 403, f"{method} {path} {body}: {response.status_code}"
    # Changes that give the admin nothing are theirs to make; then they try every door.
    assert world.client.patch(f"/api/members/{world.chair}", json={"role": "deputy"}, headers=admin).status_code == 200
    for username in [*usernames.values(), "qt-lam-1", "qt-lam-2", "qt-lam-3"]:
        response = world.client.post("/api/auth/login", json={"username": username, "password": known})
        assert response.status_code == 401, username
    for method, path, kwargs in _content_routes(world, fx):
        headers = {**kwargs.pop("headers", {}), **admin}
        response = world.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code in (403, 404), f"{method} {path} as the admin: {response.status_code}"
    with world.context.sessions() as session:
        from meeting.db.models import AccountEvent

        actions = [e.action for e in session.query(AccountEvent).order_by(AccountEvent.id)]
    assert actions == ["role_changed"]


def test_a_revoked_token_is_refused_on_every_route(world: World):
    """Sign-out, deactivation, demotion, a password change, and an invite-link session of a deactivated member:
    the token from before answers 401 token_revoked on every route that takes a token."""
    fx = _prepare(world)
    a, secretary = world.a, world.headers("secretary")
    usernames = _give_logins(world, [a.officials[2], a.probationary, a.officials[4], a.clerk])
    client = world.client
    old_tokens = {}
    # sign-out
    old_tokens["signed out"] = _sign_in(world, usernames[a.officials[2]])
    assert client.post("/api/auth/logout", headers=old_tokens["signed out"]).status_code == 200
    # deactivated
    old_tokens["deactivated"] = _sign_in(world, usernames[a.probationary])
    assert client.delete(f"/api/members/{a.probationary}", headers=secretary).status_code == 200
    # demoted deputy
    assert client.patch(f"/api/members/{a.officials[4]}", json={"role": "deputy"}, headers=secretary).status_code == 200
    old_tokens["demoted"] = _sign_in(world, usernames[a.officials[4]])
    assert client.patch(f"/api/members/{a.officials[4]}", json={"role": "member"}, headers=secretary).status_code == 200
    # password changed on another device
    old_tokens["password changed"] = _sign_in(world, usernames[a.clerk])
    other_device = _sign_in(world, usernames[a.clerk])
    body = {"current_password": "mat-khau-thu-nghiem", "new_password": "mat-khau-moi-123"}
    assert client.post("/api/auth/password", json=body, headers=other_device).status_code == 200
    # an invite link's session, its member deactivated
    _, invite_kwargs = _invite_exchange(world, fx, "anonymous")
    invited = client.post("/api/auth/invite", **invite_kwargs).json()["access_token"]
    old_tokens["invite, deactivated"] = {"Authorization": f"Bearer {invited}"}
    assert client.delete(f"/api/members/{a.officials[4]}", headers=secretary).status_code == 200

    failures = []
    for (method, template), spec in TABLE.items():
        if spec.public or template in ("/api/auth/login", "/api/auth/invite"):
            continue
        for kind, headers in old_tokens.items():
            path, kwargs = spec.request(world, fx, "member") if spec.request else (template, {})
            kwargs = dict(kwargs)
            response = client.request(method, path, headers={**kwargs.pop("headers", {}), **headers}, **kwargs)
            if response.status_code != 401 or response.json()["error"]["code"] != "token_revoked":
                failures.append(f"{method} {path} ({kind}): {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
