"""Pacing bulk sends against a workspace's rate limit.

:class:`Pacer` is a send gate shared by the sending threads of one load. It keeps an optional ceiling in
users per second, adapts a send rate from mParticle's ``X-mp-rate-limit-percentage-used`` answer header
(slower when the workspace's budget is nearly used, faster again when it is not) and halves it on a 429.
The wait a 429 asks for (``Retry-After``) is honoured by the transport's retries.

Limits: https://docs.mparticle.com/developers/guides/default-service-limits/ .
"""

from __future__ import annotations

import threading
import time
from collections import deque

from airflow_provider_mparticle.client.errors import MParticleConfigError

__all__ = ["Pacer"]


class Pacer:
    """A send gate shared by the sending threads.

    :param max_users_per_second: a hard ceiling (None: none).
    :param high_water: ``X-mp-rate-limit-percentage-used`` at or above which the rate is lowered.
    :param low_water: below which a lowered rate is raised again.
    :param adjust_every: seconds between two adjustments (answers arrive many at a time).
    """

    def __init__(
        self,
        max_users_per_second: float | None = None,
        high_water: float = 80.0,
        low_water: float = 50.0,
        adjust_every: float = 0.1,
    ) -> None:
        if max_users_per_second is not None and max_users_per_second <= 0:
            raise MParticleConfigError("Setting 'max_users_per_second' must be positive.")
        self.ceiling = max_users_per_second
        self.high_water = high_water
        self.low_water = low_water
        self.adjust_every = adjust_every
        #: Factor by which a lowered rate grows per ``adjust_every`` on answers without the budget header.
        self.recovery = 1.15
        #: The adapted rate in users per second; None until the server's answers ask for less.
        self.rate: float | None = None
        self._next = 0.0
        self._last_adjust = 0.0
        self._acks: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def limit(self) -> float | None:
        """The rate in force: the lower of the adapted rate and the ceiling."""
        limits = [r for r in (self.rate, self.ceiling) if r is not None]
        return min(limits) if limits else None

    def acquire(self, users: int) -> None:
        """Wait for this thread's turn to send ``users`` users."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            limit = self.limit()
            self._next = start + users / limit if limit else start
        if start > now:
            time.sleep(start - now)

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds`` (a definition still propagating)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)

    def measured_rate(self, now: float | None = None) -> float:
        """Users acknowledged per second over the last two seconds."""
        now = time.monotonic() if now is None else now
        while self._acks and self._acks[0][0] < now - 2.0:
            self._acks.popleft()
        if not self._acks:
            return 0.0
        span = max(now - self._acks[0][0], 0.05)
        return sum(users for _, users in self._acks) / span

    def observe_ack(self, users: int, percentage_used: float | None) -> None:
        """Account for an accepted request and its ``X-mp-rate-limit-percentage-used``."""
        with self._lock:
            now = time.monotonic()
            self._acks.append((now, users))
            if now - self._last_adjust < self.adjust_every:
                return
            if percentage_used is None:
                # No budget header (a 429 from a proxy, or an API that does not send it): without this
                # recovery a few sporadic 429s would ratchet the rate down for the rest of the load.
                # The growth is by elapsed time, not per answer: at a low rate answers are rare.
                if self.rate is None:
                    return
                steps = (now - self._last_adjust) / self.adjust_every if self.adjust_every > 0 else 1.0
                self.rate *= self.recovery ** min(steps, 100.0)
            elif percentage_used >= self.high_water:
                factor = 0.6 if percentage_used >= 95 else 0.9
                base = self.rate if self.rate is not None else max(self.measured_rate(now), 1.0)
                self.rate = max(base * factor, 1.0)
            elif percentage_used < self.low_water and self.rate is not None:
                self.rate *= 1.15 if percentage_used < self.low_water / 2 else 1.04
            else:
                return
            self._last_adjust = now

    def observe_throttled(self) -> None:
        """A 429: halve the rate (the transport waits the ``Retry-After`` before resending)."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_adjust < self.adjust_every:
                return
            measured = self.measured_rate(now) or None
            if self.rate is None and measured is None:
                # Nothing measured yet: no rate to halve; the transport waits the Retry-After.
                return
            base = min(r for r in (self.rate, measured) if r is not None)
            self.rate = max(base * 0.5, 1.0)
            self._last_adjust = now
