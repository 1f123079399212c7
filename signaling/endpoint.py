"""The WebSocket endpoint /ws/meetings/{id}: hello and authentication, catch-up, then commands in and
events out until the socket closes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jwt
from pydantic import ValidationError
from sqlalchemy import select
from starlette.websockets import WebSocket, WebSocketDisconnect

from meeting.api.access import may_prepare
from meeting.auth import Principal, check_not_revoked, current_epoch, decode_access_token, decode_invite_token
from meeting.cluster import Leases, wait_seconds
from meeting.context import AppContext
from meeting.db.models import Meeting, Member, User
from meeting.domain import Actor, parse_command
from meeting.errors import Rejected
from meeting.settings import _positive_int
from meeting.views import state_to_json
from signaling import protocol
from signaling.hub import (
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_NOT_FOUND,
    CLOSE_REDIRECT,
    CLOSE_REVOKED,
    CLOSE_SERVICE_RESTART,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    Connection,
    Hub,
)
from signaling.media.signal import MediaSignaling
from signaling.presence import Presence

log = logging.getLogger("chibo.live")


class _InvalidUtf8IsTheClients(logging.Filter):
    """uvicorn logs a text frame that is not UTF-8 as an ERROR with a traceback, though it closes the socket
    correctly (1007): the fault is the client's, not ours. Such a record becomes one DEBUG line without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Invalid UTF-8 sequence received from client.":
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg, record.args = "a client sent a text frame that is not UTF-8: closed with 1007", ()
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


logging.getLogger("uvicorn.error").addFilter(_InvalidUtf8IsTheClients())


@dataclass
class LiveSettings:
    hello_timeout_s: float = 10.0
    ping_interval_s: float = 15.0
    idle_timeout_s: float = 45.0  # nothing heard for this long (not even a pong): the peer is gone
    replay_limit: int = 2000  # further behind than this, a snapshot is cheaper than the events
    leave_grace_s: float = 20.0  # a phone's network blip shorter than this is not a departure
    hand_grace_s: float = 120.0  # a raised hand keeps its place this long after its member dropped
    queue_limit: int = 512  # frames waiting for one client before it is dropped as too slow
    last_words_s: float = 10.0  # how long a dropped client's "resync" frame waits for room in its socket
    # Commands from live connections run on a few threads of their own: the journal takes one writer per meeting
    # (SQLite one writer in all), and fewer runnable threads leave the event loop the interpreter sooner.
    command_threads: int = 8
    # How often the interpreter lets another thread run (Python's default is 5 ms): shorter, the event loop
    # waits less behind the command threads before it can fan their events out (bench/fanout.py).
    switch_interval_s: float | None = 0.001
    # SIGTERM: the longest this node takes to hand its meetings over (commands under way answered, leases
    # released, clients sent away) before the process exits.
    drain_s: float = 5.0
    # How often each node checks that the sessions behind its open sockets have not ended (signed out elsewhere,
    # deactivated, password or role changed: meeting/auth.py). The node where the change is made checks at once.
    revocation_check_s: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LiveSettings:
        """The grace periods operators may want to change (README, configuration); the rest are the defaults."""
        env = os.environ if env is None else env
        return cls(
            leave_grace_s=_positive_int(env, "CHIBO_LEAVE_GRACE_SECONDS", "20"),
            hand_grace_s=_positive_int(env, "CHIBO_HAND_GRACE_SECONDS", "120"),
            drain_s=_positive_int(env, "CHIBO_DRAIN_SECONDS", "5"),
        )


@dataclass
class Live:
    """The live side's parts, kept on the app's state."""

    context: AppContext
    hub: Hub
    presence: Presence
    leases: Leases
    settings: LiveSettings
    media: Any = None  # the media plane's signalling (signaling/media): `rtc` frames go to its handle()
    executor: ThreadPoolExecutor | None = None
    _switch_interval: float | None = None  # the interpreter's own, given back at stop
    draining: bool = False  # shutting down: no new connection, no new command (see drain)
    _running: int = 0  # live commands under way, over WebSockets and HTTP
    _idle: asyncio.Event = field(default_factory=asyncio.Event)  # set while none is
    _revocations: asyncio.Event = field(default_factory=asyncio.Event)  # set: check the sockets' sessions now
    _revocation_watch: asyncio.Task | None = None

    @classmethod
    def create(cls, context: AppContext, settings: LiveSettings | None = None) -> Live:
        settings = settings or LiveSettings.from_env()
        app_settings = context.settings
        hub = Hub(context.service, settings.queue_limit, settings.last_words_s)
        leases = Leases(
            context.sessions,
            context.service,
            node_id=app_settings.node_id,
            node_url=app_settings.node_url,
            lease_seconds=app_settings.lease_seconds,
            active=lambda: set(hub.rooms),
        )
        presence = Presence(context.service, settings.leave_grace_s, settings.hand_grace_s, owns=leases.owns)
        hub.observers.append(presence.on_events)
        leases.on_lost.append(hub.close_meeting)
        leases.on_taken.append(presence.taken)
        return cls(
            context=context,
            hub=hub,
            presence=presence,
            leases=leases,
            settings=settings,
            media=MediaSignaling.from_context(context, hub),
        )

    async def start(self) -> None:
        self.draining = self.leases.draining = False
        self.presence.start()
        self._idle = asyncio.Event()  # of this loop (an app may be started again, by tests, on another)
        self._idle.set()
        self.executor = ThreadPoolExecutor(self.settings.command_threads, thread_name_prefix="chibo-live")
        if self.settings.switch_interval_s is not None:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self.settings.switch_interval_s)
        self.hub.start()
        self.leases.start()
        self._revocations = asyncio.Event()
        self._revocation_watch = asyncio.get_running_loop().create_task(self._watch_revocations())
        if self.media is not None:
            await self.media.start()

    def revocations_changed(self) -> None:
        """Some sessions just ended on this node (from any thread): close their sockets without waiting."""
        loop = self.hub.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._revocations.set)

    async def _watch_revocations(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._revocations.wait(), timeout=self.settings.revocation_check_s)
            self._revocations.clear()
            try:
                await self.check_revocations()
            except Exception:  # the database is away: the next round tries again
                log.exception("checking the live sessions for revocations failed")

    async def check_revocations(self) -> None:
        """Close every socket whose account's token epoch has moved since it connected: two indexed queries for
        all of this node's sockets, so other nodes' revocations reach here within `revocation_check_s`."""
        connections = self.hub.everyone()
        if not connections:
            return
        epochs = await asyncio.to_thread(_current_epochs, self.context, connections)
        self.hub.close_revoked([c for c in connections if epochs.get(_account_of(c)) != c.token_epoch])

    @contextlib.contextmanager
    def command_running(self) -> Iterator[None]:
        """Around each live command, until its answer is queued or sent: the drain waits for these."""
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def drain(self) -> None:
        """Hand this node's meetings over to the other nodes and lose nothing (SIGTERM, meeting/cli.py).

        1. No new connection is taken and no new command is run: a new socket is sent away, a command frame
           is left unanswered (its client sends it again, same id, where it reconnects), an HTTP command is
           answered 503 `node_draining` (meeting/app.py). Closings are no longer departures (presence).
        2. The commands already running finish and their answers are queued; presence records what it was
           about to. Only then may another node append.
        3. The leases are released, so the clients' next connection, on any node, takes the meetings at once.
        4. Every client gets what its queue holds, then `resync: server_shutdown` and close 1012.
        All within `settings.drain_s`, of which step 2 may take 60 %, the rest being for the clients' last
        frames. Commands still running then (a stalled database) keep this node's leases, which lapse on
        their own: another node must not append before they end."""
        if self.draining:
            return
        self.draining = self.leases.draining = True
        self.presence.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.drain_s
        settling = asyncio.gather(self._idle.wait(), self.presence.settle())
        try:
            await asyncio.wait_for(settling, timeout=self.settings.drain_s * 0.6)
            settled = True
        except TimeoutError:
            settled = False
            log.warning("live commands still running at the drain bound: this node's leases are left to lapse")
        try:
            await asyncio.wait_for(self.leases.stop(release=settled), timeout=max(deadline - loop.time(), 0.1))
        except TimeoutError:
            log.warning("releasing the leases took too long: they lapse instead")
        await self.hub.stop(timeout=max(deadline - loop.time(), 0.5))

    async def stop(self) -> None:
        await self.drain()  # already done when uvicorn ran the drain on SIGTERM
        if self._revocation_watch is not None:
            self._revocation_watch.cancel()
            self._revocation_watch = None
        if self.media is not None:
            await self.media.stop()  # every peer connection closed, recordings finished
        await self.presence.stop()
        await self.hub.stop()
        await self.leases.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=False)
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)


def _account_of(connection: Connection) -> tuple[str, int | None]:
    """Whose epoch a socket's token carries: its login's, or (none) its roster entry's (meeting/auth.py)."""
    return ("user", connection.user_id) if connection.user_id is not None else ("member", connection.member_id)


def _current_epochs(context: AppContext, connections: list[Connection]) -> dict[tuple[str, int | None], int]:
    user_ids = {c.user_id for c in connections if c.user_id is not None}
    member_ids = {c.member_id for c in connections if c.user_id is None and c.member_id is not None}
    epochs: dict[tuple[str, int | None], int] = {}
    with context.sessions() as session:
        if user_ids:
            rows = session.execute(select(User.id, User.token_epoch).where(User.id.in_(user_ids)))
            epochs.update({("user", user_id): epoch for user_id, epoch in rows})
        if member_ids:
            rows = session.execute(select(Member.id, Member.token_epoch).where(Member.id.in_(member_ids)))
            epochs.update({("member", member_id): epoch for member_id, epoch in rows})
    return epochs


def _is_invite(token: str) -> bool:
    """Which kind of token this says it is, only to pick the decoder (which then checks the signature)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ") == "invite"
    except jwt.PyJWTError:
        return False


def _authenticate(context: AppContext, token: str, meeting_id: int) -> tuple[Principal, Meeting]:
    secret = context.settings.secret_key
    if not _is_invite(token):
        who = decode_access_token(token, secret)  # token_expired tells the page to renew it and come back
        with context.sessions() as session:
            check_not_revoked(session, who)  # signed out, deactivated, password or role changed since
    else:
        invite = decode_invite_token(token, secret)
        with context.sessions() as session:
            member = session.get(Member, invite.member_id)
            if member is None or not member.active:
                raise Rejected("invite_invalid", status=401) from None
            invited = session.get(Meeting, invite.meeting_id)
            if invited is not None and invited.status == "ended":  # as the exchange: the link no longer joins it
                raise Rejected("meeting_ended", status=410)
            who = Principal(
                member.user_id,
                member.id,
                member.branch_id,
                member.role,
                meeting_id=invite.meeting_id,
                name=member.full_name,
            )
            # The link itself stays a key until the member is deactivated; the socket follows the account's epoch.
            who = dataclasses.replace(who, token_epoch=current_epoch(session, who) or 0)
    with context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None or not who.may_see_meeting(meeting.branch_id, meeting_id):
            raise Rejected("not_found", status=404, what="meeting")
        session.expunge(meeting)
    return who, meeting


async def live_endpoint(ws: WebSocket) -> None:
    live: Live = ws.app.state.live
    meeting_id = int(ws.path_params["meeting_id"])
    await ws.accept()
    if live.draining:  # this node is shutting down: not a member's presence here, try another node
        await _send_away(ws)
        return
    try:
        frame = protocol.parse(await _receive(ws, live.settings.hello_timeout_s))
        if not isinstance(frame, protocol.Hello):
            raise Rejected("hello_first", status=401)
        who, meeting = await asyncio.to_thread(_authenticate, live.context, frame.token, meeting_id)
    except (TimeoutError, ClientGone, WebSocketDisconnect):
        await _refuse(ws, Rejected("hello_first", status=401), CLOSE_UNAUTHENTICATED)
        return
    except Rejected as exc:
        code = {404: CLOSE_NOT_FOUND, 403: CLOSE_FORBIDDEN}.get(exc.status, CLOSE_UNAUTHENTICATED)
        if exc.code == "token_revoked":
            code = CLOSE_REVOKED
        await _refuse(ws, exc, code)
        return
    except Exception:  # a fault on our side (the database could not be read): say so, with a close frame
        log.exception("checking the hello for meeting %s failed", meeting_id)
        await _refuse(ws, Rejected("internal", status=500), CLOSE_INTERNAL)
        return
    if frame.role == "hall" and not (
        who.member_id in (meeting.chair_id, meeting.clerk_id) or who.may_manage_branch(meeting.branch_id)
    ):
        await _refuse(ws, Rejected("hall_not_allowed", status=403), CLOSE_FORBIDDEN)
        return
    try:
        owner = await asyncio.to_thread(live.leases.claim, meeting_id)
    except Rejected:  # node_draining: the drain began while the token was checked
        await _send_away(ws)
        return
    if live.draining:  # began while the lease was claimed: the drain releases it
        await _send_away(ws)
        return
    if owner is not None and live.leases.at_own_address(owner):  # a redirect here would only come back here
        wait = Rejected("lease_pending", status=503, retry_after=wait_seconds(owner))
        await _refuse(ws, wait, CLOSE_TRY_AGAIN_LATER)
        return
    if owner is not None:  # another node runs this meeting: go there
        with contextlib.suppress(Exception):
            await ws.send_text(protocol.redirect(f"{_ws_base(owner.node_url)}/ws/meetings/{meeting_id}", owner.node_id))
            await ws.close(CLOSE_REDIRECT)
        return
    connection = Connection(
        ws,
        meeting_id,
        who.member_id,
        frame.role,
        live.hub.queue_limit,
        user_id=who.user_id,
        token_epoch=who.token_epoch,
    )
    connection.may_open = may_prepare(who, meeting)  # whose first command may open the meeting's journal
    await _serve(ws, live, connection, frame.last_seq)


def _ws_base(http_url: str) -> str:
    return "ws" + http_url.rstrip("/")[4:] if http_url.startswith("http") else http_url.rstrip("/")


async def _send_away(ws: WebSocket) -> None:
    """What a client connected during the drain is told, as those already connected are told it."""
    with contextlib.suppress(Exception):
        await ws.send_text(protocol.resync("server_shutdown"))
        await ws.close(CLOSE_SERVICE_RESTART)


async def _refuse(ws: WebSocket, error: Rejected, code: int) -> None:
    """The error frame, then the close frame, whose reason is the error's code (`bad_frame`, `token_invalid`, ...)."""
    with contextlib.suppress(Exception):
        await ws.send_text(protocol.error(error))
        await ws.close(code, reason=error.code)


async def _serve(ws: WebSocket, live: Live, connection: Connection, last_seq: int | None) -> None:
    hub = live.hub
    meeting_id = connection.meeting_id
    # Registered before reading the journal: whatever is appended meanwhile waits in the queue, and the
    # sender skips what the catch-up already sent, so the client sees no gap and no duplicate.
    hub.register(connection)
    presence_member = connection.member_id if connection.role == "member" else None
    tasks: list[asyncio.Task] = []
    counted = False  # presence is told of this connection's end only if it was told of its start
    try:
        await _catch_up(ws, live, connection, last_seq)
        if connection.dropped:
            await connection.over.wait()  # fell behind during the catch-up: its last words are on their way
            return
        connection.start_sender()
        if presence_member is not None:
            live.presence.connected(meeting_id, presence_member)
            counted = True
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(_read_loop(ws, live, connection)),
            loop.create_task(_heartbeat(live, connection)),
            loop.create_task(connection.over.wait()),  # dropped as too slow, or the socket failed under the sender
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if connection.dropped:
            await connection.over.wait()  # the hub is saying its last words to this client (bounded)
    except (WebSocketDisconnect, RuntimeError, ClientGone):
        pass  # the client went away during the catch-up
    except Exception:  # the journal could not be read: the client reconnects and tries again
        log.exception("live connection to meeting %s failed", meeting_id)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(CLOSE_INTERNAL), timeout=1.0)
    finally:
        for task in tasks:
            task.cancel()
        hub.unregister(connection)
        connection.over.set()
        if counted and presence_member is not None:
            live.presence.disconnected(meeting_id, presence_member)
        if live.media is not None:
            live.media.disconnected(connection)


class ClientGone(Exception):
    """The socket closed: nothing more to read."""


async def _receive(ws: WebSocket, timeout: float) -> str | bytes:
    """The next frame as text (or bytes, which the protocol refuses); `ClientGone` when the socket closed."""
    message = await asyncio.wait_for(ws.receive(), timeout=timeout)
    if message["type"] == "websocket.disconnect":
        raise ClientGone
    text = message.get("text")
    return text if text is not None else (message.get("bytes") or b"")


async def _read_loop(ws: WebSocket, live: Live, connection: Connection) -> None:
    while True:
        try:
            data = await _receive(ws, live.settings.idle_timeout_s)
        except TimeoutError:
            if connection.dropped:
                return  # already being closed by the hub
            # Not even a pong to our pings: a phone that lost its network without closing the socket.
            log.info("nothing heard from member %s of meeting %s: closing", connection.member_id, connection.meeting_id)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(CLOSE_GOING_AWAY), timeout=1.0)
            return
        except (ClientGone, WebSocketDisconnect, RuntimeError):
            return
        await _handle(live, connection, data)


async def _catch_up(ws: WebSocket, live: Live, connection: Connection, last_seq: int | None) -> None:
    service = live.context.service
    state, head = await asyncio.to_thread(service.state, connection.meeting_id)
    await ws.send_text(protocol.welcome(connection.meeting_id, connection.member_id, connection.role, head))
    if last_seq is None or last_seq > head or head - last_seq > live.settings.replay_limit:
        await ws.send_text(protocol.snapshot(head, state_to_json(state, head)))
        connection.last_sent = head
        return
    missed = await asyncio.to_thread(service.events_after, connection.meeting_id, last_seq)
    for recorded in missed:
        if connection.dropped:
            return
        await ws.send_text(protocol.event(recorded.to_json()))
    connection.last_sent = missed[-1].seq if missed else last_seq


async def _handle(live: Live, connection: Connection, data: str | bytes) -> None:
    hub = live.hub
    try:
        frame = protocol.parse(data)
    except Rejected as exc:
        hub.send(connection, protocol.error(exc))
        return
    if isinstance(frame, protocol.Ping):
        hub.send(connection, protocol.PONG)
    elif isinstance(frame, protocol.Pong):
        pass  # any frame resets the idle timer
    elif isinstance(frame, protocol.CommandFrame):
        if live.draining:
            return  # neither run nor answered: its client sends it again, same id, to the node it reconnects to
        with live.command_running():
            hub.send(connection, await _run_command(live, connection, frame))
    elif isinstance(frame, protocol.Hello):
        hub.send(connection, protocol.error(Rejected("bad_frame", status=400, detail="hello was already received")))
    elif live.media is None:
        hub.send(connection, protocol.error(Rejected("bad_frame", status=400, detail="media is not enabled")))
    else:
        await live.media.handle(connection, frame)


async def _run_command(live: Live, connection: Connection, frame: protocol.CommandFrame) -> str:
    """The result frame. The command's events reach every connection (this one too) before its result:
    the journal's listener queues them before `execute_async` returns."""
    try:
        # A hall or console connection acts as the member whose token opened it (as HTTP would with that token);
        # its role only says that it is not that member's presence.
        if connection.member_id is None:
            raise Rejected("forbidden", status=403)
        try:
            command = parse_command(frame.command)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "command"
            raise Rejected("bad_frame", status=400, detail=f"{where}: {first['msg']}") from exc
        run = functools.partial(
            live.context.service.execute,
            connection.meeting_id,
            command,
            Actor.member(connection.member_id),
            frame.id,
            may_open=connection.may_open,
        )
        recorded = await asyncio.get_running_loop().run_in_executor(live.executor, run)
        return protocol.result_ok(frame.id, [r.seq for r in recorded])
    except Rejected as exc:
        return protocol.result_error(frame.id, exc)
    except Exception:  # a fault on our side: the client keeps its command queued and retries with the same id
        log.exception("command %s failed in meeting %s", frame.command.get("type"), connection.meeting_id)
        return protocol.result_error(frame.id, Rejected("internal", status=500))


async def _heartbeat(live: Live, connection: Connection) -> None:
    while True:
        await asyncio.sleep(live.settings.ping_interval_s)
        live.hub.send(connection, protocol.PING)
