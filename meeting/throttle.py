"""Slowing down password guessing: failed sign-ins are counted per account and address, and per address.

Every check of a password counts here, in the same counts: signing in, signing the record or an addendum
(meeting/record/seal.py), changing one's password (meeting/api/auth_routes.py). A password re-entered by someone
already signed in is counted against the account's username and the caller's address (`caller_address`, set when
the request's token is checked), so 5 wrong signatures also hold up signing in from there, and the other way round.
The address is the peer's own unless it is a proxy named in FORWARDED_ALLOW_IPS (`chibo serve`; default: none).

The counts live in this process's memory. That is enough for what they stop (someone trying passwords one after
another from one place); with several nodes each counts its own share, so the limits are per node. Keying the
per-account count by the address too means a stranger cannot lock the chair out before a meeting by failing on
purpose from elsewhere; the per-address count stops one address trying many accounts.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from contextvars import ContextVar

from meeting.errors import Rejected

# The address of the request being served (meeting/api/common.py principal()), for password checks made deeper down.
caller_address: ContextVar[str] = ContextVar("caller_address", default="unknown")


class LoginThrottle:
    def __init__(
        self,
        per_account: int = 5,
        per_address: int = 30,
        window_s: float = 15 * 60,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self.max_keys = max_keys  # a flood of made-up usernames cannot grow memory without bound
        self.clock = clock
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # sign-ins are checked in worker threads

    def check(self, username: str, address: str, code: str = "too_many_attempts") -> None:
        """Refuse (429, with the seconds to wait) when either count is at its limit within the window."""
        now = self.clock()
        with self._lock:
            wait = max(
                self._wait(_account(username, address), self.per_account, now),
                self._wait(("addr", address), self.per_address, now),
            )
        if wait > 0:
            seconds = math.ceil(wait)
            raise Rejected(code, status=429, retry_after=seconds, minutes=math.ceil(seconds / 60))

    def verify(self, username: str, address: str, attempt: Callable[[], bool]) -> bool:
        """A password re-entered by a signed-in caller: refused (429 too_many_password_attempts) while the counts
        are at their limit, else `attempt()` (the hash check) is run and counted like a sign-in."""
        self.check(username, address, code="too_many_password_attempts")
        matches = attempt()
        if matches:
            self.succeeded(username, address)
        else:
            self.failed(username, address)
        return matches

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (_account(username, address), ("addr", address)):
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times  # most recently failed last: the oldest are evicted first
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """The right password clears this account's count from this address (not the address's own count)."""
        with self._lock:
            self._failures.pop(_account(username, address), None)

    def _wait(self, key: tuple[str, ...], limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        # Blocked until enough of the failures in the window have aged out to leave room for one more try.
        return times[len(times) - limit] + self.window_s - now


def _account(username: str, address: str) -> tuple[str, ...]:
    return ("account", username.strip().casefold(), address)
