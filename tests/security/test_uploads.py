"""A file over the limit is refused (413) and leaves nothing behind: no file in the store, no row; whether the
body says its length or not, raw or as a form; the same for every route that takes a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meeting.api.record_routes import MAX_UPLOAD
from meeting.db.models import Document
from meeting.documents import MAX_DOCUMENT_BYTES
from tests.api.world import World

PDF_HEAD = b"%PDF-1.4\n1 0 obj<<>>endobj\n"
SMALL_LIMIT = 64 * 1024


def pdf_of(size: int) -> bytes:
    return PDF_HEAD + b"%" * (size - len(PDF_HEAD))


def in_chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    """A body without Content-Length (chunked): the limit must hold while it is read."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stored(world: World) -> tuple[int, list[Path]]:
    with world.context.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Document))
    root = Path(world.context.settings.data_dir)
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return rows, files


def _upload_url(world: World, name: str = "bao-cao.pdf") -> str:
    return f"/api/prep/meetings/{world.a.meeting_id}/documents?filename={name}"


def _too_large(response) -> None:
    assert response.status_code == 413, response.text[:200]
    assert response.json()["error"]["code"] in ("document_too_large", "bad_request")


def test_raw_upload_one_byte_over_25_mib_is_refused_and_nothing_is_stored(world: World):
    headers = world.headers("secretary")
    before = stored(world)
    data = pdf_of(MAX_DOCUMENT_BYTES + 1)
    _too_large(world.client.post(_upload_url(world), content=data, headers=headers))
    _too_large(world.client.post(_upload_url(world), content=in_chunks(data), headers=headers))
    assert stored(world) == before


@pytest.fixture
def small_limit(world: World) -> Iterator[int]:
    world.context.settings.extra["max_document_bytes"] = str(SMALL_LIMIT)
    yield SMALL_LIMIT
    del world.context.settings.extra["max_document_bytes"]


@pytest.mark.parametrize("form", [False, True])
@pytest.mark.parametrize("chunked", [False, True])
def test_every_way_over_the_limit_is_refused_and_at_the_limit_is_taken(
    world: World, small_limit: int, form: bool, chunked: bool
):
    headers = world.headers("secretary")

    def send(data: bytes):
        if form:  # a multipart form: its framing is sent as the body, with or without a length
            from httpx2 import Request

            built = Request("POST", "http://x/", files={"file": ("bao-cao.pdf", data, "application/pdf")})
            body = built.read()
            content_type = built.headers["content-type"]
            payload = in_chunks(body) if chunked else body
            return world.client.post(
                _upload_url(world, ""), content=payload, headers={**headers, "Content-Type": content_type}
            )
        return world.client.post(_upload_url(world), content=in_chunks(data) if chunked else data, headers=headers)

    before = stored(world)
    for size in (small_limit + 1, small_limit + 4096, 4 * small_limit):
        _too_large(send(pdf_of(size)))
    assert stored(world) == before
    taken = send(pdf_of(small_limit))
    assert taken.status_code == 201, taken.text
    assert taken.json()["size"] == small_limit
    rows, files = stored(world)
    assert rows == before[0] + 1 and len(files) == len(before[1]) + 1
    assert max(files, key=lambda p: p.stat().st_mtime).read_bytes() == pdf_of(small_limit)  # whole, not cut short


@pytest.mark.parametrize("form", [False, True])
def test_record_verify_upload_over_its_limit_is_refused(world: World, form: bool):
    headers = world.headers("secretary")
    data = pdf_of(MAX_UPLOAD + 1)
    if form:
        response = world.client.post("/api/records/verify", files={"file": ("x.pdf", data)}, headers=headers)
    else:
        response = world.client.post("/api/records/verify", content=in_chunks(data), headers=headers)
    _too_large(response)


def test_form_fields_with_nul_are_refused(world: World):
    response = world.client.post(
        _upload_url(world, ""),
        files={"file": ("a.pdf", pdf_of(1000), "application/pdf")},
        data={"title": "Báo cáo\x00"},
        headers=world.headers("secretary"),
    )
    assert response.status_code == 422, response.text
    assert stored(world)[0] == 0
