"""Present in the room needs the room's proof: the clerk at the door, or the room's QR code.

A member's own `check_in` (over HTTP or the WebSocket, signed in or through an invite link, guest or chair) records
them online; `in_person` is refused (`in_person_needs_room`) unless the clerk records it or the member scanned the
room's code (POST /web/meetings/{id}/checkin with a valid code). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.errors import Rejected
from meeting.web import checkin_code, current_window
from tests.conftest import TEST_SECRET
from tests.hub.conftest import Client, serve_live, token


def bearers(branch) -> dict[str, tuple[int, str]]:
    """Each kind of caller: (the member it is, its token)."""
    b, m = branch.branch_id, branch.meeting_id
    return {
        "member": (branch.officials[3], token(branch.officials[3], b)),
        "invite": (branch.officials[4], token(branch.officials[4], b, meeting_id=m)),
        "guest": (branch.guest, token(branch.guest, b)),
        "chair": (branch.chair, token(branch.chair, b, role="secretary")),
        "clerk": (branch.clerk, token(branch.clerk, b)),
    }


def attendance(context, branch, member_id: int) -> tuple[str, str | None]:
    record = context.service.state(branch.meeting_id)[0].attendance_of(member_id)
    return str(record.status), (str(record.mode) if record.mode is not None else None)


def test_the_rule_itself(context, branch):
    service, meeting_id = context.service, branch.meeting_id
    service.open(meeting_id)
    member = branch.officials[3]
    with pytest.raises(Rejected) as refused:
        service.execute(meeting_id, c.CheckIn(member_id=member, mode="in_person"), Actor.member(member))
    assert refused.value.code == "in_person_needs_room" and refused.value.status == 403
    with pytest.raises(Rejected) as refused:  # the system (presence) records remote members only
        service.execute(meeting_id, c.CheckIn(member_id=member, mode="in_person"), Actor.system())
    assert refused.value.code == "in_person_needs_room"
    service.execute(meeting_id, c.CheckIn(member_id=member, mode="in_person"), Actor.member(member, in_room=True))
    assert attendance(context, branch, member) == ("present", "in_person")


def test_http_command_records_only_online_for_oneself(context, branch):
    meeting_id = branch.meeting_id
    context.service.open(meeting_id)
    path = f"/api/meetings/{meeting_id}/commands"
    with TestClient(create_app(context=context)) as client:
        for role, (member_id, bearer) in bearers(branch).items():
            headers = {"Authorization": f"Bearer {bearer}"}
            in_room = {"command": {"type": "check_in", "member_id": member_id, "mode": "in_person"}}
            answer = client.post(path, json=in_room, headers=headers)
            if role == "clerk":  # at the door
                assert answer.status_code == 200, answer.text
                assert attendance(context, branch, member_id) == ("present", "in_person")
                continue
            assert answer.status_code == 403, (role, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "in_person_needs_room" and error["message"] and error["message_en"]
            assert attendance(context, branch, member_id)[0] != "present"
            online = {"command": {"type": "check_in", "member_id": member_id, "mode": "remote"}}
            answer = client.post(path, json=online, headers=headers)
            assert answer.status_code == 200, (role, answer.text)
            assert attendance(context, branch, member_id) == ("present", "remote")

        # The clerk at the door checks someone else in as present in the room.
        clerk = {"Authorization": f"Bearer {bearers(branch)['clerk'][1]}"}
        door = {"command": {"type": "check_in", "member_id": branch.officials[5], "mode": "in_person"}}
        assert client.post(path, json=door, headers=clerk).status_code == 200
        assert attendance(context, branch, branch.officials[5]) == ("present", "in_person")


async def test_websocket_command_records_only_online_for_oneself(context, branch):
    meeting_id = branch.meeting_id
    context.service.open(meeting_id)
    async with serve_live(context) as server:
        for role, (member_id, bearer) in bearers(branch).items():
            # A console (hall role) for the chair and the clerk, so presence does not check them in by itself.
            client = await Client.connect(
                server, meeting_id, bearer, role="hall" if role in ("chair", "clerk") else "member"
            )
            await client.until(lambda f: f["type"] == "snapshot")
            result = await client.command(
                f"{role}-room", {"type": "check_in", "member_id": member_id, "mode": "in_person"}
            )
            if role == "clerk":
                assert result["ok"] is True, result
                assert attendance(context, branch, member_id) == ("present", "in_person")
            else:
                assert result["ok"] is False and result["error"]["code"] == "in_person_needs_room", (role, result)
                assert attendance(context, branch, member_id)[1] != "in_person"
                result = await client.command(
                    f"{role}-home", {"type": "check_in", "member_id": member_id, "mode": "remote"}
                )
                # A member's own connection was checked in online by presence already; the console's was not.
                assert result["ok"] or result["error"]["code"] == "already_present", (role, result)
                assert attendance(context, branch, member_id) == ("present", "remote")
            await client.close()


def test_the_rooms_qr_code_records_in_person_for_every_role(context, branch):
    meeting_id = branch.meeting_id
    context.service.open(meeting_id)
    code = checkin_code(TEST_SECRET, meeting_id, current_window())
    with TestClient(create_app(context=context)) as client:
        for role, (member_id, bearer) in bearers(branch).items():
            headers = {"Authorization": f"Bearer {bearer}"}
            wrong = client.post(f"/web/meetings/{meeting_id}/checkin", json={"code": "0" * 16}, headers=headers)
            assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "checkin_code_invalid"
            assert attendance(context, branch, member_id)[0] != "present"
            answer = client.post(f"/web/meetings/{meeting_id}/checkin", json={"code": code}, headers=headers)
            assert answer.status_code == 200, (role, answer.text)
            assert attendance(context, branch, member_id) == ("present", "in_person")
            again = client.post(f"/web/meetings/{meeting_id}/checkin", json={"code": code}, headers=headers)
            assert again.status_code == 200 and again.json()["seq"] == answer.json()["seq"]  # scanning twice: once


def test_a_qr_scan_before_the_meeting_opened_opens_nothing(context, branch):
    meeting_id = branch.meeting_id
    code = checkin_code(TEST_SECRET, meeting_id, current_window())
    bearer = bearers(branch)["member"][1]
    with TestClient(create_app(context=context)) as client:
        answer = client.post(
            f"/web/meetings/{meeting_id}/checkin", json={"code": code}, headers={"Authorization": f"Bearer {bearer}"}
        )
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "journal_not_opened"
    state, seq = context.service.state(meeting_id)
    assert seq == 0 and not state.opened
