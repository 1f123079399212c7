"""The fan-out: every connection of a meeting receives that meeting's journal events in sequence order.

Each event is serialised once and the same text is queued for every connection. Queues are bounded: a
connection that cannot keep up is told to resync and dropped, so it never delays the others; it
catches up from the journal when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

from starlette.websockets import WebSocket

from meeting.errors import Rejected
from meeting.journal import RecordedEvent
from meeting.service import MeetingService
from signaling import protocol

log = logging.getLogger("chibo.hub")

# WebSocket close codes (4000-4999 are the application's own); PROTOCOL.md lists them.
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_REDIRECT = 4010
CLOSE_REVOKED = 4011  # the session ended (sign-out, password or role change, deactivation): sign in again
CLOSE_GOING_AWAY = 1001
CLOSE_SERVICE_RESTART = 1012  # this node is shutting down: reconnect now, another node takes over
CLOSE_TRY_AGAIN_LATER = 1013  # the meeting's lease is pending here (`lease_pending`): reconnect after a back-off
CLOSE_INTERNAL = 1011

# Told on the event loop, in sequence order, after the events were queued for the clients.
Observer = Callable[[int, list[RecordedEvent]], None]


class Connection:
    """One browser's socket. All frames after the catch-up go through its queue, sent by one task."""

    def __init__(
        self,
        ws: WebSocket,
        meeting_id: int,
        member_id: int | None,
        role: str,
        queue_limit: int,
        user_id: int | None = None,
        token_epoch: int = 0,
    ) -> None:
        self.ws = ws
        self.meeting_id = meeting_id
        self.member_id = member_id
        self.role = role
        # The account whose token opened it, and that account's epoch then: closed when the epoch moves.
        self.user_id = user_id
        self.token_epoch = token_epoch
        self.may_open = False  # its token may open the meeting's journal (meeting.api.access.may_prepare)
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(maxsize=queue_limit)
        self.last_sent = 0  # the highest journal seq this client has been sent
        self.sender: asyncio.Task | None = None
        self.dropped = False
        self.over = asyncio.Event()  # set when nothing more can be sent: the endpoint stops reading too

    def offer(self, seq: int, text: str) -> bool:
        """Queue a frame without waiting; False when the queue is full (the client is too slow)."""
        try:
            self.queue.put_nowait((seq, text))
            return True
        except asyncio.QueueFull:
            return False

    def start_sender(self) -> None:
        self.sender = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        queue = self.queue
        try:
            while True:
                seq, text = await queue.get()
                while True:  # then whatever else is waiting, without going back to sleep in between
                    if not seq or seq > self.last_sent:  # else: already sent during the catch-up
                        await self.ws.send_text(text)
                        if seq:
                            self.last_sent = seq
                    if queue.empty():
                        break
                    seq, text = queue.get_nowait()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone under us (uvicorn's ClientDisconnected, or closed state)
            self.over.set()


class Hub:
    def __init__(self, service: MeetingService, queue_limit: int = 512, last_words_s: float = 10.0) -> None:
        self.service = service
        self.queue_limit = queue_limit
        # A dropped client's socket is usually full: its "resync" frame and close code wait this long for room.
        self.last_words_s = last_words_s
        self.rooms: dict[int, set[Connection]] = defaultdict(set)
        self.observers: list[Observer] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0  # frames queued for clients, for the metrics
        self._closing: set[asyncio.Task] = set()
        self._appended: deque[tuple[int, list[tuple[int, str]], list[RecordedEvent]]] = deque()
        self._appended_lock = threading.Lock()
        self._wake_pending = False

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.service.listeners.append(self._on_append)

    async def stop(self, timeout: float = 1.0) -> None:
        """The node is shutting down: each client is sent what its queue holds (its commands' events and
        results), then `resync: server_shutdown` and close 1012; one that does not read is cut off after
        `timeout`."""
        if self._on_append in self.service.listeners:
            self.service.listeners.remove(self._on_append)
        for connection in self.everyone():
            self._spawn_close(
                connection, CLOSE_SERVICE_RESTART, protocol.resync("server_shutdown"), timeout=timeout, flush=True
            )
        if self._closing:  # slow clients dropped earlier may still be waiting out their own, longer bound
            await asyncio.wait(set(self._closing), timeout=timeout)

    # -- membership --------------------------------------------------------------------------------------------
    def register(self, connection: Connection) -> None:
        self.rooms[connection.meeting_id].add(connection)

    def unregister(self, connection: Connection) -> None:
        room = self.rooms.get(connection.meeting_id)
        if room is not None:
            room.discard(connection)
            if not room:
                del self.rooms[connection.meeting_id]
        if connection.sender is not None:
            connection.sender.cancel()

    def connections(self, meeting_id: int) -> list[Connection]:
        return list(self.rooms.get(meeting_id, ()))

    def close_meeting(self, meeting_id: int) -> None:
        """Another node took the meeting over: send its clients away to reconnect (and be redirected)."""
        for connection in self.connections(meeting_id):
            self._spawn_close(connection, CLOSE_REDIRECT, protocol.resync("moved"), timeout=self.last_words_s)

    def everyone(self) -> list[Connection]:
        return [connection for room in self.rooms.values() for connection in room]

    def close_revoked(self, connections: Sequence[Connection]) -> None:
        """Their sessions ended: an error frame `token_revoked`, then close 4011 (the page goes to sign-in)."""
        last_frame = protocol.error(Rejected("token_revoked", status=401))
        for connection in connections:
            if not connection.dropped:
                log.info(
                    "closing a revoked session of member %s in meeting %s", connection.member_id, connection.meeting_id
                )
                self._spawn_close(connection, CLOSE_REVOKED, last_frame, timeout=self.last_words_s)

    # -- fan-out -----------------------------------------------------------------------------------------------
    def _on_append(self, meeting_id: int, recorded: list[RecordedEvent]) -> None:
        """Called by the service inside the meeting's lock, from any thread: serialise once, hand to the loop.

        Appends wait in one FIFO, so each meeting's stay in sequence order, and one wake-up of the loop takes
        all that arrived meanwhile (waking the loop from a thread costs a system call and a turn of the GIL).
        The events are queued for the clients before the command's own result, which the loop sees later."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        frames = [(r.seq, protocol.event(r.to_json())) for r in recorded]
        with self._appended_lock:
            self._appended.append((meeting_id, frames, recorded))
            if self._wake_pending:
                return
            self._wake_pending = True
        loop.call_soon_threadsafe(self._fan_out_appended)

    def _fan_out_appended(self) -> None:
        with self._appended_lock:
            appended = list(self._appended)
            self._appended.clear()
            self._wake_pending = False
        for meeting_id, frames, recorded in appended:
            self.fan_out(meeting_id, frames, recorded)

    def fan_out(self, meeting_id: int, frames: list[tuple[int, str]], recorded: Sequence[RecordedEvent] = ()) -> None:
        for connection in list(self.rooms.get(meeting_id, ())):
            for seq, text in frames:
                if not connection.offer(seq, text):
                    self.drop_slow(connection)
                    break
                self.delivered += 1
        for observer in self.observers:
            try:
                observer(meeting_id, list(recorded))
            except Exception:  # an observer's fault must not stop the fan-out of the next events
                log.exception("hub observer failed for meeting %s", meeting_id)

    def send(self, connection: Connection, text: str) -> None:
        """A frame that is not a journal event (result, error, ping, pong): same queue, same bound."""
        if not connection.dropped and not connection.offer(0, text):
            self.drop_slow(connection)

    def drop_slow(self, connection: Connection) -> None:
        if connection.dropped:
            return
        log.info("dropping a slow client of meeting %s (member %s)", connection.meeting_id, connection.member_id)
        self._spawn_close(connection, CLOSE_TOO_SLOW, protocol.resync("too_slow"), timeout=self.last_words_s)

    def _spawn_close(
        self, connection: Connection, code: int, last_frame: str, timeout: float, flush: bool = False
    ) -> None:
        connection.dropped = True
        self.unregister(connection)  # at once: from here on it receives nothing and delays nobody
        task = asyncio.get_running_loop().create_task(self._close(connection, code, last_frame, timeout, flush))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(connection: Connection, code: int, last_frame: str, timeout: float, flush: bool) -> None:
        """The last frame and the close code, after whatever the socket already holds (and, with `flush`, the
        frames still queued); the client reads them when it reads again. One that never does is cut off
        after `timeout`."""

        async def last_words() -> None:
            if flush:
                await Hub._flush(connection)
            await connection.ws.send_text(last_frame)
            await connection.ws.close(code)

        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(last_words(), timeout=timeout)
        finally:
            connection.over.set()

    @staticmethod
    async def _flush(connection: Connection) -> None:
        """Send what the (stopped) sender left queued, in order. A sender stopped while it waited for room in the
        socket (a client not reading) took its frame with it: past such a hole in the events nothing more is
        sent, and the client catches up from the journal when it reconnects."""
        if connection.sender is None:
            return  # still catching up from the journal: it reconnects with what it has
        await asyncio.wait({connection.sender})
        queue = connection.queue
        while not queue.empty():
            seq, text = queue.get_nowait()
            if seq and seq <= connection.last_sent:
                continue  # sent during the catch-up
            if seq and seq != connection.last_sent + 1:
                return
            await connection.ws.send_text(text)
            if seq:
                connection.last_sent = seq
