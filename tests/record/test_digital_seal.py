"""The digital seal of the sealed PDF, over HTTP with real passwords, on SQLite and PostgreSQL: a PAdES signature by
a key on a SoftHSM2 token (or in a PKCS#12 file) that pyHanko's validator accepts with the test CA as trust root,
the journal carried inside the file, one flipped byte caught, a token missing at sealing, a bad configuration
stopped at start-up, and the record without a key as before."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.context import AppContext
from meeting.record import digital_seal
from meeting.settings import SealSettings, Settings
from tests.factories import PASSWORD, seed_branch
from tests.record import scenario as sc
from tests.record.test_minutes import ARTIFACTS, START
from tests.record.test_seal import Caller, _edit_vote, seal_file, seal_it, sign
from tests.sealing import PIN, SealAuthority, pdfsig_says, seal_authority, validate_sealed_pdf  # noqa: F401


def _setup(context: AppContext):
    branch = seed_branch(context.sessions, officials=7, with_logins=True)
    sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch, start=START)
    client = TestClient(create_app(context=context))
    callers = {
        role: Caller(client, branch.usernames[member])
        for role, member in (("chair", branch.chair), ("clerk", branch.clerk), ("member", branch.officials[2]))
    }
    return held, client, callers


@pytest.fixture
def sealing_context(settings: Settings, seal_authority: SealAuthority, request) -> Iterator[AppContext]:  # noqa: F811
    kind = getattr(request, "param", "pkcs11")
    context = AppContext.create(dataclasses.replace(settings, seal=getattr(seal_authority, kind)))
    yield context
    context.engine.dispose()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("sealing_context", ["pkcs11", "pkcs12"], indirect=True)
def test_the_sealed_pdf_is_signed_and_carries_its_journal(
    sealing_context: AppContext,
    seal_authority,  # noqa: F811
    database_url: str,
    request: pytest.FixtureRequest,
):
    held, client, callers = _setup(sealing_context)
    member = callers["member"].headers
    sealed = seal_it(client, held, callers)
    pdf = seal_file(client, held, callers, "pdf")
    if database_url.startswith("sqlite") and "pkcs11" in request.node.name:  # for a person to open in a PDF reader
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bien-ban-ky-so.pdf").write_bytes(pdf)
    assert seal_file(client, held, callers, "pdf") == pdf  # the bytes signed at sealing, served as they are
    assert hashlib.sha256(pdf).hexdigest() == sealed["pdf_sha256"]

    check = validate_sealed_pdf(pdf, seal_authority.ca_cert)
    assert check.ok, check
    assert check.signer == seal_authority.signer_name
    poppler = pdfsig_says(pdf)  # another PDF reader than pyHanko checks it too
    assert "Signature Validation: Signature is Valid." in poppler and "Total document signed" in poppler, poppler
    assert f"Common Name: {seal_authority.signer_name}" in poppler
    sealed_at = datetime.fromisoformat(sealed["sealed_at"])
    assert check.signed_at is not None and abs(check.signed_at - sealed_at) < timedelta(seconds=30)
    journal = client.get(f"/api/meetings/{held.meeting_id}/journal", headers=member).json()
    assert journal["more"] is False
    assert check.journal is not None and check.journal["events"] == journal["events"]
    assert check.journal["journal_head"] == journal["events"][-1]["hash"] == sealed["journal_head"]
    assert check.journal["journal_seq"] == sealed["journal_seq"]

    assert sealed["digital_seal"] == {
        "configured": True,
        "signed": True,
        "signer": seal_authority.signer_name,
        "signed_at": sealed["digital_seal"]["signed_at"],
    }
    assert datetime.fromisoformat(sealed["digital_seal"]["signed_at"]) == check.signed_at
    record = client.get(f"/api/meetings/{held.meeting_id}/record", headers=member).json()
    assert record["digital_seal"] == sealed["digital_seal"]

    answer = client.post("/api/records/verify", content=pdf, headers=member).json()
    assert answer["match"] and answer["record_valid"]
    signature = answer["digital_signature"]
    assert signature["present"] and signature["intact"] and signature["valid"] and signature["trusted"]
    assert signature["signer"] == seal_authority.signer_name and signature["trust_roots_configured"]
    assert datetime.fromisoformat(signature["signed_at"]) == check.signed_at
    assert answer["embedded_journal"]["present"] and answer["embedded_journal"]["matches"]
    verified = client.get(f"/api/meetings/{held.meeting_id}/record/verify", headers=member).json()
    checks = {c["check"]: c["ok"] for c in verified["checks"]}
    assert verified["valid"] and checks["pdf_digital_seal"] is True


def test_one_flipped_byte_breaks_the_seal(sealing_context: AppContext, seal_authority):  # noqa: F811
    held, client, callers = _setup(sealing_context)
    seal_it(client, held, callers)
    pdf = seal_file(client, held, callers, "pdf")
    # A byte inside the signed range: the first content stream's data (a page of the minutes).
    at = pdf.index(b"stream", pdf.index(b"/Length")) + 40
    tampered = _flip(pdf, at)
    check = validate_sealed_pdf(tampered, seal_authority.ca_cert)
    assert not check.intact and not check.ok
    assert "Signature Validation: Digest Mismatch." in pdfsig_says(tampered)
    answer = client.post("/api/records/verify", content=tampered, headers=callers["member"].headers).json()
    assert answer["match"] is False and answer["claims_meeting_id"] == held.meeting_id
    signature = answer["digital_signature"]
    assert signature["present"] and signature["intact"] is False and signature["trusted"] is False
    # The journal inside was not touched: it still matches the database.
    assert answer["embedded_journal"]["matches"] is True


@pytest.mark.parametrize("sealing_context", ["pkcs12"], indirect=True)
def test_a_sealed_addendum_is_signed_too(sealing_context: AppContext, seal_authority):  # noqa: F811
    held, client, callers = _setup(sealing_context)
    seal_it(client, held, callers)
    url = f"/api/meetings/{held.meeting_id}/record/addenda"
    correction = "Đính chính: đồng chí Lê Văn Cường phát biểu lúc 20 giờ 27."
    assert client.post(url, json={"text": correction}, headers=callers["clerk"].headers).status_code == 201
    for role in ("chair", "clerk"):
        status = client.post(f"{url}/1/sign", json={"password": PASSWORD}, headers=callers[role].headers).json()
    addendum = status["addenda"][0]
    assert addendum["sealed"] and addendum["digital_seal"]["signed"]
    assert addendum["digital_seal"]["signer"] == seal_authority.signer_name
    pdf = client.get(f"{url}/1.pdf", headers=callers["member"].headers).content
    check = validate_sealed_pdf(pdf, seal_authority.ca_cert)
    assert check.ok and check.journal is None  # the journal travels with the minutes, not with each addendum
    answer = client.post("/api/records/verify", content=pdf, headers=callers["member"].headers).json()
    assert answer["match"] and answer["number"] == 1 and answer["digital_signature"]["trusted"]
    verified = client.get(f"/api/meetings/{held.meeting_id}/record/verify", headers=callers["member"].headers).json()
    assert verified["valid"] and {"pdf_digital_seal", "addendum_1_digital_seal"} <= {
        c["check"] for c in verified["checks"] if c["ok"]
    }


def test_a_changed_journal_in_the_database_no_longer_matches_the_file(sealing_context: AppContext):
    held, client, callers = _setup(sealing_context)
    seal_it(client, held, callers)
    pdf = seal_file(client, held, callers, "pdf")
    with sealing_context.sessions.begin() as session:
        _edit_vote(session, held.meeting_id)  # one vote against fewer, in the stored journal
    answer = client.post("/api/records/verify", content=pdf, headers=callers["member"].headers).json()
    assert answer["match"] and answer["digital_signature"]["intact"]  # the file is as sealed...
    assert answer["embedded_journal"]["matches"] is False  # ...but the database's journal is not what it carries
    assert answer["record_valid"] is False


def test_a_missing_token_at_sealing_keeps_the_signatures_and_sealing_can_be_retried(
    sealing_context: AppContext,
    seal_authority,  # noqa: F811
):
    held, client, callers = _setup(sealing_context)
    working = sealing_context.settings
    # The token is not there when the second officer signs (pulled out): no token with its label is found.
    sealing_context.settings = dataclasses.replace(
        working, seal=dataclasses.replace(seal_authority.pkcs11, pkcs11_token="token-rut-ra")
    )
    assert sign(client, held.meeting_id, callers["chair"]).json()["status"] == "draft"
    refused = sign(client, held.meeting_id, callers["clerk"])
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "record_seal_failed"
    record = client.get(f"/api/meetings/{held.meeting_id}/record", headers=callers["member"].headers).json()
    assert record["status"] == "draft" and record["pdf_sha256"] is None
    assert all(s["signed_at"] is not None for s in record["signatures"])  # both signatures kept
    assert record["digital_seal"] == {"configured": True, "signed": False, "signer": None, "signed_at": None}
    draft = client.get(f"/api/meetings/{held.meeting_id}/record.pdf", headers=callers["member"].headers)
    assert draft.status_code == 200 and digital_seal.check_signature(draft.content)["present"] is False
    # The token is back: signing again (either officer) seals, with the digital seal.
    sealing_context.settings = working
    sealed = sign(client, held.meeting_id, callers["chair"]).json()
    assert sealed["status"] == "sealed" and sealed["digital_seal"]["signed"]
    assert validate_sealed_pdf(seal_file(client, held, callers, "pdf"), seal_authority.ca_cert).ok


def test_without_a_key_the_record_is_sealed_unsigned(context: AppContext):
    held, client, callers = _setup(context)
    sealed = seal_it(client, held, callers)
    assert sealed["digital_seal"] == {"configured": False, "signed": False, "signer": None, "signed_at": None}
    pdf = seal_file(client, held, callers, "pdf")
    answer = client.post("/api/records/verify", content=pdf, headers=callers["member"].headers).json()
    assert answer["match"] and answer["record_valid"]
    assert answer["digital_signature"]["present"] is False and answer["digital_signature"]["trusted"] is False
    assert answer["embedded_journal"]["matches"] is True  # the journal travels in the file all the same
    # Damaged or made-up PDFs get an answer that says why, never an error.
    for damaged in (pdf[: len(pdf) // 2], b"%PDF-1.7\n" + bytes(range(256)) * 8, pdf.replace(b"%%EOF", b"%%EOX")):
        response = client.post("/api/records/verify", content=damaged, headers=callers["member"].headers)
        assert response.status_code == 200, response.text
        signature = response.json()["digital_signature"]
        assert signature["present"] is False and signature["problem"], signature


# -- configuration ----------------------------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "CHIBO_SEAL_PKCS12",
        "CHIBO_SEAL_PKCS12_PASSWORD",
        "CHIBO_SEAL_PKCS11_MODULE",
        "CHIBO_SEAL_PKCS11_TOKEN",
        "CHIBO_SEAL_PKCS11_KEY",
        "CHIBO_SEAL_PKCS11_CERT",
        "CHIBO_SEAL_PKCS11_PIN",
        "CHIBO_SEAL_TRUST_ROOTS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("kind", ["pkcs11", "pkcs12"])
def test_a_good_configuration_starts(clean_env, seal_authority, kind: str):  # noqa: F811
    for name, value in seal_authority.env(kind).items():
        clean_env.setenv(name, value)
    settings = Settings.from_env()
    assert settings.seal == getattr(seal_authority, kind) and settings.seal.configured
    assert PIN not in repr(settings)  # secrets stay out of logs


@pytest.mark.parametrize(
    ("kind", "change", "says"),
    [
        ("pkcs12", {"CHIBO_SEAL_PKCS12_PASSWORD": "sai"}, "wrong password"),
        ("pkcs12", {"CHIBO_SEAL_PKCS12": "/nonexistent/seal.p12"}, "cannot read the file"),
        ("pkcs11", {"CHIBO_SEAL_PKCS11_PIN": "000000"}, "cannot open key"),
        ("pkcs11", {"CHIBO_SEAL_PKCS11_KEY": "khong-co"}, "cannot open key"),
        ("pkcs11", {"CHIBO_SEAL_PKCS11_TOKEN": "khong-co"}, "cannot open key"),
        ("pkcs11", {"CHIBO_SEAL_PKCS11_MODULE": "/nonexistent/libp11.so"}, "no such library"),
        ("pkcs11", {"CHIBO_SEAL_PKCS11_PIN": ""}, "also needs: CHIBO_SEAL_PKCS11_PIN"),
        ("pkcs11", {"CHIBO_SEAL_PKCS12": "/x.p12"}, "not both"),
        ("pkcs12", {"CHIBO_SEAL_TRUST_ROOTS": "/nonexistent/ca.pem"}, "CHIBO_SEAL_TRUST_ROOTS"),
        ("pkcs12", {"CHIBO_SEAL_PKCS12": ""}, "missing CHIBO_SEAL_PKCS12"),
    ],
)
def test_a_bad_configuration_stops_the_start_with_the_reason(
    clean_env,
    seal_authority,  # noqa: F811
    kind: str,
    change: dict[str, str],
    says: str,
):
    for name, value in {**seal_authority.env(kind), **change}.items():
        if value:
            clean_env.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert says in str(stopped.value)


def test_sealing_settings_say_whether_a_key_is_configured():
    assert not SealSettings().configured
    assert SealSettings(pkcs12="/k.p12").configured and SealSettings(pkcs11_module="/lib.so").configured
