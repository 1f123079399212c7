"""Prometheus metrics at /metrics: read from the live parts at scrape time, so they cost nothing between scrapes.

Only figures, never names or content: a scrape shows how many, not who or what.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from meeting.errors import Rejected
from meeting.journal import RecordedEvent


class JournalCounter:
    """Counts appended events; registered as a service listener (called inside the meeting's lock)."""

    def __init__(self) -> None:
        self.events = 0
        self.appends = 0

    def __call__(self, meeting_id: int, recorded: list[RecordedEvent]) -> None:
        self.appends += 1
        self.events += len(recorded)


class LiveCollector(Collector):
    def __init__(self, live, journal: JournalCounter) -> None:
        self.live = live
        self.journal = journal

    def collect(self) -> Iterator:
        hub = self.live.hub
        yield GaugeMetricFamily(
            "chibo_connections", "Open live connections", value=sum(len(room) for room in hub.rooms.values())
        )
        yield GaugeMetricFamily(
            "chibo_meetings_live", "Meetings with live connections on this node", value=len(hub.rooms)
        )
        yield GaugeMetricFamily(
            "chibo_meeting_leases", "Meeting leases this node holds", value=len(self.live.leases.held)
        )
        yield CounterMetricFamily("chibo_journal_appends", "Commands appended to journals", value=self.journal.appends)
        yield CounterMetricFamily("chibo_journal_events", "Events appended to journals", value=self.journal.events)
        yield CounterMetricFamily("chibo_frames_queued", "Frames queued for live clients", value=hub.delivered)
        media = getattr(self.live, "media", None)
        rooms = list(getattr(media, "rooms", {}).values()) if media is not None else []
        participants = sum(len(getattr(room, "peers", ()) or ()) for room in rooms)
        late = sum(getattr(getattr(room, "clock", None), "late", 0) for room in rooms)
        yield GaugeMetricFamily("chibo_media_participants", "Peer connections in media rooms", value=participants)
        yield CounterMetricFamily("chibo_media_late_frames", "Mixer ticks that started late", value=late)


def install(app) -> None:
    """Counts journal appends from now on and serves /metrics for this app (a registry of its own)."""
    live = app.state.live
    counter = JournalCounter()
    live.context.service.listeners.append(counter)
    registry = CollectorRegistry()
    registry.register(LiveCollector(live, counter))
    app.state.metrics_registry = registry


def metrics(request: Request) -> Response:
    """For the scraper: with `Authorization: Bearer $CHIBO_METRICS_TOKEN`, or from this machine when none is set."""
    expected = os.environ.get("CHIBO_METRICS_TOKEN", "")
    if expected:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Rejected("unauthenticated", status=401)
    elif request.client is None or request.client.host not in ("127.0.0.1", "::1"):
        raise Rejected("forbidden", status=403)
    registry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


routes: list[BaseRoute] = [Route("/metrics", metrics, methods=["GET"])]
