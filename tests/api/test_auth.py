"""Signing in: passwords, token expiry, invite links and their limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token, issue_invite_token
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, seed_branch


@pytest.fixture
def client(context):
    return TestClient(create_app(context=context))


@pytest.fixture
def branch_with_logins(context):
    return seed_branch(context.sessions, code="cb-login", with_logins=True)


def _login(client, username, password):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_with_the_right_password_gives_a_token_that_opens_the_branch(client, branch_with_logins):
    username = branch_with_logins.usernames[branch_with_logins.chair]
    response = _login(client, username, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["me"]["member_id"] == branch_with_logins.chair and body["me"]["role"] == "secretary"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = client.get("/api/me", headers=headers).json()
    assert me["branch_id"] == branch_with_logins.branch_id and me["category"] == "official"
    assert client.get(f"/api/branches/{branch_with_logins.branch_id}", headers=headers).status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client, branch_with_logins):
    username = branch_with_logins.usernames[branch_with_logins.chair]
    wrong = _login(client, username, "sai-mat-khau")
    unknown = _login(client, "khong-co-ai", "sai-mat-khau")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"
    assert wrong.json()["error"]["message"].startswith("Tên đăng nhập")  # Vietnamese first


def test_an_unknown_username_costs_the_same_password_check_as_a_known_one(client, branch_with_logins, monkeypatch):
    """Timing must not tell which usernames exist: every sign-in runs exactly one argon2 verification."""
    from argon2 import PasswordHasher

    import meeting.auth

    checks: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checks.append(str(password))
            return super().verify(hash, password)

    monkeypatch.setattr(meeting.auth, "_hasher", CountingHasher())
    username = branch_with_logins.usernames[branch_with_logins.chair]
    for name in (username, "khong-co-ai", "Khong-Co-Ai-2"):
        checks.clear()
        assert _login(client, name, "sai-mat-khau").status_code == 401
        assert checks == ["sai-mat-khau"], name


def test_deactivated_member_cannot_sign_in(client, context, branch_with_logins):
    from meeting.db.models import Member

    with context.sessions.begin() as session:
        session.get(Member, branch_with_logins.officials[2]).active = False
    response = _login(client, branch_with_logins.usernames[branch_with_logins.officials[2]], PASSWORD)
    assert response.status_code == 401


def test_expired_and_forged_tokens_are_refused(client, branch):
    who = Principal(None, branch.chair, branch.branch_id, "secretary")
    expired = issue_access_token(who, TEST_SECRET, minutes=5, now=datetime.now(UTC) - timedelta(hours=1))
    forged = issue_access_token(who, "another-secret-that-is-long-enough-123456")
    path = f"/api/meetings/{branch.meeting_id}/state"
    response = client.get(path, headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_expired"
    response = client.get(path, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
    assert client.get(path, headers={"Authorization": "Basic abc"}).json()["error"]["code"] == "unauthenticated"


def _invite(branch, member_id, hours=2):
    return issue_invite_token(
        meeting_id=branch.meeting_id,
        member_id=member_id,
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=hours),
    )


def test_invite_link_gives_a_token_for_that_meeting_only(client, context, branch):
    response = client.post("/api/auth/invite", json={"token": _invite(branch, branch.officials[3])})
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert response.json()["me"]["meeting_id"] == branch.meeting_id
    assert client.get(f"/api/meetings/{branch.meeting_id}/state", headers=headers).status_code == 200
    command = {"command": {"type": "check_in", "member_id": branch.officials[3], "mode": "remote"}}
    context.service.open(branch.meeting_id)  # by its clerk's console: an invite link opens no meeting
    assert client.post(f"/api/meetings/{branch.meeting_id}/commands", json=command, headers=headers).status_code == 200
    # ...and nothing else of the branch: not its roster, not its other meetings.
    assert client.get(f"/api/branches/{branch.branch_id}/members", headers=headers).status_code == 404
    from meeting.planning import create_meeting

    with context.sessions.begin() as session:
        other = create_meeting(
            session, branch_id=branch.branch_id, kind="regular", title="Khác", scheduled_at=datetime.now(UTC)
        ).id
    assert client.get(f"/api/meetings/{other}/state", headers=headers).status_code == 404


def test_expired_or_tampered_invite_is_refused(client, branch):
    expired = _invite(branch, branch.officials[3], hours=-1)
    response = client.post("/api/auth/invite", json={"token": expired})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invite_invalid"
    good = _invite(branch, branch.officials[3])
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert client.post("/api/auth/invite", json={"token": tampered}).status_code == 401
    # An access token is not an invite, nor the other way round.
    access = issue_access_token(Principal(None, branch.chair, branch.branch_id, "secretary"), TEST_SECRET)
    assert client.post("/api/auth/invite", json={"token": access}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"Bearer {good}"}).status_code == 401


def test_refresh_keeps_the_invite_scope(client, branch):
    token = client.post("/api/auth/invite", json={"token": _invite(branch, branch.officials[3])}).json()["access_token"]
    refreshed = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})
    assert refreshed.status_code == 200
    assert refreshed.json()["me"]["meeting_id"] == branch.meeting_id


def test_refresh_takes_the_roster_as_it_is_now(client, context, branch):
    from meeting.db.models import Member

    secretary = issue_access_token(Principal(None, branch.chair, branch.branch_id, "secretary"), TEST_SECRET)
    with context.sessions.begin() as session:
        session.get(Member, branch.chair).role = "member"  # a new secretary was elected
    refreshed = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {secretary}"})
    assert refreshed.status_code == 200 and refreshed.json()["me"]["role"] == "member"
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert client.patch(f"/api/branches/{branch.branch_id}", json={"name": "X"}, headers=headers).status_code == 403
    with context.sessions.begin() as session:
        session.get(Member, branch.chair).active = False
    gone = client.post("/api/auth/refresh", headers=headers)
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "token_invalid"


def test_commune_admin_signs_in_without_a_branch(client, context, branch):
    from meeting.auth import hash_password
    from meeting.db.models import Branch, Commune, User

    with context.sessions.begin() as session:
        commune = Commune(name="Xã Thử", code="xa-thu")
        session.add(commune)
        session.flush()
        session.get(Branch, branch.branch_id).commune_id = commune.id
        session.add(
            User(
                username="ban-xd",
                display_name="Ban Xây dựng Đảng",
                is_admin=True,
                commune_id=commune.id,
                password_hash=hash_password("mat-khau-quan-tri"),
            )
        )
    signed_in = _login(client, "ban-xd", "mat-khau-quan-tri")
    assert signed_in.status_code == 200
    me = signed_in.json()["me"]
    assert me["role"] == "admin" and me["branch_id"] is None and me["is_admin"] is True
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert client.get(f"/api/branches/{branch.branch_id}/members", headers=headers).status_code == 200
    assert client.get(f"/api/meetings/{branch.meeting_id}", headers=headers).status_code == 200  # the plan
    for content in ("state", "journal", "journal/verify"):  # never the meeting itself
        assert client.get(f"/api/meetings/{branch.meeting_id}/{content}", headers=headers).status_code == 404


def test_invite_for_an_ended_meeting_or_a_member_of_another_branch_is_refused(client, context, branch):
    from meeting.db.models import Meeting
    from tests.factories import seed_branch

    other = seed_branch(context.sessions, code="cb-khac")
    foreign = issue_invite_token(
        meeting_id=branch.meeting_id,
        member_id=other.officials[0],
        branch_id=branch.branch_id,
        secret=TEST_SECRET,
        expires_at=datetime.now(UTC) + timedelta(hours=2),
    )
    assert client.post("/api/auth/invite", json={"token": foreign}).json()["error"]["code"] == "invite_invalid"
    with context.sessions.begin() as session:
        session.get(Meeting, branch.meeting_id).status = "ended"
    ended = client.post("/api/auth/invite", json={"token": _invite(branch, branch.officials[3])})
    assert ended.status_code == 410 and ended.json()["error"]["code"] == "meeting_ended"
