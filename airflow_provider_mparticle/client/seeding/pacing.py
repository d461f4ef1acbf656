"""Pacing bulk sends against a workspace's rate limit, alone or as one of several shards.

:class:`Pacer` is the send gate shared by the sending threads of one load. Several loads of one workspace
(the mapped shards of one seed, each in its own process) share one budget and know nothing of each
other, so the pacer steers by what every shard sees alike:

- ``X-mp-rate-limit-percentage-used`` on accepted answers is the workspace's congestion signal: its
  level, and its trend (a token bucket drains at the excess of every shard together over the limit).
  Above a target the rate shrinks in proportion to itself; the rate grows by an amount that grows
  slower than the rate (its square root). Every shard sees the same percentage, so the decrease weighs
  more on a fast shard than on a slow one and the shards converge on one common rate.
- A 429 (``Retry-After``) pauses the whole load, every thread, for the wait it asks for, plus jitter so
  that shards do not come back in lockstep, and cuts the rate. The throttled requests' resends are
  booked on the same schedule (:meth:`Pacer.hold_retry`), not all at the end of the wait. Without the
  percentage header (a proxy strips it) the 429s are the only signal: additive increase near the rate
  of the last 429, multiplicative decrease.
- The rate starts low and doubles every ``ramp_seconds`` until the first sign of congestion (slow start):
  mParticle also limits how fast volume grows (``X-mp-rate-limit-exceeded: acceleration``); a 429 of
  that kind ends the doubling and halves the rate, since the workspace still has room.
- The rate only grows while the pacer is what holds the senders back: a load limited by its threads or
  its source does not build up a rate it never uses.
- An optional ceiling in users per second (a known budget, e.g. a workspace budget divided among shards).

Limits: https://docs.mparticle.com/developers/guides/default-service-limits/ .
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.errors import MParticleConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Pacer", "PacerTuning"]


@dataclass(frozen=True)
class PacerTuning:
    """How a :class:`Pacer` adapts. The defaults are measured with 1 to 16 shards (``make bench``).

    :param initial_rate: users per second to start with.
    :param ramp_seconds: while ramping, the rate doubles every this many seconds.
    :param ramp_until_used: the percentage used that ends the ramp.
    :param target_used: the ``X-mp-rate-limit-percentage-used`` to hold: above it the rate shrinks. The
        room above it absorbs the bursts of shards that have not reacted yet.
    :param full_below: below this percentage the budget is unused (the answer's own users aside).
    :param level_gain: how hard the distance to ``target_used`` pulls: at 10 points above it, the rate
        shrinks by ``level_gain / 10`` of itself per second.
    :param trend_gain: how hard the budget's trend pulls: the rate shrinks by ``trend_gain`` times the
        share by which every shard together exceeds the limit, per second.
    :param trend_window: seconds of answers the trend is measured over (at least three answers).
    :param smoothing: time constant in seconds of the moving average of the level steered by.
    :param fair_increase: growth while the budget is in use, in users per second per second times the
        square root of the rate: it does not keep pace with the rate, so unequal shards converge.
    :param growth: growth per second, as a share of the rate, while the budget is unused.
    :param max_growth: the most the rate grows per second (natural log) while the budget is in use.
    :param probe_increase: growth in users per second per second near the rate of the last 429 (answers
        without the percentage header).
    :param throttle_factor: the rate is multiplied by this on a 429 (once per pause).
    :param min_rate: the rate never drops below this.
    :param adjust_every: seconds between two adjustments (answers arrive many at a time).
    """

    initial_rate: float = 250.0
    ramp_seconds: float = 0.3
    ramp_until_used: float = 10.0
    target_used: float = 30.0
    full_below: float = 5.0
    level_gain: float = 8.0
    trend_gain: float = 4.0
    trend_window: float = 0.3
    smoothing: float = 0.15
    fair_increase: float = 40.0
    growth: float = 0.7
    max_growth: float = 1.0
    probe_increase: float = 50.0
    throttle_factor: float = 0.7
    min_rate: float = 50.0
    adjust_every: float = 0.05

    def __post_init__(self) -> None:
        if self.initial_rate <= 0 or self.min_rate <= 0:
            raise MParticleConfigError("Pacer settings 'initial_rate' and 'min_rate' must be positive.")
        if not 0 < self.full_below <= self.ramp_until_used <= self.target_used < 100:
            raise MParticleConfigError(
                "Pacer settings must satisfy 0 < full_below <= ramp_until_used <= target_used < 100."
            )
        if not 0 < self.throttle_factor < 1:
            raise MParticleConfigError("Pacer setting 'throttle_factor' must be between 0 and 1.")


class Pacer:
    """A send gate shared by the sending threads of one load.

    :param max_users_per_second: a hard ceiling (None: none), e.g. a known workspace budget divided
        among the shards.
    :param tuning: how the rate adapts.
    :param clock: monotonic clock in seconds (tests pass their own).
    :param rng: random source for jitter (tests pass a seeded one).
    """

    def __init__(
        self,
        max_users_per_second: float | None = None,
        *,
        tuning: PacerTuning | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if max_users_per_second is not None and max_users_per_second <= 0:
            raise MParticleConfigError("Setting 'max_users_per_second' must be positive.")
        self.ceiling = max_users_per_second
        self.tuning = tuning or PacerTuning()
        self._clock = clock
        self._rng = rng or random.Random()
        #: The adapted rate in users per second.
        self.rate: float = self.tuning.initial_rate
        #: Whether the rate still doubles (no sign of congestion yet).
        self.ramping = True
        #: Until when (clock time) every sender holds off after a 429.
        self.paused_until = 0.0
        #: The rate at the last 429 that paused the load.
        self.throttled_rate: float | None = None
        #: 429s that paused the load, and 429s in all.
        self.pauses = 0
        self.throttled = 0
        # The last slot taken (clock time) and its spacing in users (jittered): the next slot is due
        # that many users later at the rate in force *now*, so a new rate applies to the waiting threads.
        self._last_slot: float | None = None
        self._last_spacing = 0.0
        self._last_adjust: float | None = None
        self._held_back = False
        self._acks: deque[tuple[float, int]] = deque()
        self._levels: deque[tuple[float, float]] = deque()
        self._smoothed: float | None = None
        self._smoothed_at: float | None = None
        self._lock = threading.Lock()
        # See acquire: the waiting threads' turn, and what wakes the one waiting on the clock early.
        self._turn = threading.Lock()
        self._wake: SimpleQueue[None] = SimpleQueue()

    # --- the gate ---

    def limit(self) -> float:
        """The rate in force: the lower of the adapted rate and the ceiling."""
        return self.rate if self.ceiling is None else min(self.rate, self.ceiling)

    def try_acquire(self, users: int, now: float) -> float:
        """Take the send slot for ``users`` users if it is due: 0.0, else the seconds until it is.

        Slots are not booked ahead: a thread that has to wait asks again, so that a change of rate, or a
        pause, applies at once to the thread waiting (the others wait their turn behind it). Call it holding the lock (:meth:`acquire` does).
        """
        due = self.paused_until
        if self._last_slot is not None:
            due = max(due, self._last_slot + self._last_spacing / self.limit())
        if due > now:
            self._held_back = True
            return due - now
        # A slot taken late still counts from when it was due (a little), so wake-up delays do not add up.
        self._last_slot = max(due, now - 0.02)
        # Jitter the spacing a little so that shards' sends do not line up.
        self._last_spacing = users * self._rng.uniform(0.9, 1.1)
        return 0.0

    def acquire(self, users: int) -> None:
        """Wait for this thread's turn to send ``users`` users.

        Threads wait in turn: only the first waits on the clock (and on a change of rate or a pause), the
        others queue on a lock behind it. Each slot then wakes one thread, not every waiting one, and the
        waits are C-level queue and lock waits (a Python ``Condition`` costs more CPU per wait than the
        rest of a slot).
        """
        with self._turn:
            while True:
                with self._lock:
                    wait = self.try_acquire(users, self._clock())
                if wait <= 0:
                    return
                with contextlib.suppress(Empty):  # woken early (a pause) or on time: ask again
                    self._wake.get(timeout=wait)

    def retry_delay(self, wait: float, now: float) -> float:
        """Book a paced slot for a request the transport resends after ``wait`` seconds (a 429).

        Returns how much longer than ``wait`` the resend must wait. The transport resends without asking
        the gate; booked here, every thread throttled at once does not resend at the same instant.
        Call it holding the lock (:meth:`hold_retry` does).
        """
        earliest = now + wait
        due = max(earliest, self.paused_until)
        if self._last_slot is not None:
            due = max(due, self._last_slot + self._last_spacing / self.limit())
        spacing = self._last_spacing or self.tuning.initial_rate * 0.1
        self._last_slot = due
        self._last_spacing = spacing
        return due - earliest

    def hold_retry(self, wait: float) -> None:
        """Block the calling thread so that its resend, ``wait`` seconds after this returns, is paced.

        :param wait: the wait the transport is about to sleep before resending.
        """
        with self._lock:
            delay = self.retry_delay(wait, self._clock())
        if delay > 0:
            time.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds``."""
        with self._lock:
            self._pause_locked(self._clock() + seconds)

    def _pause_locked(self, until: float) -> None:
        if until > self.paused_until:
            self.paused_until = until
            self._wake.put(None)  # the thread waiting on the clock waits longer

    # --- what the answers say ---

    def measured_rate(self, now: float | None = None) -> float:
        """Users acknowledged per second over the last half second."""
        now = self._clock() if now is None else now
        while self._acks and self._acks[0][0] < now - 0.5:
            self._acks.popleft()
        if not self._acks:
            return 0.0
        span = max(now - self._acks[0][0], 0.2)
        return sum(users for _, users in self._acks) / span

    def budget_trend(self, now: float) -> float | None:
        """How fast the workspace's budget drains: points of percentage used per second (None: unknown).

        A token bucket drains at (what all senders send - the limit) / the limit, so this is the excess
        of every shard together over the workspace's limit, as a share of it.
        """
        # The last ``trend_window`` seconds, or the last three answers if that is longer (a slow shard).
        while self._levels and self._levels[0][0] < now - 1.5:
            self._levels.popleft()
        while len(self._levels) > 3 and self._levels[1][0] < now - self.tuning.trend_window:
            self._levels.popleft()
        if len(self._levels) < 2:
            return None
        (t0, p0), (t1, p1) = self._levels[0], self._levels[-1]
        if t1 - t0 < 0.05:
            return None
        return (p1 - p0) / (t1 - t0)

    def observe_ack(self, users: int, percentage_used: float | None) -> None:
        """Account for an accepted request and its ``X-mp-rate-limit-percentage-used`` (None: absent)."""
        with self._lock:
            now = self._clock()
            self._acks.append((now, users))
            if percentage_used is not None:
                self._levels.append((now, percentage_used))
                # Answers come in bunches (a stall, a busy machine): the level steered by is smoothed.
                if self._smoothed is None or self._smoothed_at is None:
                    self._smoothed = percentage_used
                else:
                    weight = 1.0 - math.exp(-(now - self._smoothed_at) / self.tuning.smoothing)
                    self._smoothed += weight * (percentage_used - self._smoothed)
                self._smoothed_at = now
            if self._last_adjust is None:
                self._last_adjust = now
                return
            elapsed = now - self._last_adjust
            if elapsed < self.tuning.adjust_every:
                return
            self._last_adjust = now
            held_back, self._held_back = self._held_back, False
            if now < self.paused_until:
                return
            step = min(elapsed, 0.5)
            if percentage_used is not None and percentage_used >= self.tuning.full_below:
                # The workspace's budget is in use: steer every shard by the shared level and its trend.
                if self.ramping and percentage_used >= self.tuning.ramp_until_used:
                    self.ramping = False
                    self.rate *= 0.7  # the last doubling overshot
                if not self.ramping:
                    level = ((self._smoothed or percentage_used) - self.tuning.target_used) / 100.0
                    excess = (self.budget_trend(now) or 0.0) / 100.0
                    pull = self.tuning.trend_gain * excess + self.tuning.level_gain * level
                    # Only down unless the gate held a sender back: a load slowed by something else (its
                    # threads, its source, a busy machine) must not build up a rate it then bursts at.
                    if pull > 0 or held_back:
                        # Up at most by max_growth per second: a level that falls fast after a stall (of
                        # the server, or of this machine) says little about the room there is.
                        self.rate *= math.exp(-max(pull, -self.tuning.max_growth) * step)
                    if held_back:
                        jitter = self._rng.uniform(0.5, 1.5)
                        self.rate += self.tuning.fair_increase * math.sqrt(self.rate) * step * jitter
            elif held_back:
                # Room left, by how much is unknown: grow (doubling while ramping, gently after that).
                if self.ramping:
                    self.rate *= 2.0 ** (step / self.tuning.ramp_seconds)
                elif self.throttled_rate is None or self.rate < 0.85 * self.throttled_rate:
                    self.rate *= math.exp(self.tuning.growth * step)
                else:
                    # Near the rate that drew the last 429: probe for more room slowly.
                    self.rate += self.tuning.probe_increase * step * self._rng.uniform(0.5, 1.5)
            self._bound(now)

    def observe_throttled(self, retry_after: float | None = None, scope: str | None = None) -> None:
        """A 429: pause every sender for ``retry_after`` (with jitter) and cut the rate once per pause.

        :param retry_after: the answer's ``Retry-After`` in seconds, if any.
        :param scope: the answer's ``X-mp-rate-limit-exceeded`` (``acceleration``: volume grew too fast).
        """
        with self._lock:
            now = self._clock()
            self.throttled += 1
            self.ramping = False
            if now < self.paused_until:
                return  # an answer to a request sent before the pause: already accounted for
            self.pauses += 1
            factor = 0.5 if scope == "acceleration" else self.tuning.throttle_factor
            measured = self.measured_rate(now)
            base = min(self.rate, measured) if measured > 0 else self.rate
            # The rate to come back to: a sporadic 429 (not congestion) must not ratchet it down, so it
            # only falls by a tenth per 429 when the measured rate is lower.
            previous = self.throttled_rate
            self.throttled_rate = base if previous is None else max(base, 0.9 * previous)
            self.rate = base * factor
            self._bound(now)
            wait = retry_after if retry_after is not None and retry_after > 0 else 0.0
            if wait:
                self._pause_locked(now + wait * self._rng.uniform(1.0, 1.15))
            self._last_adjust = now

    def _bound(self, now: float) -> None:
        # Never far above what is actually delivered (a load short of threads or rows), nor below the floor.
        measured = self.measured_rate(now)
        if measured > 0:
            self.rate = min(self.rate, max(2.0 * measured, self.tuning.initial_rate))
        if self.ceiling is not None:
            # Growth past the ceiling would only delay the reaction to congestion.
            self.rate = min(self.rate, 1.2 * self.ceiling)
        self.rate = max(self.rate, self.tuning.min_rate)
