"""The browser apps: their pages, their static files, and the room's self check-in QR code.

Pages are HTML shells with no data in them (everything comes from the authenticated API and the hub), so
they are served to anyone. Static files are read once, gzipped once, and served from a versioned prefix
(`/static/v-<digest>/...`) that may be cached for a year: the digest changes whenever any file changes, and
modules import each other by relative paths so a page and its modules always come from one version.

The chair's or clerk's console opens the meeting's journal (`/web/meetings/{id}/open`) so the roster is live
for check-in at the door before the meeting starts.

Self check-in: the clerk's screen shows a QR code holding `/join#checkin=<meeting>.<code>`; the code is an
HMAC of the meeting and a ten-minute window, so a photo of the code sent to someone at home soon stops working.
A member who scans it with their signed-in phone is checked in as present in the room.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
import segno
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meeting import planning
from meeting.api.access import may_prepare
from meeting.api.common import ctx, parse_body, principal
from meeting.domain.commands import Actor, CheckIn
from meeting.domain.model import AttendanceMode
from meeting.errors import Rejected
from meeting.views import state_to_json

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
PAGES = {
    "/": "login.html",
    "/join": "member.html",
    "/chair": "chair.html",
    "/clerk": "clerk.html",
    "/hall": "hall.html",
    "/branch": "branch.html",
    "/members": "members.html",
    "/resolutions": "resolutions.html",
    "/stats": "stats.html",
    "/commune": "commune.html",
}
STATIC_PREFIX_MARK = "/static/"  # in page shells; rewritten to the versioned prefix
COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".json", ".txt", ".webmanifest"}
MIN_GZIP_BYTES = 512
CHECKIN_WINDOW_S = 600  # a self check-in code is good for this window and the one before it

# What a page may do: our own scripts and styles only, media and sockets to us, nothing framed. (`nosniff` and a
# policy for any other HTML are added to every response by meeting/app.py, EdgeHeaders.)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "microphone=(self), camera=(self), geolocation=()",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


class StaticFiles:
    """Every file under static/, loaded once (they are small: the member page is well under 300 KB)."""

    def __init__(self, root: Path = STATIC_ROOT) -> None:
        self.root = root
        self.assets: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(".") or "/." in relative:
                continue
            body = path.read_bytes()
            digest.update(relative.encode() + b"\0" + body)
            self.assets[relative] = make_asset(body, path.suffix)
        self.version = "v-" + digest.hexdigest()[:12]
        self.pages: dict[str, Asset] = {}
        for page in set(PAGES.values()):
            shell = self.assets.get(page)
            if shell is not None:
                text = shell.body.decode().replace(STATIC_PREFIX_MARK, f"/static/{self.version}/")
                self.pages[page] = make_asset(text.encode(), ".html")


def make_asset(body: bytes, suffix: str) -> Asset:
    content_type = mimetypes.types_map.get(suffix, "application/octet-stream")
    if suffix in (".js", ".mjs"):
        content_type = "text/javascript"  # what browsers want for ES modules, whatever the host's mime table says
    if content_type.startswith("text/") or suffix in (".js", ".json", ".svg"):
        content_type += "; charset=utf-8"
    gzipped = None
    if suffix in COMPRESSIBLE and len(body) >= MIN_GZIP_BYTES:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body=body, gzipped=gzipped, content_type=content_type, etag=etag)


def static_files(request: Request) -> StaticFiles:
    """One loaded copy per application (tests start several apps on one process)."""
    state = request.app.state
    files = getattr(state, "static_files", None)
    if files is None:
        files = StaticFiles()
        state.static_files = files
    return files


def asset_response(request: Request, asset: Asset, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if extra:
        headers.update(extra)
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)


def page(request: Request) -> Response:
    files = static_files(request)
    name = PAGES[request.url.path]
    asset = files.pages.get(name)
    if asset is None:
        raise Rejected("not_found", status=404, what="page")
    return asset_response(request, asset, "no-cache", PAGE_HEADERS)


def static(request: Request) -> Response:
    files = static_files(request)
    path: str = request.path_params["path"]
    version, _, rest = path.partition("/")
    if version == files.version:
        cache = "public, max-age=31536000, immutable"
    else:
        rest, cache = path, "no-cache"  # unversioned (or an old version's) URL: always revalidate
    asset = files.assets.get(rest)
    if asset is None or rest.endswith(".html"):
        raise Rejected("not_found", status=404, what="file")
    return asset_response(request, asset, cache)


# -- self check-in by QR code ----------------------------------------------------------------------------------
def checkin_code(secret: str, meeting_id: int, window: int) -> str:
    mac = hmac.new(secret.encode(), f"checkin:{meeting_id}:{window}".encode(), hashlib.sha256)
    return mac.hexdigest()[:16]


def current_window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // CHECKIN_WINDOW_S)


def valid_checkin_code(secret: str, meeting_id: int, code: str, now: float | None = None) -> bool:
    window = current_window(now)
    return any(hmac.compare_digest(checkin_code(secret, meeting_id, w), code) for w in (window, window - 1))


def _meeting_id(request: Request) -> int:
    try:
        return int(request.path_params["meeting_id"])
    except (KeyError, ValueError) as exc:
        raise Rejected("not_found", status=404, what="meeting") from exc


def checkin_qr(request: Request) -> Response:
    """The QR code for the room (SVG), for the clerk's screen; the page refreshes it before the window turns."""
    who = principal(request)
    meeting_id = _meeting_id(request)
    settings = ctx(request).settings
    with ctx(request).sessions() as session:
        meeting = planning.get_meeting(session, meeting_id)
        if not who.may_see_meeting(meeting.branch_id, meeting.id):
            raise Rejected("not_found", status=404, what="meeting")
        if not may_prepare(who, meeting):
            raise Rejected("clerk_only", status=403, action="show the check-in code")
    code = checkin_code(settings.secret_key, meeting_id, current_window())
    link = f"{settings.public_url.rstrip('/')}/join#checkin={meeting_id}.{code}"
    svg = qr_svg(link)
    headers = {"Cache-Control": "private, no-store", "X-Checkin-Link": link}
    return Response(svg, media_type="image/svg+xml; charset=utf-8", headers=headers)


def qr_svg(text: str) -> bytes:
    """A standalone SVG (with its namespace, so it also works as an <img>), sized by its viewBox."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out,
        kind="svg",
        scale=1,
        border=2,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,
    )
    return out.getvalue()


class CheckinBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(min_length=1, max_length=64)]


async def self_checkin(request: Request) -> JSONResponse:
    """A member who scanned the room's code is present in the room: the code is the proof that they are in the
    room rather than at home (without it, a member's own check-in records them online)."""
    who = principal(request)
    body = await parse_body(request, CheckinBody)
    meeting_id = _meeting_id(request)
    context = ctx(request)
    with context.sessions() as session:
        meeting = planning.get_meeting(session, meeting_id)
        if not who.may_see_meeting(meeting.branch_id, meeting.id):
            raise Rejected("not_found", status=404, what="meeting")
        may_open = may_prepare(who, meeting)
    if who.member_id is None:
        raise Rejected("not_in_roster", status=404)
    if not valid_checkin_code(context.settings.secret_key, meeting_id, body.code):
        raise Rejected("checkin_code_invalid", status=422)
    command = CheckIn(member_id=who.member_id, mode=AttendanceMode.IN_PERSON)
    command_id = f"qr-checkin:{who.member_id}:{body.code}"  # scanning twice checks in once
    in_room = Actor.member(who.member_id, in_room=True)
    await request.app.state.live.leases.ensure_owner(meeting_id)
    recorded = await context.service.execute_async(meeting_id, command, in_room, command_id, may_open=may_open)
    return JSONResponse({"seq": recorded[-1].seq if recorded else None, "mode": "in_person"})


async def open_meeting(request: Request) -> JSONResponse:
    """Open the meeting's journal from its plan (the clerk's console, before check-in at the door): from then
    on the roster and agenda are live and the plan can no longer be edited. Opening twice changes nothing."""
    who = principal(request)
    meeting_id = _meeting_id(request)
    context = ctx(request)
    with context.sessions() as session:
        meeting = planning.get_meeting(session, meeting_id)
        if not who.may_see_meeting(meeting.branch_id, meeting.id):
            raise Rejected("not_found", status=404, what="meeting")
        if not may_prepare(who, meeting):
            raise Rejected("clerk_only", status=403, action="open the meeting")
    await request.app.state.live.leases.ensure_owner(meeting_id)
    await anyio.to_thread.run_sync(context.service.open, meeting_id)
    state, seq = await anyio.to_thread.run_sync(context.service.state, meeting_id)
    return JSONResponse(state_to_json(state, seq))


def entry_revisions(request: Request) -> JSONResponse:
    """Every version of one minute entry, oldest first: the clerk's revision history."""
    who = principal(request)
    meeting_id = _meeting_id(request)
    context = ctx(request)
    with context.sessions() as session:
        meeting = planning.get_meeting(session, meeting_id)
        if not who.may_see_meeting(meeting.branch_id, meeting.id):
            raise Rejected("not_found", status=404, what="meeting")
    state, seq = context.service.state(meeting_id)
    entry = state.minutes.get(request.path_params["entry_id"])
    if entry is None:
        raise Rejected("unknown_entry", status=404)
    names = {p.member_id: p.name for p in state.roster.values()}
    return JSONResponse(
        {
            "entry_id": entry.id,
            "seq": seq,
            "revisions": [
                {"text": r.text, "at": r.at, "by": r.by, "by_name": names.get(r.by) if r.by else None}
                for r in entry.revisions
            ],
        },
        headers={"Cache-Control": "private, no-store"},
    )


routes: list[BaseRoute] = [
    *(Route(path, page, methods=["GET", "HEAD"]) for path in PAGES),
    Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    Route("/web/meetings/{meeting_id:int}/checkin-qr.svg", checkin_qr, methods=["GET"]),
    Route("/web/meetings/{meeting_id:int}/checkin", self_checkin, methods=["POST"]),
    Route("/web/meetings/{meeting_id:int}/open", open_meeting, methods=["POST"]),
    Route("/web/meetings/{meeting_id:int}/minutes/{entry_id}/revisions", entry_revisions, methods=["GET"]),
]
