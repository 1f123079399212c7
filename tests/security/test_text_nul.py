"""NUL (U+0000) in any text a client sends is refused (422) before it reaches a database: PostgreSQL cannot store
it, so SQLite is not given it either, and both answer alike. JSON bodies (values and keys), URLs (path and query),
form fields and WebSocket frames; the same request without the NUL goes through, so the NUL was the refusal."""

from __future__ import annotations

from sqlalchemy import func, select

from meeting.db.models import Meeting, Member
from tests.api.world import World, new_meeting_body
from tests.security.conftest import Served, answers_until_pong, joined

NUL = "\x00"


def _bodies(world: World) -> list[tuple[str, str, dict, int]]:
    """(method, path, a body the route takes, its success status); NUL goes into each text value in turn."""
    a = world.a
    return [
        ("POST", f"/api/branches/{a.branch_id}/meetings", {**new_meeting_body(world), "place": "Nhà văn hóa"}, 201),
        ("POST", f"/api/branches/{a.branch_id}/members", {"full_name": "Đảng viên mới", "category": "official"}, 201),
        ("PATCH", f"/api/branches/{a.branch_id}", {"name": "Chi bộ mới", "organisation": "Đảng ủy xã"}, 200),
        ("PATCH", f"/api/members/{a.probationary}", {"full_name": "Tên mới", "phone": "0912345678"}, 200),
        ("POST", f"/api/meetings/{a.meeting_id}/resolutions", {"title": "Nghị quyết", "text": "Nội dung"}, 201),
        ("POST", f"/api/prep/meetings/{a.meeting_id}/absence", {"reason": "Ốm"}, 201),
    ]


def _text_keys(body: dict) -> list[str]:
    return [key for key, value in body.items() if isinstance(value, str) and not value[:4].isdigit()]


def _count(world: World) -> tuple[int, int]:
    with world.context.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Meeting)),
            session.scalar(select(func.count()).select_from(Member)),
        )


def test_nul_in_any_text_of_a_body_is_invalid_and_changes_nothing(world: World):
    failures = []
    for method, path, body, ok in _bodies(world):
        role = "member" if path.endswith("/absence") else "secretary"
        for key in _text_keys(body):
            before = _count(world)
            for hostile in (body[key] + NUL, NUL, f"a{NUL}b"):
                response = world.client.request(method, path, json={**body, key: hostile}, headers=world.headers(role))
                if response.status_code != 422 or "NUL" not in response.json()["error"]["message_en"]:
                    failures.append(f"{method} {path} {key}: {response.status_code} {response.text[:100]}")
            if _count(world) != before:
                failures.append(f"{method} {path} {key}: something was stored")
        clean = world.client.request(method, path, json=body, headers=world.headers(role))
        if clean.status_code != ok:
            failures.append(f"{method} {path} without NUL: {clean.status_code} {clean.text[:100]}")
    assert not failures, "\n".join(failures)


NUL_URLS = [
    "/api/meetings/{m}/agenda/a%00b",
    "/web/meetings/{m}/minutes/e%00/revisions",
    "/api/agenda-templates/x%00",
    "/api/prep/meetings/{m}/documents?filename=a%00.pdf",
    "/api/commune/overview?month=2026-0%001",
    "/api/prep/branches/{b}/participation?since=2026-01-01%00",
    "/api/prep/branches/{b}/participation.svg?lang=vi%00",
    "/api/meetings/{m}/journal?after=1%00",
]


def test_nul_in_a_url_is_invalid(world: World):
    failures = []
    for template in NUL_URLS:
        path = template.format(m=world.a.meeting_id, b=world.a.branch_id)
        for method in ("GET", "POST", "PATCH", "DELETE"):
            for role in ("secretary", "admin", "anonymous"):
                response = world.client.request(method, path, headers=world.headers(role), content=b"%PDF-1.4")
                if response.status_code != 422 or response.json()["error"]["code"] != "bad_request":
                    failures.append(f"{method} {path} as {role}: {response.status_code} {response.text[:100]}")
    assert not failures, "\n".join(failures)


def test_nul_in_an_upload_form_title_is_invalid(world: World):
    response = world.client.post(
        f"/api/prep/meetings/{world.a.meeting_id}/documents",
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"title": f"Báo cáo{NUL}", "kind": "other"},
        headers=world.headers("secretary"),
    )
    assert response.status_code == 422, response.text


def test_nul_in_a_live_command_is_a_bad_frame(served: Served):
    world = served.world
    with world.context.sessions() as session:
        before = session.get(Meeting, world.a.meeting_id).journal_seq
    ws = joined(served, world.tokens["clerk"], role="hall")
    ws.send(
        '{"type":"command","id":"w1","command":{"type":"write_entry","entry_id":"e1","item_id":"i","text":"a\\u0000"}}'
    )
    ws.send('{"type":"ping"}')
    answers = answers_until_pong(ws)
    assert [a["type"] for a in answers] == ["error", "pong"]
    assert answers[0]["error"]["code"] == "bad_frame" and "NUL" in answers[0]["error"]["message_en"]
    ws.close()
    with world.context.sessions() as session:
        assert session.get(Meeting, world.a.meeting_id).journal_seq == before
    assert served.logs.faults() == []
