"""What the record status tells the record page before anyone signs: what sealing will lock (`locks`), counted as
the record holds them, and that the locks are real once sealed (minute edits, resolutions and their 5 rõ items
refused; marking an item done still allowed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meeting.context import AppContext
from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.errors import Rejected
from tests.record import scenario as sc
from tests.record.test_seal import seal_it, setup  # noqa: F401  (setup is a fixture)

RECORD = "/api/meetings/{}/record"


def test_the_status_counts_what_sealing_locks_and_the_seal_locks_it(setup, context: AppContext):  # noqa: F811
    branch, held, client, callers = setup
    chair = callers["chair"].headers
    before = client.get(RECORD.format(held.meeting_id), headers=chair).json()
    assert before["locks"] == {
        "minute_entries": True,
        "resolutions": 0,
        "action_items": 0,
        "marking_done_stays_open": True,
    }

    sc.add_resolution(context, branch, held, datetime.now(UTC).date())
    drafted = client.get(RECORD.format(held.meeting_id), headers=chair).json()
    assert (drafted["locks"]["resolutions"], drafted["locks"]["action_items"]) == (1, 2)
    assert drafted["content_sha256"] != before["content_sha256"]  # the resolution is part of the minutes

    sealed = seal_it(client, held, callers)
    assert (sealed["locks"]["resolutions"], sealed["locks"]["action_items"]) == (1, 2)  # from the sealed snapshot

    # Each thing the page says is locked is refused; marking a task done is not.
    revise = c.ReviseEntry(entry_id=held.entry_ids[3], text="Sửa sau khi niêm phong")
    with pytest.raises(Rejected) as refused:
        context.service.execute(held.meeting_id, revise, Actor.member(branch.clerk))
    assert refused.value.code == "record_sealed"
    new_resolution = client.post(
        f"/api/meetings/{held.meeting_id}/resolutions", json={"title": "Nghị quyết bổ sung"}, headers=chair
    )
    assert new_resolution.json()["error"]["code"] == "record_sealed"
    changed = client.patch(f"/api/resolutions/{held.resolution_id}", json={"title": "Đổi tên"}, headers=chair)
    assert changed.json()["error"]["code"] == "record_sealed"
    task = {
        "assignee_id": branch.officials[2],
        "task": "Việc thêm",
        "deadline": (datetime.now(UTC).date() + timedelta(days=5)).isoformat(),
        "responsible": "Chi ủy",
        "expected_result": "Xong",
    }
    added = client.post(f"/api/resolutions/{held.resolution_id}/actions", json=task, headers=chair)
    assert added.json()["error"]["code"] == "record_sealed"
    edited = client.patch(f"/api/actions/{held.action_ids[0]}", json={"task": "Đổi việc"}, headers=chair)
    assert edited.json()["error"]["code"] == "record_sealed"
    done = client.patch(f"/api/actions/{held.action_ids[0]}", json={"done": True}, headers=chair)
    assert done.status_code == 200 and done.json()["status"] == "done"
