"""Documents: content sniffing, size limit, both stores, distribution, the access log."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from meeting import documents as docs
from meeting import planning
from meeting.db.models import Document, DocumentAccess, Meeting
from meeting.errors import Rejected
from tests.factories import seed_branch
from tests.prep import samples


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (samples.PDF, "PDF"),
        (samples.DOCX, "DOCX"),
        (samples.PPTX, "PPTX"),
        (samples.ODT, "ODT"),
        (samples.PNG, "PNG"),
        (samples.JPEG, "JPEG"),
        (samples.EXE, None),
        (samples.HTML, None),
        (samples.XLSX, None),
        (samples.PLAIN_ZIP, None),
        (b"PK\x03\x04 broken zip", None),
    ],
)
def test_type_is_sniffed_from_the_content(data, label):
    found = docs.sniff(data)
    assert (found.label if found else None) == label


def test_a_name_that_lies_about_the_content_is_refused():
    with pytest.raises(Rejected) as refused:
        docs.check_upload("bao-cao.pdf", samples.DOCX)
    assert refused.value.code == "document_type_mismatch" and refused.value.status == 415
    assert refused.value.params == {"detected": "DOCX", "extension": "pdf"}
    with pytest.raises(Rejected) as refused:
        docs.check_upload("bao-cao.pdf", samples.EXE)
    assert refused.value.code == "document_type_refused"


def test_size_and_emptiness_are_checked():
    with pytest.raises(Rejected) as refused:
        docs.check_upload("a.pdf", samples.PDF + b"\x00" * 2048, limit=1024 * 1024 // 512)
    assert refused.value.code == "document_too_large" and refused.value.status == 413
    # The limit in each language's own way of writing a decimal.
    said = refused.value.to_json()["error"]
    assert "0,00195 MB" in said["message"] and "0.00195 MB" in said["message_en"], said
    with pytest.raises(Rejected) as refused:
        docs.check_upload("a.pdf", b"")
    assert refused.value.code == "document_empty"


def test_filenames_are_cleaned_and_completed():
    assert docs.check_upload("../../etc/Dự thảo\x00 báo cáo.PDF", samples.PDF)[0] == "Dự thảo báo cáo.PDF"
    assert docs.check_upload("C:\\Users\\x\\slide.pptx", samples.PPTX)[0] == "slide.pptx"
    assert docs.check_upload("anh-chup", samples.JPEG)[0] == "anh-chup.jpg"
    assert docs.check_upload("", samples.PDF)[0] == "tai-lieu.pdf"
    long_name = "a" * 300 + ".docx"
    cleaned = docs.check_upload(long_name, samples.DOCX)[0]
    assert len(cleaned) <= 200 and cleaned.endswith(".docx")


def test_local_disk_store_round_trip_and_refuses_bad_keys(tmp_path):
    store = docs.LocalDiskStore(tmp_path / "documents")
    store.put("b1/m2/abc", b"data", "application/pdf")
    assert store.get("b1/m2/abc") == b"data"
    assert [p.name for p in (tmp_path / "documents" / "b1" / "m2").iterdir()] == ["abc"]  # no temp file left
    store.delete("b1/m2/abc")
    with pytest.raises(Rejected) as refused:
        store.get("b1/m2/abc")
    assert refused.value.status == 404
    for key in ("../x", "/etc/passwd", "b1/../../x", "B1/x"):
        with pytest.raises(ValueError):
            store.put(key, b"x", "text/plain")


class FakeS3Error(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeS3:
    """The three calls ObjectStore makes, with boto3's argument names and answers."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put_object(self, *, Bucket, Key, Body, ContentType):
        self.objects[(Bucket, Key)] = (bytes(Body), ContentType)

    def get_object(self, *, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise FakeS3Error("NoSuchKey")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)][0])}

    def delete_object(self, *, Bucket, Key):
        self.objects.pop((Bucket, Key), None)


def test_object_store_behind_the_same_interface():
    client = FakeS3()
    store = docs.ObjectStore(client, "chibo", prefix="/docs/")
    store.put("b1/m1/k", samples.PDF, "application/pdf")
    assert client.objects[("chibo", "docs/b1/m1/k")] == (samples.PDF, "application/pdf")
    assert store.get("b1/m1/k") == samples.PDF
    store.delete("b1/m1/k")
    with pytest.raises(Rejected) as refused:
        store.get("b1/m1/k")
    assert refused.value.status == 404


def test_store_from_settings_is_local_disk_under_data_dir(settings):
    store = docs.store_from_settings(settings)
    assert isinstance(store, docs.LocalDiskStore)
    assert str(store.root).startswith(settings.data_dir)


def test_upload_distribute_open_and_the_access_log(context, branch, settings):
    store = docs.store_from_settings(settings)
    t0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    reader, other = branch.officials[2], branch.officials[3]
    with context.sessions.begin() as session:
        draft = docs.upload(
            session,
            store,
            meeting_id=branch.meeting_id,
            filename="du-thao-nghi-quyet.docx",
            data=samples.DOCX,
            kind="draft_report",
        )
        slides = docs.upload(session, store, meeting_id=branch.meeting_id, filename="slide.pptx", data=samples.PPTX)
        assert docs.meeting_documents(session, branch.meeting_id, distributed_only=True) == []
        docs.distribute(session, branch.meeting_id, [draft.id], now=t0)
        docs.distribute(session, branch.meeting_id, None, now=t0 + timedelta(days=1))  # the rest; draft keeps t0
        for when, who in ((t0 + timedelta(hours=3), reader), (t0 + timedelta(days=2), reader)):
            data = docs.open_document(session, store, draft, user_id=None, member_id=who, now=when)
            assert data == samples.DOCX
        draft_id, slides_id = draft.id, slides.id
    with context.sessions() as session:
        stored = session.get(Document, draft_id)
        assert docs._aware(stored.distributed_at) == t0
        assert stored.content_type == docs.DOCX.content_type and stored.size == len(samples.DOCX)
        assert len(docs.meeting_documents(session, branch.meeting_id, distributed_only=True)) == 2
        report = {entry["id"]: entry for entry in docs.access_report(session, branch.meeting_id)}
    opened = report[draft_id]["opened_by"]
    assert [(r["member_id"], r["times"]) for r in opened] == [(reader, 2)]
    assert opened[0]["first_opened_at"] == (t0 + timedelta(hours=3)).isoformat()
    assert opened[0]["last_opened_at"] == (t0 + timedelta(days=2)).isoformat()
    not_opened = [r["member_id"] for r in report[draft_id]["not_opened"]]
    assert reader not in not_opened and other in not_opened
    assert report[slides_id]["opened_by"] == []


def test_a_distributed_document_cannot_be_deleted_an_undistributed_one_can(context, branch, settings):
    store = docs.store_from_settings(settings)
    with context.sessions.begin() as session:
        kept = docs.upload(session, store, meeting_id=branch.meeting_id, filename="a.pdf", data=samples.PDF)
        docs.distribute(session, branch.meeting_id)
        dropped = docs.upload(session, store, meeting_id=branch.meeting_id, filename="b.png", data=samples.PNG)
        dropped_key = dropped.storage_key
        with pytest.raises(Rejected) as refused:
            docs.delete_document(session, store, kept)
        assert refused.value.code == "document_distributed"
        docs.delete_document(session, store, dropped)
    with pytest.raises(Rejected):
        store.get(dropped_key)
    with context.sessions() as session:
        assert [d.filename for d in docs.meeting_documents(session, branch.meeting_id, distributed_only=False)] == [
            "a.pdf"
        ]
        assert session.query(DocumentAccess).count() == 0


def test_refused_upload_leaves_nothing_behind(context, branch, settings, tmp_path):
    store = docs.LocalDiskStore(tmp_path / "docs")
    with context.sessions.begin() as session, pytest.raises(Rejected):
        docs.upload(session, store, meeting_id=branch.meeting_id, filename="x.pdf", data=samples.EXE)
    with context.sessions.begin() as session, pytest.raises(Rejected) as refused:
        docs.upload(session, store, meeting_id=branch.meeting_id, filename="x.pdf", data=samples.PDF, kind="video")
    assert refused.value.status == 422
    assert not (tmp_path / "docs").exists()
    with context.sessions() as session:
        assert session.query(Document).count() == 0


def test_distributing_the_draft_clears_the_thematic_warning(context, settings):
    thematic = seed_branch(context.sessions, code="cb-cd", kind="thematic")
    store = docs.store_from_settings(settings)
    with context.sessions.begin() as session:
        meeting = session.get(Meeting, thematic.meeting_id)
        meeting.scheduled_at = datetime(2026, 2, 24, 1, 0, tzinfo=UTC)  # Tuesday after Tết 2026
        draft = docs.upload(
            session, store, meeting_id=meeting.id, filename="du-thao.pdf", data=samples.PDF, kind="draft_report"
        )
        docs.distribute(session, meeting.id, [draft.id], now=datetime(2026, 2, 12, 9, 0, tzinfo=UTC))
        codes = [w.code for w in planning.plan_warnings(session, meeting)]
    assert "warn_draft_not_distributed" not in codes and "warn_draft_late" not in codes
