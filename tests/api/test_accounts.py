"""Accounts (issue 13): who may create logins and set passwords, sessions that end at once, the account audit,
every password check throttled, phone numbers for the branch's organisers only. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.db.models import AccountEvent, Branch, Commune, Member, User
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.throttle import LoginThrottle
from tests.factories import PASSWORD, SeededBranch, seed_branch

NEW_PASSWORD = "mat-khau-moi-cua-toi"


@pytest.fixture
def client(context) -> TestClient:
    return TestClient(create_app(context=context))


@pytest.fixture
def branch_with_logins(context) -> SeededBranch:
    """Officials 0 (secretary, chairs) and 1 (clerk) ... each with a login; the branch in a commune with an admin."""
    seeded = seed_branch(context.sessions, code="cb-acc", with_logins=True)
    with context.sessions.begin() as session:
        commune = Commune(name="Xã Thử", code="xa-thu")
        session.add(commune)
        session.flush()
        session.get(Branch, seeded.branch_id).commune_id = commune.id
        admin = User(username="admin-xa", display_name="Quản trị xã", is_admin=True, commune_id=commune.id)
        admin.password_hash = session.scalar(select(User.password_hash).where(User.password_hash.is_not(None)))
        session.add(admin)
    return seeded


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def code_of(response) -> str:
    return response.json()["error"]["code"]


def events(context, branch_id: int) -> list[AccountEvent]:
    with context.sessions() as session:
        rows = session.scalars(
            select(AccountEvent).where(AccountEvent.branch_id == branch_id).order_by(AccountEvent.id)
        )
        return list(rows)


# -- who may set passwords and create logins -------------------------------------------------------------------------
def test_the_commune_admin_cannot_set_a_password_nor_create_a_login_in_a_branch_with_logins(
    client, context, branch_with_logins
):
    b = branch_with_logins
    admin = sign_in(client, "admin-xa")
    with context.sessions.begin() as session:  # a member of the branch without a login
        session.get(Member, b.guest).user_id = None
    secretary_password = client.patch(
        f"/api/members/{b.chair}", json={"password": "admin-biet-mat-khau"}, headers=admin
    )
    assert secretary_password.status_code == 403 and code_of(secretary_password) == "password_owner_only"
    member_password = client.patch(f"/api/members/{b.officials[3]}", json={"password": "admin-biet"}, headers=admin)
    assert member_password.status_code == 403 and code_of(member_password) == "password_owner_only"
    new_login = client.patch(
        f"/api/members/{b.guest}",
        json={"username": "admin-lam", "password": "admin-biet", "role": "secretary"},
        headers=admin,
    )
    assert new_login.status_code == 403 and code_of(new_login) == "first_login_only"
    new_member = client.post(
        f"/api/branches/{b.branch_id}/members",
        json={
            "full_name": "Bí thư giả",
            "category": "official",
            "role": "secretary",
            "username": "gia",
            "password": "admin-biet",
        },
        headers=admin,
    )
    assert new_member.status_code == 403 and code_of(new_member) == "first_login_only"
    # None of it happened: the passwords the admin chose open nothing, the old ones still work.
    for username, password in (
        (b.usernames[b.chair], "admin-biet-mat-khau"),
        ("admin-lam", "admin-biet"),
        ("gia", "admin-biet"),
    ):
        assert client.post("/api/auth/login", json={"username": username, "password": password}).status_code == 401
    sign_in(client, b.usernames[b.chair])
    assert [e.action for e in events(context, b.branch_id)] == []
    # What the admin may do: roles and (de)activation, which give them no access.
    assert client.patch(f"/api/members/{b.officials[4]}", json={"role": "deputy"}, headers=admin).status_code == 200
    assert client.delete(f"/api/members/{b.officials[5]}", headers=admin).status_code == 200
    assert [e.action for e in events(context, b.branch_id)] == ["role_changed", "deactivated"]


def test_the_commune_admin_creates_only_a_new_branchs_first_organiser_who_then_shuts_them_out(
    client, context, branch_with_logins
):
    admin = sign_in(client, "admin-xa")
    branch = client.post("/api/branches", json={"name": "Chi bộ mới", "code": "cb-moi"}, headers=admin).json()
    members = f"/api/branches/{branch['id']}/members"
    plain = {"full_name": "Đảng viên", "category": "official", "username": "dv-moi", "password": "admin-biet"}
    refused = client.post(members, json=plain, headers=admin)  # a plain member's login: not the admin's to make
    assert refused.status_code == 403 and code_of(refused) == "first_login_only"
    first = {
        "full_name": "Bí thư mới",
        "category": "official",
        "role": "secretary",
        "username": "bt-moi",
        "password": "admin-biet",
    }
    created = client.post(members, json=first, headers=admin)
    assert created.status_code == 201
    second = {**first, "full_name": "Phó bí thư", "role": "deputy", "username": "pbt-moi"}
    assert code_of(client.post(members, json=second, headers=admin)) == "first_login_only"  # only the first
    # The admin could use the first password; the secretary changes it, which ends every session made with it.
    as_admin_posing = sign_in(client, "bt-moi", "admin-biet")
    secretary = sign_in(client, "bt-moi", "admin-biet")
    changed = client.post(
        "/api/auth/password", json={"current_password": "admin-biet", "new_password": NEW_PASSWORD}, headers=secretary
    )
    assert changed.status_code == 200
    mine = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get(members, headers=mine).status_code == 200
    gone = client.get(members, headers=as_admin_posing)
    assert gone.status_code == 401 and code_of(gone) == "token_revoked"
    assert client.post("/api/auth/login", json={"username": "bt-moi", "password": "admin-biet"}).status_code == 401
    audit = client.get(f"/api/branches/{branch['id']}/account-events", headers=mine).json()["events"]
    assert [(e["action"], e["actor"]["name"]) for e in audit] == [
        ("password_changed", "Bí thư mới"),
        ("login_created", "Quản trị xã"),
    ]
    # From now on the branch's logins are its secretary's to make.
    assert client.post(members, json=plain, headers=mine).status_code == 201
    assert code_of(client.post(members, json={**plain, "username": "dv-2"}, headers=admin)) == "first_login_only"


def test_a_secretary_resets_a_plain_members_password_but_not_an_organisers(client, context, branch_with_logins):
    b = branch_with_logins
    secretary = sign_in(client, b.usernames[b.chair])
    with context.sessions.begin() as session:
        session.get(Member, b.officials[4]).role = "deputy"
    deputy = sign_in(client, b.usernames[b.officials[4]])
    member = sign_in(client, b.usernames[b.officials[2]])
    reset = client.patch(f"/api/members/{b.officials[2]}", json={"password": "dat-lai-mat-khau"}, headers=deputy)
    assert reset.status_code == 200
    assert code_of(client.get("/api/me", headers=member)) == "token_revoked"  # the forgotten password's sessions end
    sign_in(client, b.usernames[b.officials[2]], "dat-lai-mat-khau")
    for target, headers in ((b.chair, deputy), (b.officials[4], secretary)):
        refused = client.patch(f"/api/members/{target}", json={"password": "chiem-tai-khoan"}, headers=headers)
        assert refused.status_code == 403 and code_of(refused) == "password_reset_not_allowed"
    own = client.patch(f"/api/members/{b.chair}", json={"password": "tu-dat-lai"}, headers=secretary)
    assert own.status_code == 403 and code_of(own) == "password_owner_only"
    promote_and_reset = client.patch(
        f"/api/members/{b.officials[3]}", json={"password": "chiem-tai-khoan", "role": "deputy"}, headers=secretary
    )
    assert promote_and_reset.status_code == 403
    sign_in(client, b.usernames[b.chair])
    (event,) = events(context, b.branch_id)[-1:]
    assert (event.action, event.subject_member_id, event.actor_member_id) == (
        "password_reset",
        b.officials[2],
        b.officials[4],
    )
    assert event.address == "testclient"


# -- sessions that end at once ----------------------------------------------------------------------------------------
def test_deactivation_demotion_password_change_and_sign_out_end_sessions_at_once(client, context, branch_with_logins):
    b = branch_with_logins
    secretary = sign_in(client, b.usernames[b.chair])
    client.patch(f"/api/members/{b.officials[4]}", json={"role": "deputy"}, headers=secretary)
    deputy = sign_in(client, b.usernames[b.officials[4]])
    meeting_body = {"kind": "regular", "title": "Họp", "scheduled_at": "2030-01-01T08:00:00+07:00"}
    assert client.post(f"/api/branches/{b.branch_id}/meetings", json=meeting_body, headers=deputy).status_code == 201
    # Demoted: the deputy's old token no longer creates meetings or edits members (nor anything else).
    client.patch(f"/api/members/{b.officials[4]}", json={"role": "member"}, headers=secretary)
    for response in (
        client.post(f"/api/branches/{b.branch_id}/meetings", json=meeting_body, headers=deputy),
        client.patch(f"/api/members/{b.guest}", json={"phone": "0900000000"}, headers=deputy),
        client.post("/api/auth/refresh", headers=deputy),
    ):
        assert response.status_code == 401 and code_of(response) == "token_revoked"
    again = sign_in(client, b.usernames[b.officials[4]])
    assert client.post(f"/api/branches/{b.branch_id}/meetings", json=meeting_body, headers=again).status_code == 403
    # Deactivated: refused at once, and the invite-link sessions of the member too.
    member = sign_in(client, b.usernames[b.officials[2]])
    assert client.get(f"/api/meetings/{b.meeting_id}/state", headers=member).status_code == 200
    assert client.delete(f"/api/members/{b.officials[2]}", headers=secretary).status_code == 200
    assert code_of(client.get(f"/api/meetings/{b.meeting_id}/state", headers=member)) == "token_revoked"
    # Reactivated: a new sign-in works (the old token stays dead).
    client.patch(f"/api/members/{b.officials[2]}", json={"active": True}, headers=secretary)
    assert code_of(client.get("/api/me", headers=member)) == "token_revoked"
    sign_in(client, b.usernames[b.officials[2]])
    # Sign-out ends every session of the account, on every device.
    phone, laptop = sign_in(client, b.usernames[b.clerk]), sign_in(client, b.usernames[b.clerk])
    assert client.post("/api/auth/logout", headers=phone).status_code == 200
    for headers in (phone, laptop):
        assert code_of(client.get(f"/api/meetings/{b.meeting_id}/journal", headers=headers)) == "token_revoked"
    sign_in(client, b.usernames[b.clerk])
    actions = [(e.action, e.detail) for e in events(context, b.branch_id)]
    assert actions == [
        ("role_changed", "member -> deputy"),
        ("role_changed", "deputy -> member"),
        ("deactivated", ""),
        ("reactivated", ""),
        ("signed_out", ""),
    ]


def test_password_change_needs_the_current_one_and_keeps_only_this_device(client, context, branch_with_logins):
    b = branch_with_logins
    username = b.usernames[b.officials[2]]
    here, elsewhere = sign_in(client, username), sign_in(client, username)
    wrong = client.post(
        "/api/auth/password", json={"current_password": "doan-thu", "new_password": NEW_PASSWORD}, headers=here
    )
    assert wrong.status_code == 403 and code_of(wrong) == "current_password_wrong"
    short = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "ngan"}, headers=here)
    assert short.status_code == 422
    assert client.get("/api/me", headers=here).status_code == 200  # refusals changed nothing
    changed = client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=here
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/me", headers=fresh).status_code == 200
    for old in (here, elsewhere):
        assert code_of(client.get("/api/me", headers=old)) == "token_revoked"
    assert client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 401
    sign_in(client, username, NEW_PASSWORD)


def test_an_invite_link_session_signs_out_and_the_link_still_opens_the_meeting(client, context, branch):
    from datetime import UTC, datetime, timedelta

    from meeting.auth import issue_invite_token
    from tests.conftest import TEST_SECRET

    invite = issue_invite_token(
        meeting_id=branch.meeting_id,
        member_id=branch.officials[3],
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=2),
    )
    token = client.post("/api/auth/invite", json={"token": invite}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            "/api/auth/password", json={"current_password": "x", "new_password": NEW_PASSWORD}, headers=headers
        ).status_code
        == 403
    )
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    assert code_of(client.get(f"/api/meetings/{branch.meeting_id}/state", headers=headers)) == "token_revoked"
    again = client.post("/api/auth/invite", json={"token": invite}).json()["access_token"]
    assert (
        client.get(f"/api/meetings/{branch.meeting_id}/state", headers={"Authorization": f"Bearer {again}"}).status_code
        == 200
    )


# -- the audit -------------------------------------------------------------------------------------------------------
def test_the_account_audit_is_for_the_branchs_organisers_and_its_commune_admin(client, context, branch_with_logins):
    b = branch_with_logins
    secretary = sign_in(client, b.usernames[b.chair])
    with context.sessions.begin() as session:
        session.get(Member, b.guest).user_id = None
    client.patch(
        f"/api/members/{b.guest}", json={"username": "khach-moi", "password": "mat-khau-khach"}, headers=secretary
    )
    client.patch(f"/api/members/{b.officials[4]}", json={"role": "deputy"}, headers=secretary)
    path = f"/api/branches/{b.branch_id}/account-events"
    readers = [secretary, sign_in(client, b.usernames[b.officials[4]]), sign_in(client, "admin-xa")]
    for headers in readers:
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        audit = response.json()["events"]
        assert [(e["action"], e["subject"]["member_id"], e["actor"]["member_id"]) for e in audit] == [
            ("role_changed", b.officials[4], b.chair),
            ("login_created", b.guest, b.chair),
        ]
        assert audit[1]["detail"] == "khach-moi" and audit[0]["address"] == "testclient" and audit[0]["at"]
    for username in (b.usernames[b.officials[2]], b.usernames[b.probationary], "khach-moi"):
        pw = "mat-khau-khach" if username == "khach-moi" else PASSWORD
        assert client.get(path, headers=sign_in(client, username, pw)).status_code == 403
    other = seed_branch(context.sessions, code="cb-khac", with_logins=True)
    outsider = sign_in(client, other.usernames[other.officials[2]])
    assert client.get(path, headers=outsider).status_code == 404


# -- phone numbers -----------------------------------------------------------------------------------------------------
def test_phone_numbers_only_for_the_branchs_organisers(client, context, branch_with_logins):
    b = branch_with_logins
    with context.sessions.begin() as session:
        session.get(Member, b.officials[3]).phone = "0912345678"
        session.get(Member, b.officials[4]).role = "deputy"
    path = f"/api/branches/{b.branch_id}/members"
    for username, sees in (
        (b.usernames[b.chair], True),
        (b.usernames[b.officials[4]], True),
        ("admin-xa", True),
        (b.usernames[b.officials[2]], False),
        (b.usernames[b.probationary], False),
        (b.usernames[b.guest], False),
    ):
        headers = sign_in(client, username)
        roster = client.get(path, headers=headers).json()["members"]
        phones = {m["id"]: m["phone"] for m in roster}
        one = client.get(f"/api/members/{b.officials[3]}", headers=headers).json()["phone"]
        if sees:
            assert phones[b.officials[3]] == "0912345678" and one == "0912345678", username
        else:
            assert set(phones.values()) == {None} and one is None, username


# -- every password check is throttled -------------------------------------------------------------------------------
def _ended_meeting(context, b: SeededBranch) -> None:
    chair = Actor.member(b.chair)
    context.service.execute(b.meeting_id, c.CheckIn(member_id=b.chair, mode="in_person"), Actor.member(b.clerk))
    context.service.execute(b.meeting_id, c.StartMeeting(), chair)
    context.service.execute(b.meeting_id, c.EndMeeting(), chair)


def test_wrong_passwords_when_signing_the_record_are_throttled_with_sign_in(client, context, branch_with_logins):
    b = branch_with_logins
    context.login_throttle = LoginThrottle(per_account=5, per_address=30)
    _ended_meeting(context, b)
    chair = sign_in(client, b.usernames[b.chair])
    statuses = []
    for _ in range(30):
        response = client.post(f"/api/meetings/{b.meeting_id}/record/sign", json={"password": "doan"}, headers=chair)
        statuses.append(response.status_code)
    assert statuses[:5] == [403] * 5 and set(statuses[5:]) == {429}
    blocked = client.post(f"/api/meetings/{b.meeting_id}/record/sign", json={"password": PASSWORD}, headers=chair)
    assert blocked.status_code == 429 and code_of(blocked) == "too_many_password_attempts"
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert blocked.json()["error"]["message"].startswith("Nhập sai mật khẩu quá nhiều lần")
    assert "Too many wrong passwords" in blocked.json()["error"]["message_en"]
    # The same count as signing in: the chair cannot sign in from here either.
    login = client.post("/api/auth/login", json={"username": b.usernames[b.chair], "password": PASSWORD})
    assert login.status_code == 429


def test_wrong_current_passwords_are_throttled_and_count_for_sign_in(client, context, branch_with_logins):
    b = branch_with_logins
    context.login_throttle = LoginThrottle(per_account=5, per_address=30)
    username = b.usernames[b.officials[2]]
    headers = sign_in(client, username)
    body = {"current_password": "doan-mo", "new_password": NEW_PASSWORD}
    statuses = [client.post("/api/auth/password", json=body, headers=headers).status_code for _ in range(8)]
    assert statuses == [403] * 5 + [429] * 3
    right = client.post("/api/auth/password", json={**body, "current_password": PASSWORD}, headers=headers)
    assert right.status_code == 429 and "Retry-After" in right.headers
    assert client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 429
