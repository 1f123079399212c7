"""Adoption, signatures, sealing, addenda and verification of the official record.

The draft is always made afresh from the journal. Chair and clerk each sign by re-entering their password; a
signature names the exact content it approves (the SHA-256 of the draft's canonical JSON, which includes the
journal head). When both have signed the same content the record is sealed, inside the meeting's lock so the
journal cannot move meanwhile: the snapshot (the minutes and the facts gathered beside the journal), its hash,
the journal head, and the DOCX and PDF files made at that moment with their SHA-256 are stored. From then on
the service refuses minute edits (`refuse_edits_when_sealed`, a guard run before `decide`); corrections are
addenda, each a new document signed the same way and chained to the one before by its hash.

With a signing key configured (CHIBO_SEAL_*), the sealed PDF also carries a digital seal (digital_seal.py): a
PAdES signature made at sealing, over a file that embeds the journal export. Signing at sealing fixes the time in
the file, so the signed bytes are what is stored and served. If the key cannot sign then (a token pulled out), the
record is not sealed unsigned: an official record sealed without the seal it should carry could never get it back
(its bytes are fixed), so sealing is refused with `record_seal_failed` while both officers' signatures stay
stored, and signing again (either officer) retries it. Without a key, sealing makes unsigned files as before.

Verification re-reads everything: the journal's chain, its head at the sealed sequence number, the minutes
assembled again from the journal with the stored facts, the stored files' hashes, the PDF's digital seal, and
the addenda's chain. An uploaded file matches when its SHA-256 is one of a sealed document's files; its digital
seal and the journal it carries are checked beside that.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from meeting import journal
from meeting.auth import Principal, verify_password
from meeting.calendar_vn import local_date
from meeting.db.models import Branch, JournalEvent, Meeting, RecordDocument, RecordSignature, User
from meeting.domain import commands as cmd
from meeting.domain.commands import Actor, Command
from meeting.domain.model import MeetingState, MeetingStatus
from meeting.errors import Rejected
from meeting.journal import RecordedEvent, canonical
from meeting.record import digital_seal
from meeting.record.assemble import assemble, header_for, recording_files, recording_links
from meeting.record.docx import render_docx
from meeting.record.layout import Layout, addendum_layout, minutes_layout
from meeting.record.model import Addendum, Minutes, RecordContext, Signer
from meeting.record.pdf import Attachment, render_pdf
from meeting.record.resolutions import resolution_records, review_rows
from meeting.settings import SealSettings
from meeting.throttle import caller_address

ROLES = ("chair", "clerk")
MARK = re.compile(rb"chibo-record:(\d+):(\d+):([0-9a-f]{64})")


# -- the draft ------------------------------------------------------------------------------------------------------
def gather_context(
    session: Session, meeting: Meeting, state: MeetingState, recordings_dir: str | None
) -> RecordContext:
    """Everything the minutes need that the journal does not hold, as things stand now."""
    started = _moment(state.started_at) or _aware(meeting.scheduled_at)
    ended = _moment(state.ended_at) or started
    return RecordContext(
        header=header_for(session, meeting),
        resolutions=resolution_records(session, meeting.id, ended),
        review=review_rows(session, meeting, started),
        recordings=recording_links(recordings_dir, meeting.id),
        recording_files=recording_files(recordings_dir, meeting.id),
    )


@dataclass
class Draft:
    minutes: Minutes
    context: RecordContext
    content_sha256: str


def make_draft(session: Session, meeting: Meeting, recorded: list[RecordedEvent], recordings_dir: str | None) -> Draft:
    if not recorded:
        raise Rejected("journal_not_opened")
    from meeting.domain.evolve import fold

    state = fold(MeetingState(meeting_id=meeting.id), (r.event for r in recorded))
    context = gather_context(session, meeting, state, recordings_dir)
    minutes = assemble(recorded, context)
    return Draft(minutes, context, minutes.content_sha256())


def record_document(session: Session, meeting_id: int, number: int = 0) -> RecordDocument | None:
    return session.scalar(
        select(RecordDocument).where(RecordDocument.meeting_id == meeting_id, RecordDocument.number == number)
    )


def is_sealed(session: Session, meeting_id: int) -> bool:
    document = record_document(session, meeting_id)
    return document is not None and document.sealed_at is not None


def require_unsealed(session: Session, meeting_id: int) -> None:
    if is_sealed(session, meeting_id):
        raise Rejected("record_sealed")


def signers_for(
    session: Session,
    document: RecordDocument | None,
    content_sha256: str,
    chair: tuple[int | None, str],
    clerk: tuple[int | None, str],
) -> list[Signer]:
    """The two signature lines; a line shows a time only when it signed this very content."""
    signed: dict[str, RecordSignature] = {}
    if document is not None:
        for signature in session.scalars(
            select(RecordSignature).where(
                RecordSignature.document_id == document.id, RecordSignature.content_sha256 == content_sha256
            )
        ):
            signed[signature.role] = signature
    lines = []
    for role, (member_id, name) in (("chair", chair), ("clerk", clerk)):
        signature = signed.get(role)
        lines.append(
            Signer(
                role=role,
                member_id=member_id,
                name=signature.name if signature else name,
                signed_at=_aware(signature.signed_at).isoformat() if signature else None,
            )
        )
    return lines


def officers(minutes: Minutes) -> tuple[tuple[int | None, str], tuple[int | None, str]]:
    chair = (minutes.chair.member_id, minutes.chair.name) if minutes.chair else (None, "")
    clerk = (minutes.clerk.member_id, minutes.clerk.name) if minutes.clerk else (None, "")
    return chair, clerk


def draft_layout(session: Session, draft: Draft, document: RecordDocument | None) -> Layout:
    signers = signers_for(session, document, draft.content_sha256, *officers(draft.minutes))
    return minutes_layout(draft.minutes, signers, sealed=False, content_sha256=draft.content_sha256)


def render(layout: Layout, fmt: str, moment: datetime, mark: str) -> bytes:
    """One format of a laid-out document; `mark` is written into the file's properties to recognise it later."""
    layout.keywords = mark
    if fmt == "docx":
        return render_docx(layout, moment)
    if fmt == "pdf":
        return render_pdf(layout, moment)
    raise ValueError(fmt)


def record_mark(meeting_id: int, number: int, content_sha256: str) -> str:
    return f"chibo-record:{meeting_id}:{number}:{content_sha256}"


# -- signing --------------------------------------------------------------------------------------------------------
def _check_password(context: Any, session: Session, who: Principal, password: str) -> None:
    """The signer's password, re-entered; wrong tries count in the sign-in throttle (429 when too many)."""
    user = session.get(User, who.user_id) if who.user_id is not None else None
    username = user.username if user is not None else f"member:{who.member_id}"
    matches = context.login_throttle.verify(
        username, caller_address.get(), lambda: verify_password(user.password_hash if user else None, password)
    )
    if not matches:
        raise Rejected("signature_password_wrong", status=403)


def _roles_of(who: Principal, chair_id: int | None, clerk_id: int | None) -> list[str]:
    roles = []
    if who.member_id is not None and who.member_id == chair_id:
        roles.append("chair")
    if who.member_id is not None and who.member_id == clerk_id:
        roles.append("clerk")
    if not roles:
        raise Rejected("record_signers_only", status=403)
    return roles


def _add_signatures(
    session: Session, document: RecordDocument, roles: list[str], who: Principal, name: str, content: str, now: datetime
) -> None:
    for role in roles:
        exists = session.scalar(
            select(RecordSignature).where(
                RecordSignature.document_id == document.id,
                RecordSignature.role == role,
                RecordSignature.content_sha256 == content,
            )
        )
        if exists is None:
            session.add(
                RecordSignature(
                    document_id=document.id,
                    member_id=who.member_id,
                    role=role,
                    name=name,
                    content_sha256=content,
                    signed_at=now,
                )
            )
    session.flush()


def _signed_roles(session: Session, document: RecordDocument, content: str) -> set[str]:
    return set(
        session.scalars(
            select(RecordSignature.role).where(
                RecordSignature.document_id == document.id, RecordSignature.content_sha256 == content
            )
        )
    )


def sign_record(
    context: Any,
    meeting_id: int,
    who: Principal,
    password: str,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The chair's or the clerk's signature on the current draft; the second one seals the record."""
    service = context.service
    recordings_dir = recordings_dir_of(context.settings)
    with context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise Rejected("not_found", status=404, what="meeting")
        _roles_of(who, meeting.chair_id, meeting.clerk_id)  # the plan's officers; the journal's are checked below
    with service.exclusive(meeting_id) as (state, seq):
        roles = _roles_of(who, state.chair_id, state.clerk_id)
        if state.status != MeetingStatus.ENDED:
            raise Rejected("record_meeting_not_ended")
        with context.sessions.begin() as session:
            _check_password(context, session, who, password)
            meeting = session.get(Meeting, meeting_id)
            document = record_document(session, meeting_id)
            if document is not None and document.sealed_at is not None:
                raise Rejected("record_sealed")
            recorded = journal.read(session, meeting_id)
            if not recorded or recorded[-1].seq != seq:
                raise Rejected("record_changed")  # the journal moved under the lock: not the text the signer read
            draft = make_draft(session, meeting, recorded, recordings_dir)
            if draft.minutes.adoption is None or not draft.minutes.adoption.passed:
                raise Rejected("minutes_not_adopted")
            if expected_sha256 and expected_sha256 != draft.content_sha256:
                raise Rejected("record_changed", content_sha256=draft.content_sha256)
            moment = now or datetime.now(UTC)
            if document is None:
                document = RecordDocument(meeting_id=meeting_id, number=0, created_by=who.member_id, created_at=moment)
                session.add(document)
                session.flush()
            name = state.roster[who.member_id].name if who.member_id in state.roster else who.name
            _add_signatures(session, document, roles, who, name, draft.content_sha256, moment)
            signed = _signed_roles(session, document, draft.content_sha256)
            failure = None
            if signed >= set(ROLES):
                try:
                    _seal_minutes(session, document, draft, moment, context.settings.seal, recorded)
                except digital_seal.SealingFailed as exc:
                    failure = exc  # the signatures are committed below; the record stays unsealed
            status = record_status(session, meeting, draft, document, context.settings.seal)
    if failure is not None:
        raise Rejected("record_seal_failed", status=503, detail=str(failure)[:300])
    return status


def _sealed_pdf(
    seal: SealSettings, layout: Layout, moment: datetime, mark: str, attachments: tuple[Attachment, ...] = ()
) -> tuple[bytes, digital_seal.SignedPdf | None]:
    """The PDF of a sealed document, digitally signed when a key is configured (raises SealingFailed)."""
    layout.keywords = mark
    pdf = render_pdf(layout, moment, attachments)
    if not seal.configured:
        return pdf, None
    signed = digital_seal.sign_pdf(seal, pdf)
    return signed.data, signed


def _store_pdf(document: RecordDocument, pdf: bytes, signed: digital_seal.SignedPdf | None) -> None:
    document.pdf = pdf
    document.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    document.pdf_signer = signed.signer if signed else None
    document.pdf_signed_at = signed.signed_at if signed else None


def journal_attachment(meeting_id: int, recorded: list[RecordedEvent]) -> Attachment:
    return Attachment(
        name=digital_seal.journal_file_name(meeting_id),
        data=digital_seal.journal_bytes(meeting_id, recorded),
        mime_type=digital_seal.JOURNAL_MIME,
        description="Nhật ký cuộc họp (chuỗi băm) / the meeting's hash-chained journal",
    )


def _seal_minutes(
    session: Session,
    document: RecordDocument,
    draft: Draft,
    moment: datetime,
    seal: SealSettings,
    recorded: list[RecordedEvent],
) -> None:
    """Store the sealed record; the PDF is made (and signed) first, so a failure to sign changes nothing."""
    signers = signers_for(session, document, draft.content_sha256, *officers(draft.minutes))
    mark = record_mark(document.meeting_id, 0, draft.content_sha256)
    layout = minutes_layout(draft.minutes, signers, sealed=True, content_sha256=draft.content_sha256)
    pdf, signed = _sealed_pdf(seal, layout, moment, mark, (journal_attachment(document.meeting_id, recorded),))
    layout = minutes_layout(draft.minutes, signers, sealed=True, content_sha256=draft.content_sha256)
    docx = render(layout, "docx", moment, mark)
    document.snapshot = canonical(
        {"context": draft.context.model_dump(mode="json"), "minutes": draft.minutes.model_dump(mode="json")}
    ).decode("utf-8")
    document.content_sha256 = draft.content_sha256
    document.journal_seq = draft.minutes.journal_seq
    document.journal_head = draft.minutes.journal_head
    document.docx = docx
    document.docx_sha256 = hashlib.sha256(docx).hexdigest()
    _store_pdf(document, pdf, signed)
    document.sealed_at = moment
    session.flush()


def sealed_minutes(document: RecordDocument) -> tuple[Minutes, RecordContext]:
    data = json.loads(document.snapshot or "{}")
    return Minutes.model_validate(data["minutes"]), RecordContext.model_validate(data["context"])


def digital_seal_status(seal: SealSettings | None, document: RecordDocument | None) -> dict[str, Any]:
    """`configured`: a signing key is set up now; `signed`: the sealed PDF carries a digital seal, by `signer`
    (the certificate's common name) at `signed_at`."""
    signed = document is not None and document.sealed_at is not None and document.pdf_signer is not None
    return {
        "configured": bool(seal and seal.configured),
        "signed": signed,
        "signer": document.pdf_signer if signed else None,
        "signed_at": _iso(document.pdf_signed_at) if signed else None,
    }


def record_status(
    session: Session,
    meeting: Meeting,
    draft: Draft | None,
    document: RecordDocument | None,
    seal: SealSettings | None = None,
) -> dict[str, Any]:
    sealed = document is not None and document.sealed_at is not None
    if sealed:
        minutes, context = sealed_minutes(document)
        content = document.content_sha256 or ""
    else:
        assert draft is not None
        minutes, context, content = draft.minutes, draft.context, draft.content_sha256
    signers = signers_for(session, document, content, *officers(minutes))
    addenda = []
    if document is not None:
        for extra in session.scalars(
            select(RecordDocument)
            .where(RecordDocument.meeting_id == meeting.id, RecordDocument.number > 0)
            .order_by(RecordDocument.number)
        ):
            addendum = addendum_value(extra)
            extra_signers = signers_for(session, extra, addendum.content_sha256(), *officers(minutes))
            addenda.append(
                {
                    "number": extra.number,
                    "text": extra.text,
                    "sealed": extra.sealed_at is not None,
                    "sealed_at": _iso(extra.sealed_at),
                    "content_sha256": addendum.content_sha256(),
                    "docx_sha256": extra.docx_sha256,
                    "pdf_sha256": extra.pdf_sha256,
                    "signatures": [s.model_dump(mode="json") for s in extra_signers],
                    "digital_seal": digital_seal_status(seal, extra),
                }
            )
    return {
        "meeting_id": meeting.id,
        "number": minutes.header.number,
        "status": "sealed" if sealed else "draft",
        "adopted": bool(minutes.adoption and minutes.adoption.passed),
        "content_sha256": content,
        "journal_seq": minutes.journal_seq,
        "journal_head": minutes.journal_head,
        "sealed_at": _iso(document.sealed_at) if sealed else None,
        "docx_sha256": document.docx_sha256 if sealed else None,
        "pdf_sha256": document.pdf_sha256 if sealed else None,
        "digital_seal": digital_seal_status(seal, document),
        "signatures": [s.model_dump(mode="json") for s in signers],
        "addenda": addenda,
        "locks": sealing_locks(context),
        "minutes": minutes.model_dump(mode="json"),
    }


def sealing_locks(context: RecordContext) -> dict[str, Any]:
    """What the seal closes, for the record page to say before anyone signs. Minute entries: the service refuses
    writing and revising them (`refuse_edits_when_sealed`). The meeting's resolutions and their "5 rõ" items:
    the routes refuse drafting a resolution, changing one, and adding or changing an item (`require_unsealed`);
    an item can still be marked done or not done. Counted as this record holds them."""
    return {
        "minute_entries": True,
        "resolutions": len(context.resolutions),
        "action_items": sum(len(r.actions) for r in context.resolutions),
        "marking_done_stays_open": True,
    }


# -- addenda --------------------------------------------------------------------------------------------------------
def addendum_value(document: RecordDocument) -> Addendum:
    return Addendum.model_validate_json(document.snapshot or "{}")


def add_addendum(
    context: Any, meeting_id: int, who: Principal, text: str, now: datetime | None = None
) -> dict[str, Any]:
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, meeting_id)
        _roles_of(who, meeting.chair_id, meeting.clerk_id)
        record = record_document(session, meeting_id)
        if record is None or record.sealed_at is None:
            raise Rejected("record_not_sealed")
        minutes, _ = sealed_minutes(record)
        earlier = list(
            session.scalars(
                select(RecordDocument)
                .where(RecordDocument.meeting_id == meeting_id, RecordDocument.number > 0)
                .order_by(RecordDocument.number)
            )
        )
        if any(e.sealed_at is None for e in earlier):
            raise Rejected("addendum_pending")
        previous = addendum_value(earlier[-1]).content_sha256() if earlier else (record.content_sha256 or "")
        moment = now or datetime.now(UTC)
        writer = next((p.name for p in (minutes.chair, minutes.clerk) if p and p.member_id == who.member_id), who.name)
        addendum = Addendum(
            meeting_id=meeting_id,
            header=minutes.header,
            number=len(earlier) + 1,
            record_number=minutes.header.number,
            record_date=local_date(datetime.fromisoformat(minutes.started_at)).isoformat()
            if minutes.started_at
            else None,
            record_content_sha256=record.content_sha256 or "",
            previous_sha256=previous,
            text=text.strip(),
            written_by=writer,
            written_at=moment.isoformat(),
        )
        document = RecordDocument(
            meeting_id=meeting_id,
            number=addendum.number,
            text=addendum.text,
            created_by=who.member_id,
            created_at=moment,
            snapshot=addendum.canonical().decode("utf-8"),
        )
        session.add(document)
        session.flush()
        return record_status(session, meeting, None, record, context.settings.seal)


def sign_addendum(
    context: Any, meeting_id: int, number: int, who: Principal, password: str, now: datetime | None = None
) -> dict[str, Any]:
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, meeting_id)
        roles = _roles_of(who, meeting.chair_id, meeting.clerk_id)
        record = record_document(session, meeting_id)
        document = record_document(session, meeting_id, number) if number > 0 else None
        if record is None or document is None:
            raise Rejected("not_found", status=404, what="addendum")
        if document.sealed_at is not None:
            raise Rejected("record_sealed")
        _check_password(context, session, who, password)
        minutes, _ = sealed_minutes(record)
        addendum = addendum_value(document)
        content = addendum.content_sha256()
        moment = now or datetime.now(UTC)
        name = next((p.name for p in (minutes.chair, minutes.clerk) if p and p.member_id == who.member_id), who.name)
        _add_signatures(session, document, roles, who, name, content, moment)
        failure = None
        if _signed_roles(session, document, content) >= set(ROLES):
            signers = signers_for(session, document, content, *officers(minutes))
            mark = record_mark(meeting_id, number, content)
            try:
                layout = addendum_layout(addendum, signers, sealed=True, content_sha256=content)
                pdf, signed = _sealed_pdf(context.settings.seal, layout, moment, mark)
            except digital_seal.SealingFailed as exc:
                failure = exc  # as for the minutes: the signatures stay, signing again retries
            else:
                docx = render(
                    addendum_layout(addendum, signers, sealed=True, content_sha256=content), "docx", moment, mark
                )
                document.content_sha256 = content
                document.docx = docx
                document.docx_sha256 = hashlib.sha256(docx).hexdigest()
                _store_pdf(document, pdf, signed)
                document.journal_seq, document.journal_head = record.journal_seq, record.journal_head
                document.sealed_at = moment
                session.flush()
        status = record_status(session, meeting, None, record, context.settings.seal)
    if failure is not None:
        raise Rejected("record_seal_failed", status=503, detail=str(failure)[:300])
    return status


def addendum_draft_layout(session: Session, record: RecordDocument, document: RecordDocument) -> Layout:
    minutes, _ = sealed_minutes(record)
    addendum = addendum_value(document)
    content = addendum.content_sha256()
    signers = signers_for(session, document, content, *officers(minutes))
    return addendum_layout(addendum, signers, sealed=document.sealed_at is not None, content_sha256=content)


# -- edits refused once sealed --------------------------------------------------------------------------------------
def refuse_edits_when_sealed(sessions: sessionmaker[Session]):
    """A service guard: minute entries can no longer be written, revised or moved once the record is sealed.

    Sealing needs the meeting to have ended, so the database is asked only about minute commands on ended meetings;
    a sealed meeting is remembered (a seal is never undone)."""
    sealed: set[int] = set()

    def guard(meeting_id: int, state: MeetingState, command: Command, actor: Actor) -> None:
        if not isinstance(command, cmd.MINUTE_COMMANDS) or state.status != MeetingStatus.ENDED:
            return
        if meeting_id not in sealed:
            with sessions() as session:
                if not is_sealed(session, meeting_id):
                    return
            sealed.add(meeting_id)
        raise Rejected("record_sealed")

    return guard


# -- verification ---------------------------------------------------------------------------------------------------
def _check(name: str, ok: bool, detail: str = "") -> dict[str, Any]:
    return {"check": name, "ok": ok, "detail": detail}


def verify_record(session: Session, meeting_id: int) -> dict[str, Any]:
    """Re-derive the sealed record from the journal and compare every stored hash."""
    record = record_document(session, meeting_id)
    if record is None or record.sealed_at is None:
        raise Rejected("record_not_sealed")
    checks = []
    rows = list(
        session.scalars(select(JournalEvent).where(JournalEvent.meeting_id == meeting_id).order_by(JournalEvent.seq))
    )
    chain = journal.verify_rows(meeting_id, rows)
    checks.append(_check("journal_chain", chain.valid, chain.problem or f"{chain.length} events"))
    at_seal = [row for row in rows if row.seq <= (record.journal_seq or 0)]
    head_ok = bool(at_seal) and at_seal[-1].seq == record.journal_seq and at_seal[-1].hash == record.journal_head
    checks.append(_check("journal_head", head_ok, f"seq {record.journal_seq}"))
    snapshot_ok = False
    rebuilt_ok = False
    try:
        minutes, context = sealed_minutes(record)
        snapshot_ok = minutes.content_sha256() == record.content_sha256
        recorded = [journal.from_row(row) for row in at_seal]
        rebuilt_ok = bool(recorded) and assemble(recorded, context).content_sha256() == record.content_sha256
    except (ValueError, KeyError) as exc:
        checks.append(_check("snapshot_readable", False, str(exc)[:200]))
    checks.append(_check("snapshot_hash", snapshot_ok))
    checks.append(_check("minutes_from_journal", rebuilt_ok))
    checks.append(_check("docx_hash", hashlib.sha256(record.docx or b"").hexdigest() == record.docx_sha256))
    checks.append(_check("pdf_hash", hashlib.sha256(record.pdf or b"").hexdigest() == record.pdf_sha256))
    if record.pdf_signer is not None:
        checks.append(_pdf_seal_check("pdf_digital_seal", record.pdf or b""))
    previous = record.content_sha256
    for extra in session.scalars(
        select(RecordDocument)
        .where(RecordDocument.meeting_id == meeting_id, RecordDocument.number > 0)
        .order_by(RecordDocument.number)
    ):
        addendum = addendum_value(extra)
        name = f"addendum_{extra.number}"
        linked = addendum.previous_sha256 == previous and addendum.record_content_sha256 == record.content_sha256
        checks.append(_check(f"{name}_chain", linked))
        if extra.sealed_at is not None:
            files_ok = (
                addendum.content_sha256() == extra.content_sha256
                and hashlib.sha256(extra.docx or b"").hexdigest() == extra.docx_sha256
                and hashlib.sha256(extra.pdf or b"").hexdigest() == extra.pdf_sha256
            )
            checks.append(_check(f"{name}_hashes", files_ok))
            if extra.pdf_signer is not None:
                checks.append(_pdf_seal_check(f"{name}_digital_seal", extra.pdf or b""))
        previous = addendum.content_sha256()
    return {
        "meeting_id": meeting_id,
        "valid": all(c["ok"] for c in checks),
        "content_sha256": record.content_sha256,
        "journal_seq": record.journal_seq,
        "journal_head": record.journal_head,
        "sealed_at": _iso(record.sealed_at),
        "checks": checks,
    }


def _pdf_seal_check(name: str, pdf: bytes) -> dict[str, Any]:
    """The stored PDF's own signature still covers it, byte for byte (trust is the uploaded file's question)."""
    found = digital_seal.check_signature(pdf)
    ok = found["intact"] and found["valid"] and found["covers_whole_file"]
    return _check(name, ok, found["problem"] or f"{found['signer']}, {found['signed_at']}")


def _may_verify(session: Session, who: Principal, meeting: Meeting) -> bool:
    """Members of the branch, and the commune admin it reports to (who receives its records)."""
    if who.may_see_branch(meeting.branch_id):
        return True
    if who.is_admin and who.user_id is not None:
        user = session.get(User, who.user_id)
        branch = session.get(Branch, meeting.branch_id)
        return bool(
            user and user.is_admin and branch and branch.commune_id is not None and user.commune_id == branch.commune_id
        )
    return False


def claimed_mark(data: bytes) -> tuple[int, int, str] | None:
    """The record a file says it is (the mark in its properties), whether or not its bytes are intact."""
    found = MARK.search(data)
    if found is None and data[:2] == b"PK":
        try:
            with zipfile.ZipFile(BytesIO(data)) as package:
                found = MARK.search(package.read("docProps/core.xml"))
        except (zipfile.BadZipFile, KeyError, OSError):
            found = None
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), found.group(3).decode()


def journal_check(session: Session, data: bytes, record: RecordDocument) -> dict[str, Any]:
    """Does the journal the PDF carries equal the database's journal up to the sealed head?"""
    carried = digital_seal.embedded_journal(data, record.meeting_id)
    if carried is None:
        return {"present": False, "matches": False, "journal_seq": None, "journal_head": None}
    stored = journal.read(session, record.meeting_id, limit=record.journal_seq or 0)
    matches = canonical(carried) == digital_seal.journal_bytes(record.meeting_id, stored)
    return {
        "present": True,
        "matches": matches,
        "journal_seq": carried.get("journal_seq"),
        "journal_head": carried.get("journal_head"),
    }


def verify_file(session: Session, who: Principal, data: bytes, seal: SealSettings | None = None) -> dict[str, Any]:
    """Does this file match a sealed record (or addendum) the caller may see? Beside that, the file's digital
    seal (`digital_signature`, see `digital_seal.check_signature`; `trusted` is against CHIBO_SEAL_TRUST_ROOTS,
    `trust_roots_configured` says whether there are any) and, for a record the caller may see, whether the
    journal the PDF carries matches the database's (`embedded_journal`)."""
    digest = hashlib.sha256(data).hexdigest()
    roots = digital_seal.trust_roots(seal.trust_roots) if seal is not None and seal.trust_roots else ()
    answer: dict[str, Any] = {
        "sha256": digest,
        "size": len(data),
        "match": False,
        "digital_signature": {**digital_seal.check_signature(data, roots), "trust_roots_configured": bool(roots)},
        "embedded_journal": None,
    }
    found = session.scalars(
        select(RecordDocument).where(
            RecordDocument.sealed_at.is_not(None),
            or_(RecordDocument.docx_sha256 == digest, RecordDocument.pdf_sha256 == digest),
        )
    ).all()
    for document in found:
        meeting = session.get(Meeting, document.meeting_id)
        if meeting is None or not _may_verify(session, who, meeting):
            continue
        record = verify_record(session, document.meeting_id)
        answer.update(
            match=True,
            meeting_id=document.meeting_id,
            number=document.number,
            format="docx" if document.docx_sha256 == digest else "pdf",
            sealed_at=_iso(document.sealed_at),
            content_sha256=document.content_sha256,
            record_valid=record["valid"],
        )
        if document.number == 0 and data.startswith(b"%PDF-"):
            answer["embedded_journal"] = journal_check(session, data, document)
        return answer
    claim = claimed_mark(data)
    if claim is not None:
        meeting_id, number, content = claim
        meeting = session.get(Meeting, meeting_id)
        document = record_document(session, meeting_id, number) if meeting is not None else None
        if meeting is not None and document is not None and _may_verify(session, who, meeting):
            # The file names a record the caller may see, yet its bytes are not the sealed file's.
            answer.update(claims_meeting_id=meeting_id, claims_number=number, claims_content_sha256=content)
            record = record_document(session, meeting_id)
            if number == 0 and record is not None and record.sealed_at is not None and data.startswith(b"%PDF-"):
                answer["embedded_journal"] = journal_check(session, data, record)
    return answer


# -- helpers --------------------------------------------------------------------------------------------------------
def recordings_dir_of(settings: Any) -> str | None:
    from signaling.media.settings import MediaSettings

    try:
        return MediaSettings.from_env(settings.data_dir).recordings_dir
    except Exception:  # a misconfigured media plane must not keep the minutes from being made
        return None


def _moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment else None
