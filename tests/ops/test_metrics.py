"""Prometheus metrics: figures that follow what happens, served to the scraper only."""

from __future__ import annotations

from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.domain import Actor
from meeting.domain import commands as c


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "_total "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_count_journal_appends_and_need_the_scraper_token(context, branch, monkeypatch):
    app = create_app(context=context)
    client = TestClient(app)
    assert client.get("/metrics").status_code == 403  # not from this machine, and no token configured
    monkeypatch.setenv("CHIBO_METRICS_TOKEN", "scraper-token")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    headers = {"Authorization": "Bearer scraper-token"}
    before = _value(client.get("/metrics", headers=headers).text, "chibo_journal_events")
    context.service.execute(
        branch.meeting_id, c.CheckIn(member_id=branch.chair, mode="in_person"), Actor.member(branch.clerk)
    )
    text = client.get("/metrics", headers=headers).text
    assert _value(text, "chibo_journal_events") == before + 2  # the journal's opening, then the check-in
    assert _value(text, "chibo_connections") == 0
    assert "chibo_media_late_frames" in text
