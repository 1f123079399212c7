"""Resolutions and their "5 rõ" action items: complete or refused, tracked as open, done or overdue, listed in the
next meeting's review step and in its minutes, and shown to the member who has to do them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from meeting import journal, planning
from meeting.app import create_app
from meeting.context import AppContext
from meeting.db.models import ActionItem, Meeting
from meeting.domain.model import MeetingKind
from meeting.record import seal
from meeting.record.resolutions import status_at
from tests.factories import PASSWORD, seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def branch_and_client(context: AppContext):
    branch = seed_branch(context.sessions, officials=7, with_logins=True)
    names = sc.give_names(context, branch)
    return branch, names, TestClient(create_app(context=context))


def five_clear(assignee: int, task: str, deadline: str) -> dict:
    return {
        "assignee_id": assignee,
        "task": task,
        "deadline": deadline,
        "responsible": "Đồng chí Bí thư",
        "expected_result": "Hoàn thành đúng hạn",
    }


def test_an_action_item_must_be_five_times_clear(branch_and_client):
    branch, _, client = branch_and_client
    chair = login(client, branch.usernames[branch.chair])
    url = f"/api/meetings/{branch.meeting_id}/resolutions"
    incomplete = {"title": "Nghị quyết", "actions": [{"assignee_id": branch.officials[2], "task": "Thu đảng phí"}]}
    refused = client.post(url, json=incomplete, headers=chair)
    error = refused.json()["error"]
    assert (refused.status_code, error["code"]) == (422, "action_incomplete")
    assert "rõ thời gian" in error["message"] and "rõ kết quả" in error["message"]
    assert error["details"]["fields"] == "deadline, responsible, expected_result"
    assert client.get(url, headers=chair).json()["resolutions"] == []  # nothing half-made was kept
    guest = {"title": "Nghị quyết", "actions": [five_clear(branch.guest, "Việc", "2030-01-31")]}
    assert client.post(url, json=guest, headers=chair).json()["error"]["code"] == "designated_not_member"
    member = login(client, branch.usernames[branch.officials[2]])
    body = {"title": "Nghị quyết", "actions": [five_clear(branch.officials[2], "Việc", "2030-01-31")]}
    assert client.post(url, json=body, headers=member).status_code == 403  # drafted by the officers only
    made = client.post(url, json=body, headers=chair)
    assert made.status_code == 201
    action = made.json()["resolutions"][0]["actions"][0]
    assert (action["assignee"], action["deadline"], action["status"]) == ("Lê Văn Cường", "2030-01-31", "open")


def test_action_items_flow_into_the_next_meeting_with_their_status(branch_and_client, context: AppContext):
    branch, names, client = branch_and_client
    now = datetime.now(UTC)
    o3, o4 = branch.officials[2], branch.officials[3]
    chair, member = login(client, branch.usernames[branch.chair]), login(client, branch.usernames[o3])
    sc.hold_meeting(context, branch, start=now - timedelta(days=60))
    past, future = (now - timedelta(days=45)).date(), (now + timedelta(days=45)).date()
    created = client.post(
        f"/api/meetings/{branch.meeting_id}/resolutions",
        json={
            "title": "Nghị quyết tháng trước",
            "actions": [
                five_clear(o3, "Thu đảng phí quý IV", past.isoformat()),
                five_clear(o4, "Vận động quỹ khuyến học", past.isoformat()),
                five_clear(o4, "Sửa nhà văn hóa", future.isoformat()),
            ],
        },
        headers=chair,
    ).json()
    done_id, overdue_id, open_id = (a["action_id"] for a in created["resolutions"][0]["actions"])
    # The assignee reports their item done; someone else's item they cannot touch.
    marked = client.patch(f"/api/actions/{done_id}", json={"done": True}, headers=member)
    assert marked.json()["status"] == "done"
    assert client.patch(f"/api/actions/{overdue_id}", json={"done": True}, headers=member).status_code == 403
    # The next meeting of the branch.
    with context.sessions.begin() as session:
        following = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ tháng sau",
            scheduled_at=now + timedelta(days=30),
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        following_id = following.id
    review = client.get(f"/api/meetings/{following_id}/review", headers=member).json()
    assert review["previous_meeting_id"] == branch.meeting_id
    statuses = {item["action_id"]: item["status"] for item in review["items"]}
    assert statuses == {done_id: "done", overdue_id: "overdue", open_id: "open"}
    assert review["counts"] == {"open": 1, "done": 1, "overdue": 1}
    # Held, its minutes go through the same items in the review step, with their status at the meeting.
    sc.hold_meeting(context, branch, meeting_id=following_id, prefix="next-", start=now + timedelta(hours=1))
    with context.sessions() as session:
        meeting = session.get(Meeting, following_id)
        draft = seal.make_draft(session, meeting, journal.read(session, following_id), None)
        text = docx_text(seal.render(seal.draft_layout(session, draft, None), "docx", now, "test"))
    review_item = next(item for item in draft.minutes.items if item.kind == "review")
    assert {row.action_id: row.status for row in review_item.review} == statuses
    assert "Kết quả thực hiện nghị quyết kỳ trước: 1/3 nhiệm vụ đã hoàn thành" in text
    for phrase in ("Thu đảng phí quý IV", "Đã hoàn thành", "Quá hạn", "Đang thực hiện", names[o4]):
        assert phrase in text
    # Each member sees their own items, and only those.
    mine = client.get("/api/me/actions", headers=member).json()["items"]
    assert [(i["action_id"], i["status"]) for i in mine] == [(done_id, "done")]
    theirs = client.get("/api/me/actions", headers=login(client, branch.usernames[o4])).json()["items"]
    assert sorted(i["action_id"] for i in theirs) == sorted([overdue_id, open_id])


def test_a_sealed_meeting_keeps_its_action_items_but_lets_them_be_done(branch_and_client, context: AppContext):
    branch, _, client = branch_and_client
    chair, clerk = login(client, branch.usernames[branch.chair]), login(client, branch.usernames[branch.clerk])
    sc.hold_meeting(context, branch)
    url = f"/api/meetings/{branch.meeting_id}/resolutions"
    body = {"title": "Nghị quyết", "actions": [five_clear(branch.officials[2], "Thu đảng phí", "2030-01-31")]}
    action_id = client.post(url, json=body, headers=chair).json()["resolutions"][0]["actions"][0]["action_id"]
    for headers in (chair, clerk):
        signed = client.post(
            f"/api/meetings/{branch.meeting_id}/record/sign", json={"password": PASSWORD}, headers=headers
        )
    assert signed.json()["status"] == "sealed"
    assert "Thu đảng phí" in signed.json()["minutes"]["resolutions"][0]["actions"][0]["task"]
    changed = client.patch(f"/api/actions/{action_id}", json={"task": "Việc khác"}, headers=chair)
    assert changed.json()["error"]["code"] == "record_sealed"
    assert client.post(url, json=body, headers=chair).json()["error"]["code"] == "record_sealed"
    done = client.patch(f"/api/actions/{action_id}", json={"done": True}, headers=chair)
    assert done.json()["status"] == "done"
    verified = client.get(f"/api/meetings/{branch.meeting_id}/record/verify", headers=chair).json()
    assert verified["valid"]  # marking an item done does not touch the sealed record


def test_overdue_is_derived_from_the_deadline_at_the_moment_asked():
    deadline = datetime(2026, 12, 1, 16, 59, 59, tzinfo=UTC)  # the end of 1 December, Vietnamese time
    action = ActionItem(task="Việc", deadline=deadline, status="open")
    assert status_at(action, deadline) == "open"
    assert status_at(action, deadline + timedelta(seconds=1)) == "overdue"
    action.status, action.done_at = "done", deadline + timedelta(days=3)
    assert status_at(action, deadline + timedelta(days=1)) == "overdue"  # done later than the moment asked about
    assert status_at(action, deadline + timedelta(days=3)) == "done"
