"""Branches, rosters, meetings and the live routes: happy paths and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from tests.conftest import TEST_SECRET


@pytest.fixture
def client(context):
    return TestClient(create_app(context=context))


@pytest.fixture
def chair(branch):
    token = issue_access_token(Principal(None, branch.chair, branch.branch_id, "secretary"), TEST_SECRET)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clerk(branch):
    token = issue_access_token(Principal(None, branch.clerk, branch.branch_id, "member"), TEST_SECRET)
    return {"Authorization": f"Bearer {token}"}


def _error(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) >= {"code", "message", "message_en", "details"}
    return error


def test_openapi_document_is_valid_and_lists_every_api_route(client):
    document = client.get("/api/openapi.json").json()
    validate(document)
    api_routes = {
        (method.lower(), route.path.replace(":int", "").replace(":str", ""))
        for route in client.app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods or []
        if method != "HEAD"
    }
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert api_routes == documented
    login = document["paths"]["/api/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/LoginBody")
    journal = document["paths"]["/api/meetings/{meeting_id}/journal"]["get"]
    query = {p["name"]: p["schema"] for p in journal["parameters"] if p["in"] == "query"}
    assert query["limit"]["maximum"] == 1000 and query["after"]["minimum"] == 0
    assert "201" in document["paths"]["/api/branches/{branch_id}/members"]["post"]["responses"]


def test_secretary_adds_a_member_with_a_login_who_can_then_sign_in(client, branch, chair):
    body = {"full_name": "Nguyễn Thị Mới", "category": "probationary", "username": "moi", "password": "mat-khau-dai"}
    created = client.post(f"/api/branches/{branch.branch_id}/members", json=body, headers=chair)
    assert created.status_code == 201 and created.json()["username"] == "moi"
    login = client.post("/api/auth/login", json={"username": "moi", "password": "mat-khau-dai"})
    assert login.status_code == 200 and login.json()["me"]["branch_id"] == branch.branch_id
    duplicate = client.post(f"/api/branches/{branch.branch_id}/members", json=body, headers=chair)
    _error(duplicate, 409, "conflict")


def test_a_username_taken_between_the_check_and_the_insert_is_a_conflict_not_a_crash(client, context, branch, chair):
    """Two secretaries create the same login at the same moment: the slower one gets 409, never a 500."""
    from sqlalchemy import event

    from meeting.db.models import User

    raced = []

    def someone_else_inserts_first(conn, cursor, statement, parameters, executor_context, executemany) -> None:
        if not raced and statement.lstrip().upper().startswith("SELECT COUNT") and "users" in statement:
            raced.append(True)  # the route has just seen the name free: the other request takes it now
            with context.sessions.begin() as other:
                other.add(User(username="trung-ten", password_hash="x", display_name="Người khác"))

    event.listen(context.engine, "after_cursor_execute", someone_else_inserts_first)
    try:
        body = {"full_name": "Trần Văn Trùng", "category": "official", "username": "trung-ten", "password": "mat-khau"}
        response = client.post(f"/api/branches/{branch.branch_id}/members", json=body, headers=chair)
    finally:
        event.remove(context.engine, "after_cursor_execute", someone_else_inserts_first)
    assert raced == [True]
    _error(response, 409, "conflict")
    members = client.get(f"/api/branches/{branch.branch_id}/members", headers=chair).json()["members"]
    assert "Trần Văn Trùng" not in [m["full_name"] for m in members]  # nothing half-created


@pytest.mark.parametrize(
    "body",
    [
        {"full_name": "", "category": "official"},
        {"full_name": "A", "category": "honorary"},
        {"full_name": "A", "category": "official", "username": "only-name"},
        {"full_name": "A", "category": "official", "role": "king"},
        {"full_name": "A" * 201, "category": "official"},
        {"full_name": "A", "category": "official", "surprise": 1},
    ],
)
def test_bad_member_input_is_refused_with_a_clear_error(client, branch, chair, body):
    error = _error(
        client.post(f"/api/branches/{branch.branch_id}/members", json=body, headers=chair), 422, "bad_request"
    )
    assert error["details"]["detail"]


def test_malformed_json_is_a_clear_error(client, branch, chair):
    response = client.post(
        f"/api/branches/{branch.branch_id}/members",
        content=b"{not json",
        headers={**chair, "Content-Type": "application/json"},
    )
    _error(response, 422, "bad_request")


def test_quorum_rule_is_configurable_and_validated(client, branch, chair):
    path = f"/api/branches/{branch.branch_id}"
    changed = client.patch(
        path, json={"quorum_numerator": 1, "quorum_denominator": 2, "quorum_strict": False}, headers=chair
    )
    assert changed.status_code == 200 and changed.json()["rules"]["quorum_denominator"] == 2
    _error(client.patch(path, json={"quorum_numerator": 3, "quorum_denominator": 2}, headers=chair), 422, "bad_request")


def test_meeting_from_template_then_agenda_edits_until_it_goes_live(client, branch, chair, clerk):
    body = {
        "kind": "thematic",
        "title": "Chuyên đề học tập và làm theo",
        "scheduled_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "chair_id": branch.chair,
        "clerk_id": branch.clerk,
    }
    created = client.post(f"/api/branches/{branch.branch_id}/meetings", json=body, headers=chair)
    assert created.status_code == 201
    meeting = created.json()
    assert [item["kind"] for item in meeting["agenda"]][:2] == ["opening", "topic_report"]
    path = f"/api/meetings/{meeting['id']}"
    added = client.post(f"{path}/agenda", json={"title": "Ý kiến bổ sung", "position": 0}, headers=chair)
    assert added.status_code == 201 and added.json()["agenda"][0]["title"] == "Ý kiến bổ sung"
    order = [item["id"] for item in added.json()["agenda"]][::-1]
    assert [
        i["id"] for i in client.post(f"{path}/agenda/order", json={"order": order}, headers=chair).json()["agenda"]
    ] == order
    _error(client.post(f"{path}/agenda/order", json={"order": order[1:]}, headers=chair), 422, "bad_order")
    # Going live freezes the plan: from then on the agenda changes only through live commands.
    command = {"command": {"type": "check_in", "member_id": branch.chair, "mode": "in_person"}}
    assert client.post(f"{path}/commands", json=command, headers=clerk).status_code == 200
    _error(client.post(f"{path}/agenda", json={"title": "Muộn"}, headers=chair), 409, "plan_locked")
    _error(client.patch(path, json={"place": "Khác"}, headers=chair), 409, "plan_locked")


def test_chair_and_clerk_must_belong_to_the_branch(client, context, branch, chair):
    from tests.factories import seed_branch

    other = seed_branch(context.sessions, code="cb-khac")
    body = {"kind": "regular", "title": "X", "scheduled_at": datetime.now(UTC).isoformat(), "chair_id": other.chair}
    _error(client.post(f"/api/branches/{branch.branch_id}/meetings", json=body, headers=chair), 422, "not_in_roster")


def test_commands_over_http_follow_the_domain_rules_and_retries_count_once(client, branch, chair, clerk):
    path = f"/api/meetings/{branch.meeting_id}"
    for member_id in branch.officials:
        command = {"command": {"type": "check_in", "member_id": member_id, "mode": "in_person"}}
        assert client.post(f"{path}/commands", json=command, headers=clerk).status_code == 200
    # Only the chair starts the meeting.
    _error(
        client.post(f"{path}/commands", json={"command": {"type": "start_meeting"}}, headers=clerk), 403, "chair_only"
    )
    assert (
        client.post(f"{path}/commands", json={"command": {"type": "start_meeting"}}, headers=chair).status_code == 200
    )
    item = client.get(f"{path}/state", headers=chair).json()["agenda"][0]["id"]
    client.post(f"{path}/commands", json={"command": {"type": "open_item", "item_id": item}}, headers=chair)
    write = {
        "command_id": "cmd-1",
        "command": {"type": "write_entry", "entry_id": "e1", "item_id": item, "text": "Ý kiến"},
    }
    plain = issue_access_token(Principal(None, branch.officials[2], branch.branch_id, "member"), TEST_SECRET)
    member = {"Authorization": f"Bearer {plain}"}
    _error(client.post(f"{path}/commands", json=write, headers=member), 403, "clerk_only")  # only the clerk writes
    _error(client.post(f"{path}/commands", json=write, headers=chair), 403, "clerk_only")
    skip = {"command": {"type": "close_item", "item_id": item}}
    _error(client.post(f"{path}/commands", json=skip, headers=member), 403, "chair_only")  # only the chair drives
    first = client.post(f"{path}/commands", json=write, headers=clerk).json()["events"]
    again = client.post(f"{path}/commands", json=write, headers=clerk).json()["events"]
    assert first == again and len(first) == 1
    state = client.get(f"{path}/state", headers=chair).json()
    assert len(state["minutes"]) == 1 and state["quorum"]["met"] is True
    _error(client.post(f"{path}/commands", json={"command": {"type": "fly"}}, headers=chair), 422, "bad_request")
    journal = client.get(f"{path}/journal?after=2&limit=3", headers=chair).json()
    assert [e["seq"] for e in journal["events"]] == [3, 4, 5] and journal["more"] is True
    _error(client.get(f"{path}/journal?limit=5000", headers=chair), 422, "bad_request")
    _error(client.get(f"{path}/journal?after=-1", headers=chair), 422, "bad_request")
    _error(client.get(f"{path}/journal?after=abc", headers=chair), 422, "bad_request")
    verified = client.get(f"{path}/journal/verify", headers=chair).json()
    assert verified["valid"] is True and verified["length"] == state["seq"]


def test_invite_link_made_by_the_chair_works_for_the_member(client, branch, chair):
    made = client.post(
        f"/api/meetings/{branch.meeting_id}/invites", json={"member_id": branch.officials[4]}, headers=chair
    )
    assert made.status_code == 201
    assert made.json()["url"].endswith(made.json()["token"]) and "/join#invite=" in made.json()["url"]
    exchanged = client.post("/api/auth/invite", json={"token": made.json()["token"]})
    assert exchanged.status_code == 200 and exchanged.json()["me"]["member_id"] == branch.officials[4]


@pytest.fixture
def admin(context, branch):
    from meeting.db.models import Branch, Commune, User

    with context.sessions.begin() as session:
        commune = Commune(name="Xã Thử", code="xa-thu")
        session.add(commune)
        session.flush()
        session.get(Branch, branch.branch_id).commune_id = commune.id
        user = User(username="ban-xd", display_name="Ban Xây dựng Đảng", is_admin=True, commune_id=commune.id)
        session.add(user)
        session.flush()
        who = Principal(user.id, None, None, "admin", is_admin=True, commune_id=commune.id)
    return {"Authorization": f"Bearer {issue_access_token(who, TEST_SECRET)}"}


def test_admin_creates_a_branch_with_the_default_rules_and_codes_are_unique(client, branch, admin):
    created = client.post("/api/branches", json={"name": "Chi bộ thôn Đông", "code": "cb-dong"}, headers=admin)
    assert created.status_code == 201
    rules = created.json()["rules"]
    # DESIGN.md: quorum over 2/3 of the officials, a resolution passes with more than half.
    assert (rules["quorum_numerator"], rules["quorum_denominator"], rules["quorum_strict"]) == (2, 3, True)
    assert (rules["majority_numerator"], rules["majority_denominator"], rules["majority_strict"]) == (1, 2, True)
    listed = [b["id"] for b in client.get("/api/branches", headers=admin).json()["branches"]]
    assert listed == [branch.branch_id, created.json()["id"]]
    _error(client.post("/api/branches", json={"name": "Trùng", "code": "cb-dong"}, headers=admin), 409, "conflict")
    _error(client.post("/api/branches", json={"name": "X", "code": "Có Dấu"}, headers=admin), 422, "bad_request")
    bad_rule = {"name": "X", "code": "cb-x", "majority_numerator": 0, "majority_denominator": 2}
    _error(client.post("/api/branches", json=bad_rule, headers=admin), 422, "bad_request")


def test_member_changes_and_deactivation_keep_the_history(client, branch, chair):
    path = f"/api/members/{branch.probationary}"
    promoted = client.patch(path, json={"category": "official", "role": "deputy"}, headers=chair)
    assert promoted.status_code == 200 and promoted.json()["category"] == "official"
    _error(client.patch(path, json={"category": "honorary"}, headers=chair), 422, "bad_request")
    _error(client.patch(path, json={"password": "mat-khau-moi-1"}, headers=chair), 422, "bad_request")  # no login
    removed = client.delete(path, headers=chair)
    assert removed.status_code == 200 and removed.json()["active"] is False
    roster = client.get(f"/api/branches/{branch.branch_id}/members", headers=chair).json()["members"]
    assert {m["id"]: m["active"] for m in roster}[branch.probationary] is False  # still on file
    _error(client.get("/api/members/987654", headers=chair), 404, "not_found")


def test_a_member_without_a_login_is_given_one_and_can_then_sign_in(client, branch, chair):
    path = f"/api/members/{branch.probationary}"
    _error(client.patch(path, json={"username": "du-bi-1"}, headers=chair), 422, "bad_request")  # no password
    given = client.patch(path, json={"username": "du-bi-1", "password": "mat-khau-dai-1"}, headers=chair)
    assert given.status_code == 200 and given.json()["username"] == "du-bi-1"
    signed_in = client.post("/api/auth/login", json={"username": "du-bi-1", "password": "mat-khau-dai-1"})
    assert signed_in.status_code == 200 and signed_in.json()["me"]["member_id"] == branch.probationary
    again = client.patch(path, json={"username": "du-bi-2", "password": "mat-khau-dai-2"}, headers=chair)
    _error(again, 422, "bad_request")  # a login already: its password may change, its name may not
    taken = client.patch(
        f"/api/members/{branch.clerk}", json={"username": "du-bi-1", "password": "mat-khau-dai-3"}, headers=chair
    )
    _error(taken, 409, "conflict")


def test_the_branch_keeps_its_last_secretary(client, context):
    """Demoting or deactivating the only secretary who can sign in would leave nobody to run the branch."""
    from tests.factories import seed_branch

    branch = seed_branch(context.sessions, code="cb-last-sec", with_logins=True)
    token = issue_access_token(Principal(None, branch.chair, branch.branch_id, "secretary"), TEST_SECRET)
    secretary = {"Authorization": f"Bearer {token}"}
    path = f"/api/members/{branch.chair}"
    _error(client.patch(path, json={"role": "member"}, headers=secretary), 409, "last_secretary")
    _error(client.patch(path, json={"active": False}, headers=secretary), 409, "last_secretary")
    _error(client.delete(path, headers=secretary), 409, "last_secretary")
    roster = client.get(f"/api/branches/{branch.branch_id}/members", headers=secretary).json()["members"]
    assert {m["id"]: (m["role"], m["active"]) for m in roster}[branch.chair] == ("secretary", True)  # unchanged
    # Once another member with a login is secretary, the first may step down.
    successor = branch.officials[2]
    assert client.patch(f"/api/members/{successor}", json={"role": "secretary"}, headers=secretary).status_code == 200
    assert client.patch(path, json={"role": "member"}, headers=secretary).status_code == 200


def test_meeting_changes_and_cancelling_end_when_the_journal_opens(client, branch, chair, clerk):
    path = f"/api/meetings/{branch.meeting_id}"
    moved = client.patch(path, json={"place": "Hội trường", "scheduled_at": "2030-01-05T19:30:00+07:00"}, headers=chair)
    assert moved.status_code == 200 and moved.json()["place"] == "Hội trường"
    assert moved.json()["scheduled_at"].startswith("2030-01-05T12:30:00")  # kept in UTC
    item = moved.json()["agenda"][0]["id"]
    untouched = client.patch(f"{path}/agenda/{item}", json={"title": None, "speaking_limit_s": 300}, headers=chair)
    assert untouched.status_code == 200 and untouched.json()["agenda"][0]["title"] == moved.json()["agenda"][0]["title"]
    assert untouched.json()["agenda"][0]["speaking_limit_s"] == 300
    _error(client.patch(f"{path}/agenda/no-such-item", json={"title": "X"}, headers=chair), 404, "unknown_item")
    command = {"command": {"type": "check_in", "member_id": branch.chair, "mode": "in_person"}}
    assert client.post(f"{path}/commands", json=command, headers=clerk).status_code == 200
    locked = _error(client.delete(path, headers=chair), 409, "plan_locked")
    assert "live commands" in locked["message_en"]
    _error(client.delete(f"{path}/agenda/{item}", headers=chair), 409, "plan_locked")
    _error(client.post(f"{path}/agenda/order", json={"order": [item]}, headers=chair), 409, "plan_locked")
    fresh = client.post(
        f"/api/branches/{branch.branch_id}/meetings",
        json={"kind": "extraordinary", "title": "Bất thường", "scheduled_at": "2030-02-01T08:00:00Z"},
        headers=chair,
    )
    assert fresh.status_code == 201
    assert client.delete(f"/api/meetings/{fresh.json()['id']}", headers=chair).status_code == 204
    _error(client.get(f"/api/meetings/{fresh.json()['id']}", headers=chair), 404, "not_found")


def test_templates_are_the_standard_orders_of_business(client, chair):
    listed = client.get("/api/agenda-templates", headers=chair).json()["templates"]
    assert {"regular", "thematic"} <= {t["id"] for t in listed}
    regular = client.get("/api/agenda-templates/regular", headers=chair).json()
    assert len(regular["items"]) == 8  # DESIGN.md: opening ... closing
    _error(client.get("/api/agenda-templates/none", headers=chair), 404, "not_found")


def test_the_caller_is_checked_before_the_body_and_bodies_are_capped(client, branch, chair):
    path = f"/api/meetings/{branch.meeting_id}/agenda"
    _error(client.post(path, json={"title": ""}), 401, "unauthenticated")
    _error(client.post(path, content=b"x" * 1_100_000, headers=chair), 413, "bad_request")


def test_invite_links_last_from_the_meeting_time(client, context, branch, chair):
    from meeting.api.meeting_routes import invite_expiry
    from meeting.db.models import Meeting

    with context.sessions() as session:
        scheduled = session.get(Meeting, branch.meeting_id).scheduled_at
    made = client.post(
        f"/api/meetings/{branch.meeting_id}/invites", json={"member_id": branch.officials[4]}, headers=chair
    ).json()
    assert datetime.fromisoformat(made["expires_at"]) == scheduled + timedelta(hours=context.settings.invite_hours)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert invite_expiry(now - timedelta(days=10), now, 72) == now + timedelta(hours=72)  # never already dead
    _error(
        client.post(f"/api/meetings/{branch.meeting_id}/invites", json={"member_id": 987654}, headers=chair),
        422,
        "not_in_roster",
    )
