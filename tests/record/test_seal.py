"""Adoption, signatures and the seal, over HTTP with real passwords: a signature covers one exact text, the second
signature seals, a sealed record refuses edits and takes addenda, and verification catches a tampered journal or
a tampered file."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.context import AppContext
from meeting.db.models import JournalEvent, User
from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.errors import Rejected
from meeting.journal import GENESIS, canonical, chain_hash
from meeting.record import seal
from tests.factories import PASSWORD, SeededBranch, seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text, pdf_text, pdf_to_png
from tests.record.test_minutes import ARTIFACTS, START

SIGN = "/api/meetings/{}/record/sign"


class Caller:
    def __init__(self, client: TestClient, username: str) -> None:
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def setup(context: AppContext):
    branch = seed_branch(context.sessions, officials=7, with_logins=True)
    sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch, start=START)
    client = TestClient(create_app(context=context))
    callers = {
        role: Caller(client, branch.usernames[member])
        for role, member in (("chair", branch.chair), ("clerk", branch.clerk), ("member", branch.officials[2]))
    }
    return branch, held, client, callers


def sign(client: TestClient, meeting_id: int, caller: Caller, password: str = PASSWORD, **extra):
    return client.post(SIGN.format(meeting_id), json={"password": password, **extra}, headers=caller.headers)


def seal_it(client: TestClient, held: sc.Held, callers: dict[str, Caller]) -> dict:
    assert sign(client, held.meeting_id, callers["chair"]).json()["status"] == "draft"
    sealed = sign(client, held.meeting_id, callers["clerk"]).json()
    assert sealed["status"] == "sealed", sealed
    return sealed


def test_only_chair_and_clerk_sign_and_only_with_their_password(setup):
    _branch, held, client, callers = setup
    refused = sign(client, held.meeting_id, callers["member"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "record_signers_only")
    wrong = sign(client, held.meeting_id, callers["chair"], password="sai-mat-khau")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "signature_password_wrong")
    record = client.get(f"/api/meetings/{held.meeting_id}/record", headers=callers["member"].headers).json()
    assert record["status"] == "draft" and all(s["signed_at"] is None for s in record["signatures"])
    stale = sign(client, held.meeting_id, callers["chair"], content_sha256="0" * 64)  # not the text on screen
    assert stale.json()["error"]["code"] == "record_changed"


def test_a_signature_covers_one_exact_text(setup, context: AppContext):
    branch, held, client, callers = setup
    first = sign(client, held.meeting_id, callers["chair"]).json()
    # The clerk completes the minutes after the meeting: the chair's signature was for the text before.
    context.service.execute(
        held.meeting_id,
        c.ReviseEntry(entry_id=held.entry_ids[0], text="Khai mạc lúc 19 giờ 30."),
        Actor.member(branch.clerk),
    )
    after_clerk = sign(client, held.meeting_id, callers["clerk"]).json()
    assert after_clerk["status"] == "draft"
    assert after_clerk["content_sha256"] != first["content_sha256"]
    signed = {s["role"]: s["signed_at"] for s in after_clerk["signatures"]}
    assert signed["clerk"] is not None and signed["chair"] is None
    sealed = sign(client, held.meeting_id, callers["chair"]).json()
    assert sealed["status"] == "sealed"
    assert "Khai mạc lúc 19 giờ 30." in docx_text(seal_file(client, held, callers, "docx"))


def seal_file(client: TestClient, held: sc.Held, callers: dict[str, Caller], fmt: str) -> bytes:
    response = client.get(f"/api/meetings/{held.meeting_id}/record.{fmt}", headers=callers["member"].headers)
    assert response.status_code == 200
    return response.content


def test_sealing_stores_the_files_and_hashes_and_the_record_verifies(setup, context: AppContext, database_url):
    _branch, held, client, callers = setup
    sealed = seal_it(client, held, callers)
    docx, pdf = seal_file(client, held, callers, "docx"), seal_file(client, held, callers, "pdf")
    assert hashlib.sha256(docx).hexdigest() == sealed["docx_sha256"]
    assert hashlib.sha256(pdf).hexdigest() == sealed["pdf_sha256"]
    _state, seq = context.service.state(held.meeting_id)
    assert sealed["journal_seq"] == seq
    with context.sessions() as session:
        head = session.scalar(
            select(JournalEvent.hash).where(JournalEvent.meeting_id == held.meeting_id, JournalEvent.seq == seq)
        )
    assert sealed["journal_head"] == head
    text = pdf_text(pdf)
    assert "DỰ THẢO" not in text and "Đã ký xác nhận lúc" in text and sealed["content_sha256"] in text
    if database_url.startswith("sqlite"):  # the signed record's pages, for a person to look at
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bien-ban-da-ky.pdf").write_bytes(pdf)
        (ARTIFACTS / "bien-ban-da-ky.docx").write_bytes(docx)
        for old in ARTIFACTS.glob("bien-ban-da-ky-*.png"):
            old.unlink()
        assert pdf_to_png(ARTIFACTS / "bien-ban-da-ky.pdf", ARTIFACTS / "bien-ban-da-ky")
    assert text.count("Đã ký xác nhận lúc") == 2
    verified = client.get(f"/api/meetings/{held.meeting_id}/record/verify", headers=callers["member"].headers).json()
    assert verified["valid"], verified["checks"]
    for data, fmt in ((docx, "docx"), (pdf, "pdf")):
        answer = client.post("/api/records/verify", content=data, headers=callers["member"].headers).json()
        assert answer["match"] and answer["format"] == fmt and answer["record_valid"]
    # A second signature on a sealed record changes nothing.
    again = sign(client, held.meeting_id, callers["chair"])
    assert again.json()["error"]["code"] == "record_sealed"


def test_a_sealed_record_refuses_edits_and_accepts_an_addendum(setup, context: AppContext):
    branch, held, client, callers = setup
    sealed = seal_it(client, held, callers)
    clerk = Actor.member(branch.clerk)
    item = context.service.state(held.meeting_id)[0].agenda[0].id
    for command in (
        c.ReviseEntry(entry_id=held.entry_ids[0], text="Sửa sau khi ký"),
        c.WriteEntry(entry_id="late-1", item_id=item, text="Viết thêm sau khi ký"),
    ):
        with pytest.raises(Rejected) as refused:
            context.service.execute(held.meeting_id, command, clerk)
        assert refused.value.code == "record_sealed"
    over_http = client.post(
        f"/api/meetings/{held.meeting_id}/commands",
        json={"command": {"type": "revise_entry", "entry_id": held.entry_ids[0], "text": "Sửa"}},
        headers=callers["clerk"].headers,
    )
    assert (over_http.status_code, over_http.json()["error"]["code"]) == (409, "record_sealed")
    _, seq = context.service.state(held.meeting_id)
    assert seq == sealed["journal_seq"]  # nothing was appended
    # The correction is an addendum, signed the same way, chained to the record.
    correction = "Đính chính: đồng chí Lê Văn Cường phát biểu lúc 20 giờ 27, không phải 20 giờ 26."
    url = f"/api/meetings/{held.meeting_id}/record/addenda"
    refused = client.post(url, json={"text": correction}, headers=callers["member"].headers)
    assert refused.json()["error"]["code"] == "record_signers_only"
    added = client.post(url, json={"text": correction}, headers=callers["clerk"].headers)
    assert added.status_code == 201
    addendum = added.json()["addenda"][0]
    assert addendum["number"] == 1 and not addendum["sealed"]
    pending = client.post(url, json={"text": "Một bản nữa"}, headers=callers["clerk"].headers)
    assert pending.json()["error"]["code"] == "addendum_pending"
    for role in ("chair", "clerk"):
        response = client.post(f"{url}/1/sign", json={"password": PASSWORD}, headers=callers[role].headers)
        assert response.status_code == 200, response.text
    status = response.json()
    assert status["addenda"][0]["sealed"] and status["content_sha256"] == sealed["content_sha256"]
    pdf = client.get(f"{url}/1.pdf", headers=callers["member"].headers).content
    text = pdf_text(pdf)
    assert "BIÊN BẢN BỔ SUNG" in text and correction in text and sealed["content_sha256"] in text
    answer = client.post("/api/records/verify", content=pdf, headers=callers["member"].headers).json()
    assert answer["match"] and answer["number"] == 1
    verified = client.get(f"/api/meetings/{held.meeting_id}/record/verify", headers=callers["chair"].headers).json()
    assert verified["valid"] and {"addendum_1_chain", "addendum_1_hashes"} <= {c["check"] for c in verified["checks"]}


def test_a_tampered_document_does_not_match(setup):
    _branch, held, client, callers = setup
    seal_it(client, held, callers)
    pdf = seal_file(client, held, callers, "pdf")
    # One changed byte in the file: it no longer matches, though it still names the record it came from.
    tampered = pdf.replace(b"/Producer", b"/Producex", 1)
    assert tampered != pdf
    answer = client.post("/api/records/verify", content=tampered, headers=callers["member"].headers).json()
    assert answer["match"] is False and answer["claims_meeting_id"] == held.meeting_id
    docx = bytearray(seal_file(client, held, callers, "docx"))
    docx[-30] ^= 0x01
    answer = client.post("/api/records/verify", content=bytes(docx), headers=callers["member"].headers).json()
    assert answer["match"] is False
    # Another branch's member learns nothing about this record, not even that the file names it.
    other = seed_branch(client.app.state.ctx.sessions, code="cb-other", with_logins=True)
    stranger = Caller(client, other.usernames[other.officials[2]])
    answer = client.post("/api/records/verify", content=pdf, headers=stranger.headers).json()
    assert answer["match"] is False and "claims_meeting_id" not in answer
    empty = client.post("/api/records/verify", content=b"", headers=callers["member"].headers)
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "file_missing")


def _edit_vote(session, meeting_id: int) -> JournalEvent:
    """Change the result of the resolution vote in the stored journal."""
    row = session.scalars(
        select(JournalEvent).where(JournalEvent.meeting_id == meeting_id, JournalEvent.type == "vote_closed")
    ).first()
    payload = json.loads(row.payload)
    payload["votes_against"] = 0
    row.payload = canonical(payload).decode()
    return row


def test_a_tampered_journal_fails_verification(setup, context: AppContext):
    _branch, held, client, callers = setup
    seal_it(client, held, callers)
    with context.sessions.begin() as session:
        _edit_vote(session, held.meeting_id)
    verified = client.get(f"/api/meetings/{held.meeting_id}/record/verify", headers=callers["member"].headers).json()
    failed = {check["check"] for check in verified["checks"] if not check["ok"]}
    assert not verified["valid"] and {"journal_chain", "minutes_from_journal"} <= failed
    # Whoever also recomputes the whole chain gets a valid chain again, but not the head the record was sealed at.
    with context.sessions.begin() as session:
        previous = GENESIS
        rows = session.scalars(
            select(JournalEvent).where(JournalEvent.meeting_id == held.meeting_id).order_by(JournalEvent.seq)
        ).all()
        for row in rows:
            row.prev_hash = previous
            row.hash = chain_hash(
                meeting_id=row.meeting_id,
                seq=row.seq,
                type=row.type,
                at=row.at,
                actor=row.actor,
                command_id=row.command_id,
                payload=row.payload,
                prev_hash=previous,
            )
            previous = row.hash
    with context.sessions() as session:
        result = seal.verify_record(session, held.meeting_id)
    checks = {check["check"]: check["ok"] for check in result["checks"]}
    assert checks["journal_chain"] is True
    assert checks["journal_head"] is False and checks["minutes_from_journal"] is False
    assert result["valid"] is False


def test_signing_needs_an_ended_meeting_whose_minutes_were_adopted(context: AppContext):
    branch: SeededBranch = seed_branch(context.sessions, officials=7, with_logins=True, code="cb-noadopt")
    service, chair = context.service, Actor.member(branch.chair)
    service.execute(branch.meeting_id, c.CheckIn(member_id=branch.chair, mode="in_person"), Actor.member(branch.clerk))
    service.execute(branch.meeting_id, c.StartMeeting(), chair)
    client = TestClient(create_app(context=context))
    chair_caller = Caller(client, branch.usernames[branch.chair])
    early = sign(client, branch.meeting_id, chair_caller)
    assert early.json()["error"]["code"] == "record_meeting_not_ended"
    service.execute(branch.meeting_id, c.EndMeeting(), chair)
    unadopted = sign(client, branch.meeting_id, chair_caller)
    assert unadopted.json()["error"]["code"] == "minutes_not_adopted"
    with context.sessions() as session:
        assert session.scalar(select(User).where(User.username == branch.usernames[branch.chair])) is not None
