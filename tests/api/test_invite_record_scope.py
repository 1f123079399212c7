"""An invite link after its meeting: a member who took part keeps the sealed record, and nothing else.

Once the meeting has ended, exchanging the invite gives a record token (typ "record"). Here it tries every route
of the app (iterating app.routes), each with the ids most favourable to it: its own meeting, branch and member,
and objects of that meeting. Only the record-read routes answer; every other route refuses it, or, for a public
one, answers exactly as it answers a caller with no token. It also tries the live WebSocket, the branch's other
meeting's sealed record, another branch's, the commands, /api/me/actions and the roster; then an expired invite,
a member who never arrived, and the record before it is sealed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from meeting import documents, planning
from meeting.app import create_app
from meeting.auth import Principal, issue_invite_token, issue_record_token
from meeting.context import AppContext
from meeting.domain.model import MeetingKind
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, SeededBranch, seed_branch
from tests.record import scenario as sc
from tests.record.test_minutes import START
from tests.record.test_seal import Caller, seal_it

# The routes that read a meeting's record: what a record token is for.
RECORD_READS = {
    ("GET", "/api/meetings/{meeting_id:int}/record"),
    ("GET", "/api/meetings/{meeting_id:int}/record.{fmt}"),
    ("GET", "/api/meetings/{meeting_id:int}/record/verify"),
    ("GET", "/api/meetings/{meeting_id:int}/record/addenda/{number:int}.{fmt}"),
}
REFUSED = {401, 403, 404, 410}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Ended:
    branch: SeededBranch
    held: sc.Held  # the invite's meeting: ended, its record sealed
    second: sc.Held  # the branch's next meeting: the member took part too, its record sealed as well
    client: TestClient
    callers: dict[str, Caller]
    invitee: int  # online in both meetings (officials[3])

    def invite(self, member_id: int | None = None, hours: float = 2, meeting_id: int | None = None) -> str:
        return issue_invite_token(
            meeting_id=meeting_id or self.held.meeting_id,
            member_id=member_id or self.invitee,
            branch_id=self.branch.branch_id,
            secret=TEST_SECRET,
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
        )

    def exchange(self, invite: str):
        return self.client.post("/api/auth/invite", json={"token": invite})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _hold(context: AppContext, branch: SeededBranch, title: str, days_after: int, prefix: str) -> sc.Held:
    with context.sessions.begin() as session:
        meeting = planning.create_meeting(
            session,
            branch_id=branch.branch_id,
            kind=MeetingKind.REGULAR,
            title=title,
            scheduled_at=START + timedelta(days=days_after),
            chair_id=branch.chair,
            clerk_id=branch.clerk,
        )
        meeting_id = meeting.id
    return sc.hold_meeting(
        context, branch, meeting_id=meeting_id, prefix=prefix, start=START + timedelta(days=days_after)
    )


@pytest.fixture
def ended(context: AppContext) -> Ended:
    branch = seed_branch(context.sessions, officials=7, with_logins=True)
    sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch, start=START)
    sc.add_resolution(context, branch, held, START.date())  # its second action item is the invitee's
    second = _hold(context, branch, "Sinh hoạt chi bộ tháng 12", 30, "b-")
    client = TestClient(create_app(context=context))
    callers = {
        role: Caller(client, branch.usernames[m]) for role, m in (("chair", branch.chair), ("clerk", branch.clerk))
    }
    return Ended(branch, held, second, client, callers, invitee=branch.officials[3])


def seal_with_addenda(e: Ended) -> None:
    """The first meeting sealed, with addendum 1 signed (sealed) and addendum 2 written, not signed yet."""
    seal_it(e.client, e.held, e.callers)
    seal_it(e.client, e.second, e.callers)
    base = f"/api/meetings/{e.held.meeting_id}/record/addenda"
    for number, text in ((1, "Đính chính giờ khai mạc: 19 giờ 30."), (2, "Bổ sung tên khách mời.")):
        made = e.client.post(base, json={"text": text}, headers=e.callers["chair"].headers)
        assert made.status_code == 201, made.text
        if number == 1:
            for role in ("chair", "clerk"):
                signed = e.client.post(f"{base}/1/sign", json={"password": PASSWORD}, headers=e.callers[role].headers)
                assert signed.status_code == 200, signed.text


def record_token(e: Ended) -> str:
    answer = e.exchange(e.invite())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["me"]["record_only"] is True and body["me"]["meeting_id"] == e.held.meeting_id
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["typ"] == "record" and claims["mtg"] == e.held.meeting_id and claims["mid"] == e.invitee
    return body["access_token"]


def sample_path(e: Ended, template: str, extra: dict[str, str]) -> str:
    """The route's path with the ids most favourable to the record token: its own meeting, branch, member..."""
    values = {
        "meeting_id": str(e.held.meeting_id),
        "branch_id": str(e.branch.branch_id),
        "member_id": str(e.invitee),
        "number": "1",
        "fmt": "pdf",
        "item_id": extra["item_id"],
        "entry_id": e.held.entry_ids[0],
        "resolution_id": str(e.held.resolution_id),
        "action_id": str(e.held.action_ids[1]),  # the invitee's own task
        "document_id": extra["document_id"],
        "template_id": "regular",
        "path": "css/app.css",
    }

    def fill(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"no sample value for the path parameter {name!r} of {template}: add one"
        return values[name]

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, template)


def test_the_record_token_reads_the_sealed_record_and_every_other_route_refuses_it(ended: Ended, context):
    e = ended
    seal_with_addenda(e)
    token = record_token(e)
    store = documents.store_from_settings(context.settings)
    with context.sessions.begin() as session:
        document = documents.upload(session, store, meeting_id=e.held.meeting_id, filename="du-thao.pdf", data=PDF)
        documents.distribute(session, e.held.meeting_id, [document.id], user_id=None)
        extra = {
            "document_id": str(document.id),
            "item_id": planning.get_meeting(session, e.held.meeting_id).agenda[0].id,
        }

    tried: list[str] = []
    failures: list[str] = []
    routes = [r for r in e.client.app.routes if isinstance(r, Route)]
    assert len(routes) > 80  # the whole app, not a part of it
    for route in routes:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = sample_path(e, route.path, extra)
            body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            answer = e.client.request(method, path, headers=bearer(token), **body)
            tried.append(f"{method} {path}: {answer.status_code}")
            if (method, route.path) in RECORD_READS:
                if answer.status_code != 200:
                    failures.append(f"{method} {path}: {answer.status_code}, the record token should read it")
                continue
            anonymous = e.client.request(method, path, **body)
            if anonymous.status_code != 401:  # a public route: the token must add nothing
                same = (answer.status_code, answer.content) == (anonymous.status_code, anonymous.content)
                if not same:
                    failures.append(f"{method} {path}: {answer.status_code}, not what a caller with no token gets")
            elif answer.status_code not in REFUSED:
                failures.append(f"{method} {path}: {answer.status_code} {answer.text[:120]}")
            elif answer.status_code >= 400:
                assert "error" in answer.json(), f"{method} {path}: a refusal without the error shape"
    assert not failures, "\n".join([*failures, "-- tried:", *tried])

    # The ones that matter most, named: the live meeting, commands, the member's tasks, the roster, renewal.
    m, b = e.held.meeting_id, e.branch.branch_id
    command = {"command": {"type": "raise_hand", "kind": "speak"}}
    for method, path, kwargs in (
        ("GET", f"/api/meetings/{m}/state", {}),
        ("GET", f"/api/meetings/{m}/journal", {}),
        ("POST", f"/api/meetings/{m}/commands", {"json": command}),
        ("POST", f"/api/meetings/{e.second.meeting_id}/commands", {"json": command}),
        ("GET", "/api/me/actions", {}),
        ("GET", "/api/me", {}),
        ("GET", f"/api/branches/{b}/members", {}),
        ("GET", f"/api/meetings/{m}/resolutions", {}),
        ("POST", "/api/auth/refresh", {}),
    ):
        answer = e.client.request(method, path, headers=bearer(token), **kwargs)
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "record_token_only"), path

    # Every format of the sealed record, the sealed files themselves, and the addenda as far as they are sealed.
    base = f"/api/meetings/{m}/record"
    record = e.client.get(base, headers=bearer(token)).json()
    assert record["status"] == "sealed" and record["adopted"] is True
    sealed_files = {"pdf": record["pdf_sha256"], "docx": record["docx_sha256"]}
    for fmt, digest in sealed_files.items():
        file = e.client.get(f"{base}.{fmt}", headers=bearer(token))
        assert file.status_code == 200 and file.headers["x-content-sha256"] == digest
    assert "BIÊN BẢN" in e.client.get(f"{base}.html", headers=bearer(token)).text
    assert e.client.get(f"{base}/verify", headers=bearer(token)).json()["valid"] is True
    addenda = {n: e.client.get(f"{base}/addenda/{n}.pdf", headers=bearer(token)) for n in (1, 2, 3)}
    assert addenda[1].status_code == 200
    assert (addenda[2].status_code, addenda[2].json()["error"]["code"]) == (409, "record_not_sealed")
    assert addenda[3].status_code == 404

    # The branch's other meeting (sealed, and the member took part in it) and another branch's: as if they did
    # not exist, exactly like an id nobody has.
    other_branch = seed_branch(context.sessions, code="cb-khac")
    for meeting_id in (e.second.meeting_id, other_branch.meeting_id, 987654321):
        for suffix in ("", ".pdf", ".docx", "/verify", "/addenda/1.pdf"):
            answer = e.client.get(f"/api/meetings/{meeting_id}/record{suffix}", headers=bearer(token))
            assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), (meeting_id, suffix)


def test_the_live_connection_refuses_the_record_token_and_the_ended_meetings_link(ended: Ended):
    e = ended
    token = record_token(e)
    sockets = [r.path for r in e.client.app.routes if isinstance(r, WebSocketRoute)]
    assert sockets, "the app has its live WebSocket"
    for template in sockets:
        path = template.replace("{meeting_id:int}", str(e.held.meeting_id)).replace(
            "{meeting_id}", str(e.held.meeting_id)
        )
        for credential, code, close in ((token, "record_token_only", 4003), (e.invite(), "meeting_ended", 4001)):
            with e.client.websocket_connect(path) as ws:
                ws.send_json({"type": "hello", "token": credential})
                frame = ws.receive_json()
                assert frame["type"] == "error" and frame["error"]["code"] == code, frame
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
                assert closed.value.code == close


def test_before_the_seal_the_record_token_is_told_so_and_gets_no_draft(ended: Ended):
    e = ended
    token = record_token(e)
    base = f"/api/meetings/{e.held.meeting_id}/record"
    for suffix in ("", ".pdf", ".docx", ".html", "/verify"):
        answer = e.client.get(f"{base}{suffix}", headers=bearer(token))
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "record_not_sealed"), suffix
        assert answer.json()["error"]["message"] == "Biên bản chưa được ký và niêm phong."
    # A member of the branch signed in with a password still reads the draft, as before.
    member = e.client.get(base, headers=e.callers["clerk"].headers).json()
    assert member["status"] == "draft"


def test_an_expired_invite_a_member_who_never_arrived_and_an_expired_record_token_are_refused(ended: Ended):
    e = ended
    expired = e.exchange(e.invite(hours=-1))
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "invite_invalid")
    never_came = e.exchange(e.invite(member_id=e.branch.officials[6]))  # marked absent without a reason
    assert (never_came.status_code, never_came.json()["error"]["code"]) == (410, "meeting_ended")
    excused = e.exchange(e.invite(member_id=e.branch.officials[4]))  # marked absent with a reason
    assert (excused.status_code, excused.json()["error"]["code"]) == (410, "meeting_ended")

    # The record token lasts no longer than the invite: 10 minutes left on the link, 10 minutes for the token.
    short = e.exchange(e.invite(hours=1 / 6))
    claims = jwt.decode(short.json()["access_token"], options={"verify_signature": False})
    invite_exp = jwt.decode(e.invite(hours=1 / 6), options={"verify_signature": False})["exp"]
    assert abs(claims["exp"] - invite_exp) <= 2 and short.json()["expires_in"] <= 600

    reader = Principal(None, e.invitee, e.branch.branch_id, "member", meeting_id=e.held.meeting_id, record_only=True)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    stale = issue_record_token(reader, TEST_SECRET, expires_at=long_ago + timedelta(minutes=30), now=long_ago)
    answer = e.client.get(f"/api/meetings/{e.held.meeting_id}/record", headers=bearer(stale))
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "token_expired")
