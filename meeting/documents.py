"""Meeting documents: upload (type checked by content, size limited), storage behind one interface (local disk
or S3-compatible object storage), distribution to the participants, and the log of who opened what and when.

The type is decided by the bytes, never by the name alone: a file whose name says .pdf but whose content is
a ZIP archive is refused, and the content type served back is the sniffed one.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meeting.db.models import Document, DocumentAccess, Meeting, Member
from meeting.errors import Rejected
from meeting.settings import Settings

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024  # a long scanned report fits; a video does not


class DocumentKind(StrEnum):
    DRAFT_REPORT = "draft_report"  # dự thảo báo cáo / nghị quyết: the 3-working-day rule applies to it
    SLIDES = "slides"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileType:
    label: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("PDF", "application/pdf", ("pdf",))
DOCX = FileType("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
PPTX = FileType("PPTX", "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",))
ODT = FileType("ODT", "application/vnd.oasis.opendocument.text", ("odt",))
ODP = FileType("ODP", "application/vnd.oasis.opendocument.presentation", ("odp",))
PNG = FileType("PNG", "image/png", ("png",))
JPEG = FileType("JPEG", "image/jpeg", ("jpg", "jpeg"))
ACCEPTED = (PDF, DOCX, PPTX, ODT, ODP, PNG, JPEG)
_BY_EXTENSION = {ext: t for t in ACCEPTED for ext in t.extensions}


def sniff(data: bytes) -> FileType | None:
    """The file's type from its content, or None when it is not one we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if b"%PDF-" in data[:1024]:  # readers accept a little junk before the header; so do we
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    return None


def _sniff_zip(data: bytes) -> FileType | None:
    """Office documents are ZIP packages: look at the parts that name what they are (nothing is unpacked but
    the tiny OpenDocument `mimetype` entry)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "ppt/presentation.xml" in names:
                    return PPTX
                return None
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                return {ODT.content_type: ODT, ODP.content_type: ODP}.get(mimetype)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    return None


def clean_filename(filename: str) -> str:
    """A name safe to store and to send back: no folders, no control characters, not too long."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190 - len(ext)] + dot + ext) if dot and len(ext) <= 8 else name[:200]
    return name


def too_large(limit: int) -> Rejected:
    """The refusal of a file over `limit` bytes, the limit in megabytes to three significant digits (never "0")."""
    return Rejected("document_too_large", status=413, limit_mb=float(f"{limit / (1024 * 1024):.3g}"))


def check_upload(filename: str, data: bytes, limit: int = MAX_DOCUMENT_BYTES) -> tuple[str, FileType]:
    """Refuse empty, oversized and unaccepted files, and files whose name lies about their content."""
    if not data:
        raise Rejected("document_empty", status=422)
    if len(data) > limit:
        raise too_large(limit)
    detected = sniff(data)
    if detected is None:
        raise Rejected("document_type_refused", status=415)
    name = clean_filename(filename)
    stem, dot, extension = name.rpartition(".")
    extension = extension.lower() if dot and stem else ""
    if not extension:
        name = f"{name or 'tai-lieu'}.{detected.extensions[0]}"
    elif _BY_EXTENSION.get(extension) is not detected:
        raise Rejected("document_type_mismatch", status=415, detected=detected.label, extension=extension)
    return name, detected


# -- storage ----------------------------------------------------------------------------------------------------
class DocumentStore(Protocol):
    """Where document bytes live. Keys are made by this module: lowercase letters, digits, '/', '-'."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


_KEY = re.compile(r"^[a-z0-9][a-z0-9/-]{0,250}$")


def _check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key or "//" in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalDiskStore:
    """Files under a folder (settings.data_dir/documents by default). Writes are atomic: a crash leaves
    either the whole file or none."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise Rejected("not_found", status=404, what="file") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class ObjectStore:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph...). `client` is a boto3 S3 client or anything with the
    same put_object / get_object / delete_object calls."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise Rejected("not_found", status=404, what="file") from exc
            raise
        return response["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def store_from_settings(settings: Settings) -> DocumentStore:
    """Local disk unless CHIBO_DOCUMENT_STORE=s3 (then CHIBO_S3_BUCKET, and optionally CHIBO_S3_ENDPOINT,
    CHIBO_S3_REGION, CHIBO_S3_PREFIX; credentials the usual AWS way). Settings.extra overrides the environment."""

    def option(name: str, default: str = "") -> str:
        return settings.extra.get(name.lower()) or os.environ.get(f"CHIBO_{name}", default)

    if option("DOCUMENT_STORE", "local") == "s3":
        import boto3  # only needed where object storage is configured

        client = boto3.client("s3", endpoint_url=option("S3_ENDPOINT") or None, region_name=option("S3_REGION") or None)
        return ObjectStore(client, option("S3_BUCKET"), option("S3_PREFIX"))
    return LocalDiskStore(Path(settings.data_dir) / "documents")


# -- documents of a meeting ----------------------------------------------------------------------------------------
def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def upload(
    session: Session,
    store: DocumentStore,
    *,
    meeting_id: int,
    filename: str,
    data: bytes,
    kind: str = DocumentKind.OTHER,
    title: str = "",
    user_id: int | None = None,
    limit: int = MAX_DOCUMENT_BYTES,
    now: datetime | None = None,
) -> Document:
    """Check and store a document of a meeting. It stays with the branch's managers until distributed."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    try:
        kind = DocumentKind(kind)
    except ValueError as exc:
        raise Rejected("bad_request", status=422, detail=f"kind: one of {', '.join(DocumentKind)}") from exc
    name, file_type = check_upload(filename, data, limit)
    key = f"b{meeting.branch_id}/m{meeting.id}/{uuid.uuid4().hex}"
    store.put(key, data, file_type.content_type)
    try:
        document = Document(
            branch_id=meeting.branch_id,
            meeting_id=meeting.id,
            filename=name,
            content_type=file_type.content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            uploaded_by=user_id,
            uploaded_at=now or datetime.now(UTC),
            kind=kind,
            title=" ".join((title or "").split())[:300] or name,
        )
        session.add(document)
        session.flush()
    except Exception:
        store.delete(key)  # no row, no file: nothing half-done is left behind
        raise
    return document


def get_document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise Rejected("not_found", status=404, what="document")
    return document


def distribute(
    session: Session,
    meeting_id: int,
    document_ids: list[int] | None = None,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> list[Document]:
    """Hand documents to the meeting's participants (all not yet distributed, or the ones named). From now
    on members see them in their list; the first distribution time is kept (it is what the deadline judges)."""
    now = now or datetime.now(UTC)
    query = select(Document).where(Document.meeting_id == meeting_id)
    if document_ids is not None:
        query = query.where(Document.id.in_(document_ids))
    documents = list(session.scalars(query.order_by(Document.id)))
    if document_ids is not None and len(documents) != len(set(document_ids)):
        raise Rejected("not_found", status=404, what="document")
    for document in documents:
        if document.distributed_at is None:
            document.distributed_at, document.distributed_by = now, user_id
    session.flush()
    return documents


def delete_document(session: Session, store: DocumentStore, document: Document) -> None:
    """Only a document members have not received may be deleted (what was distributed stays on record)."""
    if document.distributed_at is not None:
        raise Rejected("document_distributed")
    key = document.storage_key
    session.delete(document)
    session.flush()
    store.delete(key)


def open_document(
    session: Session,
    store: DocumentStore,
    document: Document,
    *,
    user_id: int | None,
    member_id: int | None,
    now: datetime | None = None,
) -> bytes:
    """The document's bytes; the opening is logged for the chair."""
    data = store.get(document.storage_key)
    session.add(
        DocumentAccess(
            document_id=document.id, user_id=user_id, member_id=member_id, opened_at=now or datetime.now(UTC)
        )
    )
    session.flush()
    return data


def document_to_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "meeting_id": document.meeting_id,
        "kind": document.kind,
        "title": document.title,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_at": _aware(document.uploaded_at).isoformat(),
        "distributed_at": document.distributed_at and _aware(document.distributed_at).isoformat(),
    }


def meeting_documents(session: Session, meeting_id: int, *, distributed_only: bool) -> list[Document]:
    query = select(Document).where(Document.meeting_id == meeting_id)
    if distributed_only:
        query = query.where(Document.distributed_at.is_not(None))
    return list(session.scalars(query.order_by(Document.uploaded_at, Document.id)))


def access_report(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """For each document of the meeting: who opened it (first and last time, how often) and which active
    members of the branch have not opened it yet."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    members = {
        m.id: m.full_name
        for m in session.scalars(
            select(Member).where(Member.branch_id == meeting.branch_id, Member.active.is_(True)).order_by(Member.id)
        )
    }
    documents = meeting_documents(session, meeting_id, distributed_only=False)
    rows = session.execute(
        select(
            DocumentAccess.document_id,
            DocumentAccess.member_id,
            func.min(DocumentAccess.opened_at),
            func.max(DocumentAccess.opened_at),
            func.count(),
        )
        .where(DocumentAccess.document_id.in_([d.id for d in documents]))
        .group_by(DocumentAccess.document_id, DocumentAccess.member_id)
    ).all()
    readers: dict[int, list[dict[str, Any]]] = {}
    for document_id, member_id, first, last, times in rows:
        readers.setdefault(document_id, []).append(
            {
                "member_id": member_id,
                "name": members.get(member_id, "") if member_id is not None else "",
                "first_opened_at": _aware(first).isoformat(),
                "last_opened_at": _aware(last).isoformat(),
                "times": times,
            }
        )
    report = []
    for document in documents:
        opened = sorted(readers.get(document.id, []), key=lambda r: r["first_opened_at"])
        seen = {r["member_id"] for r in opened}
        report.append(
            {
                **document_to_json(document),
                "opened_by": opened,
                "not_opened": [{"member_id": mid, "name": name} for mid, name in members.items() if mid not in seen],
            }
        )
    return report
