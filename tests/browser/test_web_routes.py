"""The routes of meeting/web.py without a browser: pages, static files (versions, caching, gzip), the room's
check-in QR code and self check-in, and the minutes' revision history."""

from __future__ import annotations

import gzip
import re

import pytest
from starlette.testclient import TestClient

from meeting import web
from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from meeting.domain.commands import Actor, OpenItem, ReviseEntry, StartMeeting, WriteEntry
from tests.conftest import TEST_SECRET


def bearer(member_id: int | None, branch_id: int, role: str = "member", meeting_id: int | None = None) -> dict:
    who = Principal(user_id=None, member_id=member_id, branch_id=branch_id, role=role, meeting_id=meeting_id)
    return {"Authorization": f"Bearer {issue_access_token(who, TEST_SECRET)}"}


@pytest.fixture
def client(context):
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


def test_pages_are_shells_pointing_at_the_current_static_version(client):
    files = web.StaticFiles()
    for path in ("/", "/join", "/chair", "/clerk", "/hall"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-cache"
        assert f"/static/{files.version}/css/app.css" in response.text
        assert 'href="/static/css' not in response.text  # every static URL was versioned


def test_versioned_static_files_are_immutable_and_gzipped(client):
    page = client.get("/join").text
    module = re.search(r'src="(/static/v-[0-9a-f]+/js/member\.js)"', page)
    assert module is not None
    response = client.get(module.group(1), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    raw = client.get("/static/js/member.js", headers={"Accept-Encoding": "identity"})
    assert raw.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in raw.headers
    assert gzip.decompress(web.StaticFiles().assets["js/member.js"].gzipped) == raw.content
    again = client.get("/static/js/member.js", headers={"If-None-Match": raw.headers["etag"]})
    assert again.status_code == 304


def test_static_refuses_what_is_not_there(client):
    for path in ("/static/nope.js", "/static/../meeting/web.py", "/static/member.html"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_checkin_qr_is_for_the_clerk_and_chair_only(client, branch):
    path = f"/web/meetings/{branch.meeting_id}/checkin-qr.svg"
    assert client.get(path).status_code == 401
    member = client.get(path, headers=bearer(branch.officials[3], branch.branch_id))
    assert member.status_code == 403
    assert member.json()["error"]["code"] == "clerk_only"
    outsider = client.get(path, headers=bearer(branch.guest, branch.branch_id + 1, "secretary"))
    assert outsider.status_code == 404
    invite = client.get(path, headers=bearer(branch.clerk, branch.branch_id, meeting_id=branch.meeting_id))
    assert invite.status_code == 403  # an invite link is a member's pass, not the clerk's console
    response = client.get(path, headers=bearer(branch.clerk, branch.branch_id))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg")
    link = response.headers["x-checkin-link"]
    assert re.fullmatch(rf"http://127\.0\.0\.1:8000/join#checkin={branch.meeting_id}\.[0-9a-f]{{16}}", link)
    assert 'xmlns="http://www.w3.org/2000/svg"' in response.text  # usable as an <img>
    assert response.content == web.qr_svg(link)  # the very link, as segno encodes it


def test_self_checkin_with_the_room_code(client, context, branch):
    member = branch.officials[3]
    code = web.checkin_code(TEST_SECRET, branch.meeting_id, web.current_window())
    path = f"/web/meetings/{branch.meeting_id}/checkin"
    wrong = client.post(path, json={"code": "0" * 16}, headers=bearer(member, branch.branch_id))
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "checkin_code_invalid"
    assert wrong.json()["error"]["message_en"].startswith("The check-in code")
    headers = bearer(member, branch.branch_id, meeting_id=branch.meeting_id)  # the member's invite session
    context.service.open(branch.meeting_id)  # the clerk's console, showing the code, opened it (a scan opens nothing)
    first = client.post(path, json={"code": code}, headers=headers)
    assert first.status_code == 200, first.text
    state, _ = context.service.state(branch.meeting_id)
    record = state.attendance_of(member)
    assert record.status.value == "present" and record.mode.value == "in_person"
    again = client.post(path, json={"code": code}, headers=headers)  # scanned twice: checked in once
    assert again.status_code == 200
    assert again.json()["seq"] == first.json()["seq"]
    assert client.post(path, json={"code": code}).status_code == 401
    other_branch = client.post(path, json={"code": code}, headers=bearer(member, branch.branch_id + 1))
    assert other_branch.status_code == 404


def test_checkin_codes_expire_after_two_windows():
    now = 1_800_000_000.0
    code = web.checkin_code(TEST_SECRET, 7, web.current_window(now))
    assert web.valid_checkin_code(TEST_SECRET, 7, code, now)
    assert web.valid_checkin_code(TEST_SECRET, 7, code, now + web.CHECKIN_WINDOW_S)
    assert not web.valid_checkin_code(TEST_SECRET, 7, code, now + 2 * web.CHECKIN_WINDOW_S)
    assert not web.valid_checkin_code(TEST_SECRET, 8, code, now)  # another meeting
    assert not web.valid_checkin_code("another-secret-0123456789-0123456789", 7, code, now)


def test_revision_history_of_a_minute_entry(client, context, branch):
    service, meeting_id = context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    service.execute(meeting_id, StartMeeting(), chair)
    service.execute(meeting_id, OpenItem(item_id=branch.item_ids[0]), chair)
    service.execute(meeting_id, WriteEntry(entry_id="e-1", item_id=branch.item_ids[0], text="Bản đầu"), clerk)
    service.execute(meeting_id, ReviseEntry(entry_id="e-1", text="Bản sửa"), clerk)
    path = f"/web/meetings/{meeting_id}/minutes/e-1/revisions"
    response = client.get(path, headers=bearer(branch.officials[3], branch.branch_id))
    assert response.status_code == 200
    revisions = response.json()["revisions"]
    assert [r["text"] for r in revisions] == ["Bản đầu", "Bản sửa"]
    assert revisions[0]["by"] == branch.clerk and revisions[0]["by_name"] == "Đảng viên chính thức 2"
    missing = client.get(
        f"/web/meetings/{meeting_id}/minutes/e-9/revisions", headers=bearer(branch.clerk, branch.branch_id)
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_entry"
    assert client.get(path, headers=bearer(branch.guest, branch.branch_id + 1)).status_code == 404


def test_the_clerk_opens_the_meeting_for_check_in(client, context, branch):
    path = f"/web/meetings/{branch.meeting_id}/open"
    member = client.post(path, headers=bearer(branch.officials[3], branch.branch_id))
    assert member.status_code == 403 and member.json()["error"]["code"] == "clerk_only"
    assert not context.service.state(branch.meeting_id)[0].opened
    opened = client.post(path, headers=bearer(branch.clerk, branch.branch_id))
    assert opened.status_code == 200
    state = opened.json()
    assert state["opened"] is True and state["status"] == "scheduled"
    assert {p["member_id"] for p in state["roster"]} == set(branch.everyone)
    again = client.post(path, headers=bearer(branch.chair, branch.branch_id, "secretary"))
    assert again.json()["seq"] == state["seq"]  # nothing appended the second time
    assert client.post(path, headers=bearer(branch.clerk, branch.branch_id + 1)).status_code == 404
