"""Sign-in throttling: failed password checks per username and per client address.

Counts live in this process only (each replica keeps its own). Memory is bounded: at most
``max_keys`` usernames and addresses, each with at most its limit of timestamps; the least
recently seen key is forgotten first.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from registry.errors import TooManyRequests
from registry.models_base import NAME_RE


@dataclass(frozen=True)
class Attempt:
    """A password check under way; it counts as a failure unless it is ``forgiven``."""

    user_key: str | None
    address_key: str
    at: float


def address_key(host: str | None) -> str:
    """The client's address as counted: IPv6 clients by their /64 (one host's usual share)."""
    if not host:
        return "addr:unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "addr:" + host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"addr:{ip}"


class SignInThrottle:
    """Sliding-window limits on failed sign-ins, per username and per client address.

    An attempt is counted when it *starts* (so parallel guesses cannot all slip under the
    limit) and forgiven when the password was right: a user who signs in correctly is never
    held back by their own successes.
    """

    def __init__(
        self,
        *,
        per_user: int,
        per_address: int,
        window_seconds: float,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def begin(self, username: str, address: str | None) -> Attempt:
        """Count an attempt, or raise TooManyRequests when either limit is reached."""
        now = self._clock()
        # Only a well-formed name can belong to someone; others are counted by address alone.
        user_key = f"user:{username}" if NAME_RE.fullmatch(username) else None
        addr_key = address_key(address)
        waits = []
        if user_key is not None and (wait := self._wait(user_key, self.per_user, now)):
            waits.append((wait, f"for user {username!r}"))
        if wait := self._wait(addr_key, self.per_address, now):
            waits.append((wait, "from your address"))
        if waits:
            seconds, where = max(waits)
            raise TooManyRequests(
                f"too many failed sign-ins {where}; try again in {seconds} seconds",
                retry_after=seconds,
            )
        for key in (user_key, addr_key):
            if key is not None:
                self._record(key, now)
        return Attempt(user_key, addr_key, now)

    def forgive(self, attempt: Attempt) -> None:
        """The password was right: clear the user's count and take this attempt back."""
        if attempt.user_key is not None:
            self._failures.pop(attempt.user_key, None)
        times = self._failures.get(attempt.address_key)
        if times is not None:
            with contextlib.suppress(ValueError):  # already out of the window, or forgotten
                times.remove(attempt.at)

    def _wait(self, key: str, limit: int, now: float) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        if len(times) < limit:
            return 0
        return max(1, math.ceil(times[0] + self.window - now))

    def _record(self, key: str, now: float) -> None:
        times = self._failures.get(key)
        if times is None:
            while len(self._failures) >= self.max_keys:
                self._failures.popitem(last=False)
            limit = self.per_user if key.startswith("user:") else self.per_address
            times = self._failures[key] = deque(maxlen=limit)
        else:
            self._failures.move_to_end(key)
        times.append(now)

    def __len__(self) -> int:
        """How many usernames and addresses are remembered."""
        return len(self._failures)
