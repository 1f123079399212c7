"""Recording references in the body are short ("ghi âm 00:11:35", seconds from the start of the file); the files
themselves are listed once, in an appendix at the end (name, duration when known, size, SHA-256), in PDF, DOCX and
HTML alike. The SHA-256 expected here is computed by the test from the file it wrote."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

from meeting import journal
from meeting.context import AppContext
from meeting.db.models import Meeting
from meeting.domain import events as ev
from meeting.record import seal
from meeting.record.html import render_html
from tests.factories import seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text, pdf_text, squash
from tests.record.test_minutes import ARTIFACTS, START

MOMENT = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


def sidecar(folder: Path, meeting_id: int, stamp: str, grants: list, offsets: list[float], **extra) -> Path:
    """A recording and its index as signaling.media.recorder leaves them; the audio is bytes of our own."""
    audio = folder / f"meeting-{meeting_id}-{stamp}.ogg"
    audio.write_bytes(os.urandom(1_234_567) + stamp.encode())
    index = {
        "meeting_id": meeting_id,
        "audio": audio.name,
        "changes": [
            {"seq": g.seq, "member_id": g.event.member_id, "offset_s": o} for g, o in zip(grants, offsets, strict=True)
        ],
        **extra,
    }
    (folder / f"meeting-{meeting_id}-{stamp}.json").write_text(json.dumps(index), encoding="utf-8")
    return audio


def texts(context: AppContext, meeting_id: int, folder: Path) -> dict[str, str]:
    with context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        draft = seal.make_draft(session, meeting, journal.read(session, meeting_id), str(folder))
        layout = seal.draft_layout(session, draft, None)
        pdf = seal.render(layout, "pdf", MOMENT, "test")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bien-ban-ghi-am.pdf").write_bytes(pdf)  # to look at: the appendix is the last page
        return {
            "pdf": pdf_text(pdf),
            "docx": docx_text(seal.render(layout, "docx", MOMENT, "test")),
            "html": squash(unescape(re.sub(r"<[^>]+>", " ", render_html(layout)))).replace(" :", ":"),
        }


def held_with_grants(context: AppContext):
    branch = seed_branch(context.sessions, officials=7)
    names = sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch, start=START)
    with context.sessions() as session:
        grants = [r for r in journal.read(session, held.meeting_id) if isinstance(r.event, ev.FloorGranted)]
    assert len(grants) == 3  # the scenario's three speakers
    return branch, names, held, grants


def test_two_recordings_are_numbered_in_the_body_and_listed_once_with_their_sha256(context: AppContext, tmp_path):
    branch, names, held, grants = held_with_grants(context)
    folder = tmp_path / "recordings"
    folder.mkdir()
    # The room was reopened during the meeting: the first two speakers are in one file, the third in another.
    first = sidecar(
        folder, held.meeting_id, "20261120T123000Z", grants[:2], [600.0, 695.5], duration_s=5025.0, complete=True
    )
    second = sidecar(folder, held.meeting_id, "20261120T140000Z", grants[2:], [61.2], duration_s=80.0, complete=False)
    for fmt, text in texts(context, held.meeting_id, folder).items():
        assert f"Đồng chí {names[branch.officials[3]]} (" in text
        assert f"; ghi âm số 1, 00:11:35): {sc.OPINION_2}" in text, fmt
        assert f"; ghi âm số 2, 00:01:01): {sc.OPINION_3_FINAL}" in text, fmt
        appendix = text.index("PHỤ LỤC: TỆP GHI ÂM")
        assert appendix > text.index("THƯ KÝ"), f"{fmt}: the appendix comes after the signatures"
        for audio in (first, second):
            assert text.count(audio.name) == 1, f"{fmt}: {audio.name} named once"
            assert text.index(audio.name) > appendix
            digest = hashlib.sha256(audio.read_bytes()).hexdigest()
            assert text.count(digest) == 1, f"{fmt}: {audio.name}'s SHA-256"
            grouped = f"{audio.stat().st_size:,}".replace(",", ".")  # 1.234.583
            assert f"dung lượng {grouped} byte (1,2 MB)" in text, fmt
        # The duration only where the recorder closed the file: a count from an unfinished file is not its length.
        assert f"{first.name}: thời lượng 01:23:45; dung lượng" in text, fmt
        assert f"{second.name}: dung lượng" in text, fmt
        assert "tính từ đầu tệp ghi âm" in text, fmt


def test_one_recording_gives_the_bare_offset_and_a_missing_file_is_said_to_be_missing(context: AppContext, tmp_path):
    _branch, _names, held, grants = held_with_grants(context)
    folder = tmp_path / "recordings"
    folder.mkdir()
    audio = sidecar(folder, held.meeting_id, "20261120T123000Z", grants, [600.0, 695.5, 800.0])
    text = texts(context, held.meeting_id, folder)["docx"]
    assert f"; ghi âm 00:11:35): {sc.OPINION_2}" in text
    assert "ghi âm số" not in text
    assert text.count(hashlib.sha256(audio.read_bytes()).hexdigest()) == 1
    assert "thời lượng" not in text  # the index gives no duration
    audio.unlink()  # the index outlived its audio
    text = texts(context, held.meeting_id, folder)["html"]
    assert f"{audio.name}: không tìm thấy tệp trong kho ghi âm khi lập biên bản." in text
    assert "SHA-256: " not in text.split("PHỤ LỤC")[1]


def test_without_recordings_there_is_no_appendix(context: AppContext, tmp_path):
    _branch, _names, held, _grants = held_with_grants(context)
    text = texts(context, held.meeting_id, tmp_path)["docx"]
    assert "PHỤ LỤC" not in text and "ghi âm" not in text
