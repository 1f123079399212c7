"""The HTTP routes of issue 7, end to end through the app: who may do what, uploads, files, the commune view."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import docx
import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.auth import Principal, issue_access_token
from meeting.db.models import Branch, Commune, Meeting, User
from tests.conftest import TEST_SECRET
from tests.factories import seed_branch
from tests.prep import samples
from tests.prep.test_commune import hold


def token(member_id=None, branch_id=None, role="member", user_id=None, admin=False, meeting_id=None) -> dict:
    who = Principal(
        user_id=user_id, member_id=member_id, branch_id=branch_id, role=role, is_admin=admin, meeting_id=meeting_id
    )
    return {"Authorization": f"Bearer {issue_access_token(who, TEST_SECRET)}"}


@pytest.fixture
def client(context):
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


@pytest.fixture
def people(branch):
    return {
        "secretary": token(branch.chair, branch.branch_id, "secretary"),
        "clerk": token(branch.clerk, branch.branch_id),  # the meeting's clerk: prepares, not a manager
        "member": token(branch.officials[3], branch.branch_id),
        "invite": token(branch.officials[4], branch.branch_id, meeting_id=branch.meeting_id),
        # A secretary of another branch (a signed token of a real account: one that does not exist is refused 401).
        "outsider": token(branch.guest, branch.branch_id + 100, "secretary"),
    }


def test_every_route_needs_a_token(client, branch):
    for path in (
        f"/api/prep/meetings/{branch.meeting_id}",
        f"/api/prep/meetings/{branch.meeting_id}/invitation.ics",
        "/api/prep/my/meetings",
        "/api/commune/overview",
        f"/api/prep/branches/{branch.branch_id}/participation",
    ):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthenticated"


def test_plan_and_speakers_by_role(client, branch, people):
    path = f"/api/prep/meetings/{branch.meeting_id}"
    assert client.get(path, headers=people["outsider"]).status_code == 404
    plan = client.get(path, headers=people["member"]).json()
    assert [i["id"] for i in plan["agenda"]] == branch.item_ids
    discussion = branch.item_ids[3]
    body = {"designated_speakers": branch.officials[2:4]}
    refused = client.put(f"{path}/items/{discussion}/speakers", json=body, headers=people["member"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    done = client.put(f"{path}/items/{discussion}/speakers", json=body, headers=people["clerk"])
    assert done.status_code == 200
    item = next(i for i in done.json()["agenda"] if i["id"] == discussion)
    assert [p["member_id"] for p in item["designated_speakers"]] == branch.officials[2:4]
    bad = client.put(f"{path}/items/{discussion}/speakers", json={"designated_speakers": [0]}, headers=people["clerk"])
    assert bad.status_code == 422 and bad.json()["error"]["message_en"].startswith("Invalid request")
    guest = client.put(
        f"{path}/items/{discussion}/speakers", json={"designated_speakers": [branch.guest]}, headers=people["clerk"]
    )
    assert guest.json()["error"]["code"] == "designated_not_member"


def test_documents_upload_distribute_download_and_access_log(client, branch, people):
    base = f"/api/prep/meetings/{branch.meeting_id}"
    files = {"file": ("Dự thảo nghị quyết.docx", samples.DOCX, "application/octet-stream")}
    refused = client.post(f"{base}/documents", files=files, headers=people["member"])
    assert refused.status_code == 403
    created = client.post(f"{base}/documents", files=files, data={"kind": "draft_report"}, headers=people["secretary"])
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert document["filename"] == "Dự thảo nghị quyết.docx" and document["kind"] == "draft_report"
    raw = client.post(
        f"{base}/documents?filename=anh.png", content=samples.PNG, headers={**people["secretary"], "content-type": "x"}
    )
    assert raw.status_code == 201 and raw.json()["content_type"] == "image/png"
    lying = client.post(
        f"{base}/documents", files={"file": ("x.pdf", samples.EXE, "application/pdf")}, headers=people["secretary"]
    )
    assert (lying.status_code, lying.json()["error"]["code"]) == (415, "document_type_refused")

    file_path = f"/api/prep/documents/{document['id']}/file"
    assert client.get(file_path, headers=people["member"]).status_code == 404  # not distributed yet
    assert client.get(f"{base}/documents", headers=people["member"]).json()["documents"] == []
    distributed = client.post(f"{base}/distribute", json={"document_ids": [document["id"]]}, headers=people["clerk"])
    assert distributed.status_code == 200
    listed = client.get(f"{base}/documents", headers=people["invite"]).json()["documents"]
    assert [d["id"] for d in listed] == [document["id"]]
    response = client.get(file_path, headers=people["invite"])
    assert response.status_code == 200 and response.content == samples.DOCX
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''D%E1%BB%B1" in response.headers["content-disposition"]
    assert client.get(file_path, headers=people["outsider"]).status_code == 404
    assert client.get(f"{base}/access", headers=people["member"]).status_code == 403
    access = client.get(f"{base}/access", headers=people["secretary"]).json()["documents"]
    draft = next(d for d in access if d["id"] == document["id"])
    assert [r["member_id"] for r in draft["opened_by"]] == [branch.officials[4]]
    gone = client.delete(f"/api/prep/documents/{document['id']}", headers=people["secretary"])
    assert gone.json()["error"]["code"] == "document_distributed"
    assert client.delete(f"/api/prep/documents/{raw.json()['id']}", headers=people["secretary"]).status_code == 204


def test_oversized_upload_is_refused_with_413(context, branch, people):
    context.settings.extra["max_document_bytes"] = "4096"
    with TestClient(create_app(context=context)) as client:
        response = client.post(
            f"/api/prep/meetings/{branch.meeting_id}/documents?filename=big.pdf",
            content=samples.PDF + b"\x00" * 100_000,
            headers=people["secretary"],
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "document_too_large"


def test_invitation_list_calendar_and_absence_notice(client, branch, people):
    base = f"/api/prep/meetings/{branch.meeting_id}"
    mine = client.get("/api/prep/my/meetings", headers=people["member"]).json()["meetings"]
    assert [m["meeting_id"] for m in mine] == [branch.meeting_id]
    assert mine[0]["calendar_url"].endswith(f"{base}/invitation.ics")
    ics = client.get(f"{base}/invitation.ics", headers=people["invite"])
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.startswith("BEGIN:VCALENDAR\r\n") and f"UID:meeting-{branch.meeting_id}@" in ics.text
    assert client.get(f"{base}/invitation.ics", headers=people["outsider"]).status_code == 404

    empty = client.post(f"{base}/absence", json={"reason": " "}, headers=people["member"])
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "absence_reason_required"
    sent = client.post(f"{base}/absence", json={"reason": "Đi công tác"}, headers=people["member"])
    assert sent.status_code == 201 and sent.json()["prefilled"] is True
    assert client.get(f"{base}/absences", headers=people["member"]).status_code == 403
    notices = client.get(f"{base}/absences", headers=people["secretary"]).json()["absences"]
    assert [(n["member_id"], n["reason"]) for n in notices] == [(branch.officials[3], "Đi công tác")]
    assert client.delete(f"{base}/absence", headers=people["member"]).status_code == 204
    assert client.get(f"{base}/absences", headers=people["secretary"]).json()["absences"] == []


def test_report_participation_and_the_commune_view(context, client, branch, people):
    base = f"/api/prep/meetings/{branch.meeting_id}"
    assert client.get(f"{base}/report.pdf", headers=people["secretary"]).json()["error"]["code"] == "report_not_ready"
    held_at = datetime.now(UTC) - timedelta(days=1)
    with context.sessions.begin() as session:
        session.get(Meeting, branch.meeting_id).scheduled_at = held_at
        commune = Commune(name="Đảng ủy xã Thử Nghiệm", code="thu-nghiem")
        session.add(commune)
        session.flush()
        session.get(Branch, branch.branch_id).commune_id = commune.id
        admin = User(username="bxd", display_name="Ban Xây dựng Đảng", is_admin=True, commune_id=commune.id)
        session.add(admin)
        session.flush()
        admin_headers = token(user_id=admin.id, role="admin", admin=True)
    other = seed_branch(context.sessions, code="cb-ngoai")
    hold(context, branch, branch.meeting_id, held_at, branch.officials)

    pdf = client.get(f"{base}/report.pdf", headers=people["secretary"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    word = client.get(f"{base}/report.docx", headers=people["clerk"])
    assert "BÁO CÁO KẾT QUẢ" in "\n".join(p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs)
    assert client.get(f"{base}/report.pdf", headers=people["member"]).status_code == 403
    assert client.get(f"{base}/report.txt", headers=people["secretary"]).status_code == 404

    stats = client.get(f"/api/prep/branches/{branch.branch_id}/participation", headers=people["secretary"])
    assert stats.status_code == 200 and stats.json()["summary"]["meetings"] == 1
    chart = client.get(f"/api/prep/branches/{branch.branch_id}/participation.svg", headers=people["secretary"])
    assert chart.headers["content-type"].startswith("image/svg+xml") and chart.text.startswith("<svg")
    assert (
        client.get(f"/api/prep/branches/{branch.branch_id}/participation", headers=people["member"]).status_code == 403
    )
    bad = client.get(f"/api/prep/branches/{branch.branch_id}/participation?since=x", headers=people["secretary"])
    assert bad.status_code == 422

    assert client.get("/api/commune/overview", headers=people["secretary"]).status_code == 403
    commune_report = f"/api/commune/meetings/{branch.meeting_id}/report.pdf"
    assert client.get(commune_report, headers=admin_headers).status_code == 404  # not sent yet
    assert client.post(f"{base}/report/submit", json={}, headers=people["clerk"]).status_code == 403
    status = client.get(f"{base}/report/submission", headers=people["secretary"])
    assert status.status_code == 200 and status.json() == {"submission": None}
    sent = client.post(f"{base}/report/submit", json={"minutes_shared": False}, headers=people["secretary"])
    assert sent.status_code == 200
    status = client.get(f"{base}/report/submission", headers=people["clerk"]).json()["submission"]
    assert (status["submitted_at"], status["minutes_shared"]) == (sent.json()["submitted_at"], False)
    assert client.get(commune_report, headers=admin_headers).content.startswith(b"%PDF-")
    minutes = client.get(f"/api/commune/meetings/{branch.meeting_id}/minutes", headers=admin_headers)
    assert minutes.status_code == 403 and minutes.json()["error"]["code"] == "minutes_not_shared"
    client.post(f"{base}/report/submit", json={"minutes_shared": True}, headers=people["secretary"])
    minutes = client.get(f"/api/commune/meetings/{branch.meeting_id}/minutes", headers=admin_headers)
    assert minutes.status_code == 200 and minutes.json()["items"][0]["entries"]
    outside = client.get(f"/api/commune/meetings/{other.meeting_id}/minutes", headers=admin_headers)
    assert outside.status_code == 404

    view = client.get(f"/api/commune/overview?month={held_at:%Y-%m}", headers=admin_headers)
    assert view.status_code == 200
    rows = view.json()["branches"]
    assert [r["branch_id"] for r in rows] == [branch.branch_id]
    assert rows[0]["meeting"]["report"]["state"] == "submitted"
    assert client.get("/api/commune/overview?month=2025-13", headers=admin_headers).status_code == 422
