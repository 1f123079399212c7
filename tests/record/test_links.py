"""Opinions point at the meeting's recording where the speaker began, from the recorder's sidecar; the record
viewer's and verifier's pages are empty shells that load their script."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from meeting import journal
from meeting.app import create_app
from meeting.context import AppContext
from meeting.db.models import Meeting
from meeting.domain import events as ev
from meeting.record import seal
from meeting.record.assemble import recording_links
from tests.factories import seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text


def test_an_opinion_links_to_the_second_its_speaker_began_in_the_recording(context: AppContext, tmp_path: Path):
    branch = seed_branch(context.sessions, officials=7)
    names = sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch)
    with context.sessions() as session:
        recorded = journal.read(session, held.meeting_id)
    grants = [r for r in recorded if isinstance(r.event, ev.FloorGranted)]
    # The recorder's sidecar, as signaling.media.recorder writes it: each change of who is heard, with its seq.
    folder = tmp_path / "recordings"
    folder.mkdir()
    sidecar = {
        "meeting_id": held.meeting_id,
        "audio": f"meeting-{held.meeting_id}-20261120T123000Z.ogg",
        "changes": [
            {"seq": g.seq, "member_id": g.event.member_id, "offset_s": 600.0 + 95.5 * i} for i, g in enumerate(grants)
        ],
    }
    (folder / f"meeting-{held.meeting_id}-20261120T123000Z.json").write_text(json.dumps(sidecar), encoding="utf-8")
    (folder / f"meeting-{held.meeting_id}-broken.json").write_text("{not json", encoding="utf-8")  # ignored
    links = recording_links(str(folder), held.meeting_id)
    assert sorted(links) == [g.seq for g in grants]
    with context.sessions() as session:
        meeting = session.get(Meeting, held.meeting_id)
        draft = seal.make_draft(session, meeting, recorded, str(folder))
        text = docx_text(seal.render(seal.draft_layout(session, draft, None), "docx", sc.now(), "test"))
    speaker = names[branch.officials[3]]  # the second speaker: 600 + 95.5 s = 00:11:35
    assert f"Đồng chí {speaker} (" in text
    # The body gives the offset only; the file is named once, in the appendix (tests/record/test_order_recordings.py).
    assert f"ghi âm 00:11:35): {sc.OPINION_2}" in text
    assert text.count(f"meeting-{held.meeting_id}-20261120T123000Z.ogg") == 1
    assert recording_links(str(tmp_path / "missing"), held.meeting_id) == {}


def test_the_viewer_and_verifier_pages_are_shells_with_their_script(context: AppContext):
    client = TestClient(create_app(context=context))
    page = client.get("/web/meetings/7/record")
    assert page.status_code == 200 and 'data-meeting="7"' in page.text and "/web/record/record.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    static = page.text.split('data-static="')[1].split('"')[0]
    for module in ("js/common.js", "js/i18n.js", "js/net.js", "js/recordsigners.js", "css/app.css"):
        assert client.get(static + module).status_code == 200  # the shared modules the script imports
    verify = client.get("/web/record/verify")
    assert 'type="file"' in verify.text and 'data-i18n="record.verifyTitle"' in verify.text
    script = client.get("/web/record/record.js")
    assert script.headers["content-type"].startswith("text/javascript") and "/api/records/verify" in script.text
