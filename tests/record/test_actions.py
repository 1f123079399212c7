"""Resolutions and their "5 rõ" action items: complete or refused, tracked as open, done or overdue, listed in the
next meeting's review step and in its minutes, and shown to the member who has to do them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from meeting import journal, planning
from meeting.app import create_app
from meeting.auth import issue_invite_token
from meeting.context import AppContext
from meeting.db.models import ActionItem, Meeting, Resolution
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain.model import MeetingKind
from meeting.record import seal
from meeting.record.resolutions import ActionFields, add_action, set_done, status_at
from tests.conftest import TEST_SECRET
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


def _held(context: AppContext, branch, title: str, when: datetime) -> int:
    """A meeting of the branch at `when`, opened, started and ended."""
    with context.sessions.begin() as session:
        meeting_id = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title=title,
            scheduled_at=when,
            place="Nhà văn hóa thôn",
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        ).id
    chair = Actor.member(branch.chair)
    context.service.open(meeting_id)
    context.service.execute(meeting_id, c.StartMeeting(), chair)
    context.service.execute(meeting_id, c.EndMeeting(), chair)
    return meeting_id


def test_an_invite_link_sees_the_items_its_meeting_reviews_and_sets(branch_and_client, context: AppContext):
    """Signed in, a member sees all their items. With an invite link, the items the meeting deals with: those its
    review step goes through (the previous meeting's whatever their status, older ones not yet done) and its own;
    not older items already done, nor anyone else's."""
    branch, _, client = branch_and_client
    now = datetime.now(UTC)
    o3, o4 = branch.officials[2], branch.officials[3]
    older = _held(context, branch, "Sinh hoạt chi bộ tháng 9", now - timedelta(days=60))
    previous = _held(context, branch, "Sinh hoạt chi bộ tháng 10", now - timedelta(days=30))
    this = branch.meeting_id  # tomorrow: the one the invite is for
    past, future = (now - timedelta(days=10)).date(), (now + timedelta(days=20)).date()

    def item(session, resolution: Resolution, who: int, task: str, deadline, done: bool = False) -> int:
        fields = ActionFields(who, task, deadline, "Đồng chí Bí thư", "Hoàn thành đúng hạn")
        action = add_action(session, resolution, branch.branch_id, fields)
        if done:
            set_done(action, True, now - timedelta(days=1))
        return action.id

    with context.sessions.begin() as session:
        made = {}
        for meeting_id in (older, previous, this):
            made[meeting_id] = Resolution(meeting_id=meeting_id, title="Nghị quyết", text="")
            session.add(made[meeting_id])
        session.flush()
        older_done = item(session, made[older], o3, "Thu đảng phí quý III", past, done=True)
        older_overdue = item(session, made[older], o3, "Vận động quỹ khuyến học", past)
        previous_done = item(session, made[previous], o3, "Thu đảng phí quý IV", past, done=True)
        previous_open = item(session, made[previous], o3, "Sửa nhà văn hóa thôn", future)
        set_here = item(session, made[this], o3, "Làm đường bê tông ngõ xóm", future)
        item(session, made[previous], o4, "Việc của đồng chí khác", future)

    def seen(headers: dict[str, str]) -> dict[int, str]:
        response = client.get("/api/me/actions", headers=headers)
        assert response.status_code == 200
        return {i["action_id"]: i["status"] for i in response.json()["items"]}

    def invite_for(meeting_id: int) -> dict[str, str]:
        token = issue_invite_token(
            meeting_id=meeting_id,
            member_id=o3,
            branch_id=branch.branch_id,
            secret=TEST_SECRET,
            expires_at=now + timedelta(hours=2),
        )
        exchanged = client.post("/api/auth/invite", json={"token": token})
        return {"Authorization": f"Bearer {exchanged.json()['access_token']}"}

    everything = {
        older_done: "done",
        older_overdue: "overdue",
        previous_done: "done",
        previous_open: "open",
        set_here: "open",
    }
    assert seen(login(client, branch.usernames[o3])) == everything
    # The invite for tomorrow's meeting: what its review goes through, and what it sets; not the old done item.
    assert seen(invite_for(this)) == {k: v for k, v in everything.items() if k != older_done}
    review = client.get(f"/api/meetings/{this}/review", headers=invite_for(this)).json()
    mine_reviewed = {i["action_id"] for i in review["items"] if i["assignee_id"] == o3}
    assert mine_reviewed == {older_overdue, previous_done, previous_open}  # the same as the review step's list


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


def test_the_assignee_reports_their_own_item_done_signed_in_or_by_the_next_meetings_invite(
    branch_and_client, context: AppContext
):
    """The assignee marks an item done or not done wherever GET /api/me/actions shows it to them: signed in, and
    through the invite link for the next meeting, which reviews the previous meeting's items (that meeting itself
    is out of the link's reach). Not an item the link does not show, nor another member's (403 signed in, 404
    by link); a preparer may, as before."""
    branch, _, client = branch_and_client
    now = datetime.now(UTC)
    o3, o4 = branch.officials[2], branch.officials[3]
    older = _held(context, branch, "Sinh hoạt chi bộ tháng 9", now - timedelta(days=60))
    previous = _held(context, branch, "Sinh hoạt chi bộ tháng 10", now - timedelta(days=30))
    with context.sessions.begin() as session:
        made = {m: Resolution(meeting_id=m, title="Nghị quyết", text="") for m in (older, previous)}
        session.add_all(made.values())
        session.flush()
        future = (now + timedelta(days=20)).date()

        def item(meeting_id: int, who: int, task: str) -> ActionItem:
            fields = ActionFields(who, task, future, "Đồng chí Bí thư", "Hoàn thành đúng hạn")
            return add_action(session, made[meeting_id], branch.branch_id, fields)

        mine = item(previous, o3, "Sửa nhà văn hóa thôn").id
        theirs = item(previous, o4, "Việc của đồng chí khác").id
        old = item(older, o3, "Thu đảng phí quý III")
        set_done(old, True, now - timedelta(days=40))
        old_done = old.id

    def invite(member_id: int) -> dict[str, str]:
        token = issue_invite_token(
            meeting_id=branch.meeting_id,
            member_id=member_id,
            branch_id=branch.branch_id,
            secret=TEST_SECRET,
            expires_at=now + timedelta(hours=2),
        )
        exchanged = client.post("/api/auth/invite", json={"token": token})
        return {"Authorization": f"Bearer {exchanged.json()['access_token']}"}

    def stored(action_id: int) -> tuple[str, bool]:
        with context.sessions() as session:
            action = session.get(ActionItem, action_id)
            return action.status, action.done_at is not None

    def patch(action_id: int, headers: dict[str, str], **body) -> tuple[int, dict]:
        response = client.patch(f"/api/actions/{action_id}", json=body, headers=headers)
        return response.status_code, response.json()

    signed_in, by_link = login(client, branch.usernames[o3]), invite(o3)
    status, row = patch(mine, signed_in, done=True)
    assert (status, row["status"], row["meeting_id"]) == (200, "done", previous)
    assert stored(mine) == ("done", True)
    assert patch(mine, signed_in, done=False)[1]["status"] == "open"
    assert stored(mine) == ("open", False)
    # By the invite link for the next meeting: the link does not reach the previous meeting itself...
    assert client.get(f"/api/meetings/{previous}/resolutions", headers=by_link).status_code == 404
    # ...but the member's own item its review goes through, done and undone.
    status, row = patch(mine, by_link, done=True)
    assert (status, row["status"], row["meeting_id"]) == (200, "done", previous)
    assert stored(mine) == ("done", True)
    assert patch(mine, by_link, done=False)[1]["status"] == "open"
    assert stored(mine) == ("open", False)
    # Only `done`: the 5 rõ fields stay the preparers', and the link still does not reach that meeting.
    assert patch(mine, by_link, done=True, task="Việc khác")[0] == 404
    assert patch(mine, signed_in, done=True, task="Việc khác")[1]["error"]["code"] == "forbidden"
    # An old item already done is not in the link's list: not reopened through it.
    assert patch(old_done, by_link, done=False)[0] == 404
    assert stored(old_done) == ("done", True)
    # Another member: 403 signed in (same branch, not a preparer), 404 by their own link.
    assert patch(mine, login(client, branch.usernames[o4]), done=True)[0] == 403
    assert patch(mine, invite(o4), done=True)[0] == 404
    assert patch(theirs, by_link, done=True)[0] == 404
    assert patch(theirs, signed_in, done=True)[0] == 403
    assert stored(mine) == ("open", False) and stored(theirs) == ("open", False)
    # A preparer (the chair) marks anyone's item, as before.
    status, row = patch(theirs, login(client, branch.usernames[branch.chair]), done=True)
    assert (status, row["status"]) == (200, "done")
    assert stored(theirs) == ("done", True)
