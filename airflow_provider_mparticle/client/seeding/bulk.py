"""Bulk seeding at scale: pack users into bulk requests and send them with bounded concurrency and pacing.

The pieces, each usable alone:

- :func:`encode_user` and :func:`pack` (or :class:`Packer`, one user at a time): users are encoded once
  (compact JSON, the bytes that are sent) and packed into bulk request bodies by user count and encoded
  size (defaults: 100 users, 256,000 bytes, below both readings of "256 KB");
- :class:`~airflow_provider_mparticle.client.seeding.pacing.Pacer` (in :mod:`.pacing`): the shared send gate;
- :class:`BulkSeeder`: sends packed chunks over one pooled :class:`~airflow_provider_mparticle.client.MParticleClient`
  from a fixed pool of threads, never holding more than ``2 x concurrency`` chunks in memory. It retries
  the 400 "No matching calculated attribute definition found" (a new definition takes up to five
  minutes to propagate) for a bounded time; any other 400 stops the load with mParticle's messages and
  the rows concerned. It keeps the *acknowledged watermark*: the last source row such that every chunk
  up to it was accepted, which is what a resumed load skips to.

Implements the bulk path of https://docs.mparticle.com/developers/calculated-attributes-seeding-api/ .
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.client.core.errors import (
    MParticleConfigError,
    MParticleError,
    MParticleRateLimitError,
    MParticleValidationError,
)
from airflow_provider_mparticle.client.core.messages import encode_json
from airflow_provider_mparticle.client.seeding.mapping import SeedRowError
from airflow_provider_mparticle.client.seeding.pacing import Pacer as Pacer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.flow import RetryObserver

PROPAGATION_MESSAGE = "No matching calculated attribute definition found"
DEFAULT_MAX_USERS = 100
DEFAULT_MAX_BYTES = 256_000
#: Consecutive failures of the checkpoint store after which a load stops (sending waits meanwhile).
STORE_ATTEMPTS = 5
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackingLimits:
    """Limits of one bulk request.

    :param max_users: users per request (mParticle: at most 100 batches per bulk request).
    :param max_bytes: encoded size of the whole JSON array in bytes (mParticle: 256 KB per request).
    """

    max_users: int = DEFAULT_MAX_USERS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_users < 1:
            raise MParticleConfigError("Setting 'max_users_per_request' must be at least 1.")
        if self.max_bytes < 64:
            raise MParticleConfigError("Setting 'max_request_bytes' must be at least 64.")


@dataclass(frozen=True)
class Chunk:
    """One bulk request body, ready to send.

    :param index: position in the load (0, 1, ...).
    :param body: the encoded JSON array.
    :param row_numbers: the source row of each user, in order (for error reports).
    :param mark: what the caller attached to the chunk's last user (e.g. a digest of the source so far).
    """

    index: int
    body: bytes = field(repr=False)
    row_numbers: tuple[int, ...]
    mark: bytes = field(default=b"", repr=False)

    @property
    def users(self) -> int:
        return len(self.row_numbers)

    @property
    def first_row(self) -> int:
        return self.row_numbers[0]

    @property
    def last_row(self) -> int:
        return self.row_numbers[-1]


def encode_user(user: Mapping[str, Any], row_number: int, limits: PackingLimits) -> bytes:
    """A user's compact JSON; a user too large to fit a request alone is a :class:`SeedRowError`."""
    encoded = encode_json(user)
    if len(encoded) + 2 > limits.max_bytes:
        raise SeedRowError(
            row_number,
            "*",
            f"the user encodes to {len(encoded)} bytes, more than a request may carry ({limits.max_bytes})",
        )
    return encoded


class Packer:
    """Packs encoded users into chunks one user at a time, in source order, within both limits.

    Ask :meth:`fits` before :meth:`add`: when the user does not fit, :meth:`close` the chunk first (with
    the mark of its last user). :func:`pack` is the loop over an iterable.
    """

    def __init__(self, limits: PackingLimits, start_index: int = 0) -> None:
        self.max_users = limits.max_users
        self.max_bytes = limits.max_bytes
        self.index = start_index
        self._parts: list[bytes] = []
        self._rows: list[int] = []
        self._size = 2  # the brackets

    @property
    def users(self) -> int:
        """Users in the chunk being filled."""
        return len(self._parts)

    def fits(self, encoded: bytes) -> bool:
        """Whether ``encoded`` fits in the chunk being filled (always, when it is empty)."""
        parts = self._parts
        return not parts or (len(parts) < self.max_users and self._size + len(encoded) + 1 <= self.max_bytes)

    def add(self, row_number: int, encoded: bytes) -> None:
        """Append a user that :meth:`fits`."""
        self._size += len(encoded) + (1 if self._parts else 0)
        self._parts.append(encoded)
        self._rows.append(row_number)

    def close(self, mark: bytes = b"") -> Chunk:
        """The chunk being filled (not empty), with ``mark``; the next one starts empty."""
        chunk = Chunk(self.index, b"[" + b",".join(self._parts) + b"]", tuple(self._rows), mark)
        self.index += 1
        self._parts, self._rows, self._size = [], [], 2
        return chunk


def pack(
    users: Iterable[tuple[int, bytes] | tuple[int, bytes, bytes]], limits: PackingLimits, start_index: int = 0
) -> Iterator[Chunk]:
    """Pack (row number, encoded user[, mark]) tuples into chunks within both limits, in source order.

    A chunk carries the mark of its last user (see :attr:`Chunk.mark`).
    """
    # Packer's rules, inlined: this loop runs once per user.
    max_users, max_bytes = limits.max_users, limits.max_bytes
    index = start_index
    parts: list[bytes] = []
    rows: list[int] = []
    size = 1  # the opening bracket; every user adds its length and one comma or the closing bracket
    mark = b""
    for item in users:
        encoded = item[1]
        size += len(encoded) + 1
        if parts and (size > max_bytes or len(parts) == max_users):
            yield Chunk(index, b"[" + b",".join(parts) + b"]", tuple(rows), mark)
            index += 1
            parts, rows, size = [], [], len(encoded) + 2
        parts.append(encoded)
        rows.append(item[0])
        mark = item[2] if len(item) == 3 else b""
    if parts:
        yield Chunk(index, b"[" + b",".join(parts) + b"]", tuple(rows), mark)


# --- sending -------------------------------------------------------------------------------------


class SeedingRejectedError(MParticleError):
    """mParticle refused a bulk request (a 400 other than a definition still propagating).

    :param messages: mParticle's messages, verbatim, with ``users[i]`` mapped to source rows.
    :param row_numbers: the source rows of the refused request.
    :param status_code: the HTTP status.
    """

    def __init__(self, messages: list[str], row_numbers: tuple[int, ...], status_code: int) -> None:
        self.messages = messages
        self.row_numbers = row_numbers
        self.status_code = status_code
        rows = f"rows {row_numbers[0]}-{row_numbers[-1]}" if len(row_numbers) > 1 else f"row {row_numbers[0]}"
        detail = "; ".join(messages) if messages else "no error details"
        super().__init__(
            f"mParticle refused the bulk request holding {rows} ({status_code}): {detail}. "
            "A bulk request is all-or-nothing: none of its users were stored."
        )


def is_propagation_error(error: MParticleValidationError) -> bool:
    """Whether every message of a 400 says a definition is not there (yet)."""
    return bool(error.messages) and all(PROPAGATION_MESSAGE in m for m in error.messages)


_USER_INDEX = re.compile(r"^users\[(\d+)\]")


def _messages_with_rows(messages: list[str], rows: tuple[int, ...]) -> list[str]:
    result = []
    for message in messages:
        match = _USER_INDEX.match(message)
        if match and int(match.group(1)) < len(rows):
            message = f"row {rows[int(match.group(1))]}: {message}"
        result.append(message)
    return result


@dataclass(frozen=True)
class SeedingProgress:
    """A snapshot of a running load, handed to the progress callback.

    :param users_sent: users accepted by mParticle in this attempt.
    :param requests: bulk requests accepted.
    :param retries: retried requests (429, 5xx, dropped connections, propagation).
    :param elapsed: seconds since the sending started.
    :param total_users: users this attempt will send, when known.
    """

    users_sent: int
    requests: int
    retries: int
    elapsed: float
    total_users: int | None = None

    @property
    def rate(self) -> float:
        """Users per second so far."""
        return self.users_sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def percent(self) -> float | None:
        if not self.total_users:
            return None
        return min(100.0, 100.0 * self.users_sent / self.total_users)

    @property
    def eta_seconds(self) -> float | None:
        if not self.total_users or self.rate <= 0:
            return None
        return max(self.total_users - self.users_sent, 0) / self.rate


@dataclass(frozen=True)
class Checkpoint:
    """The acknowledged watermark: every chunk through ``last_row`` was accepted.

    :param last_row: the source row through which everything was accepted (0: nothing yet).
    :param users: users accepted through that row in this attempt.
    :param chunks: chunks accepted through that row in this attempt.
    :param mark: the mark of the chunk ending at ``last_row`` (see :func:`pack`).
    """

    last_row: int
    users: int
    chunks: int
    mark: bytes = b""


@dataclass
class SeedingReport:
    """What a load did: the summary an operator returns."""

    users_sent: int = 0
    requests: int = 0
    http_requests: int = 0
    retries: int = 0
    throttled: int = 0
    propagation_retries: int = 0
    duration_seconds: float = 0.0
    last_row: int = 0
    checkpoints: int = 0
    checkpoint_write_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "users_sent": self.users_sent,
            "requests": self.requests,
            "http_requests": self.http_requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "propagation_retries": self.propagation_retries,
            "duration_seconds": round(self.duration_seconds, 3),
            "last_row": self.last_row,
            "checkpoints": self.checkpoints,
            "checkpoint_write_ms": self.checkpoint_write_ms,
        }


class BulkSeeder:
    """Sends chunks with bounded concurrency over one pooled client.

    **Checkpoints.** With ``on_checkpoint``, a background thread stores the acknowledged watermark: as
    soon as one call returns, the next one is made with the latest watermark (at most one call per
    ``checkpoint_interval`` seconds). A chunk keeps its sending slot until a stored checkpoint covers it,
    so at any moment at most ``2 x concurrency`` chunks were sent but not yet checkpointed: that is all a
    crash (even a SIGKILL) can make a resumed load send again. A slow store slows the load down rather
    than widening that bound, and the store is never called from the sending loop. A failing store keeps
    the slots (sending waits) and is retried with backoff; after ``STORE_ATTEMPTS`` failures in a row the
    load stops with an error rather than send past the last stored checkpoint.

    **An orphaned load stops at once.** With ``supervisor`` (e.g. a :class:`ParentWatch`), the check runs
    before every request and every retry is sent; when it reports the supervisor gone, or the store fails
    as a closed channel does (``EOFError``, a broken pipe), no new request is started: the requests in
    flight finish (at most ``concurrency`` of them), and :class:`SupervisorLostError` is raised.

    :param settings: client settings (seeding credentials).
    :param concurrency: requests in flight at once (threads; also the connection pool size).
    :param pacer: the send gate (default: adaptive, no ceiling).
    :param propagation_timeout: seconds to keep retrying "No matching calculated attribute definition
        found" (mParticle: definitions take up to five minutes to propagate).
    :param propagation_wait: seconds between two such retries.
    :param on_progress: called with a :class:`SeedingProgress` first after ``first_progress`` seconds,
        then every ``progress_interval`` seconds, and at the end.
    :param progress_interval: seconds between two progress calls.
    :param first_progress: seconds before the first progress call (when shorter than the interval).
    :param on_checkpoint: stores a :class:`Checkpoint` (called from the checkpoint thread; see above),
        and once more at the end (success or failure) when the watermark moved.
    :param checkpoint_interval: minimum seconds between two checkpoint calls (0: back to back).
    :param on_retry: also told of every transport retry (error, wait), for logging.
    :param total_users: users to send, when known (percentage and ETA).
    :param client: an existing client to use instead of building one (its pool should be >= concurrency).
    :param supervisor: returns None while the process supervising this load lives, else why it is gone
        (see above; None: not watched).
    """

    #: Seconds before the first new try of a failed checkpoint store (doubling, at most 8 s).
    store_retry_wait = 1.0

    def __init__(
        self,
        settings: ClientSettings,
        *,
        concurrency: int = 8,
        pacer: Pacer | None = None,
        propagation_timeout: float = 360.0,
        propagation_wait: float = 10.0,
        on_progress: Callable[[SeedingProgress], None] | None = None,
        progress_interval: float = 30.0,
        first_progress: float = 5.0,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        checkpoint_interval: float = 0.0,
        on_retry: RetryObserver | None = None,
        total_users: int | None = None,
        client: MParticleClient | None = None,
        supervisor: Callable[[], str | None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise MParticleConfigError("Setting 'concurrency' must be at least 1.")
        self.concurrency = concurrency
        self.pacer = pacer or Pacer()
        self.propagation_timeout = propagation_timeout
        self.propagation_wait = propagation_wait
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.first_progress = first_progress
        self.on_checkpoint = on_checkpoint
        self.checkpoint_interval = checkpoint_interval
        self.total_users = total_users
        self.supervisor = supervisor
        self._user_on_retry = on_retry
        self._own_client = client is None
        self.client = client or MParticleClient(settings, pool_size=concurrency, on_retry=self._on_retry)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        self._acked: dict[int, Chunk] = {}
        self._next_index = 0
        self._checkpoint = Checkpoint(0, 0, 0)
        self._users_sent = 0
        self._requests = 0
        self._propagation_retries = 0
        self._propagation_deadline: float | None = None
        self._started = 0.0
        self._next_progress = 0.0
        # The feeding thread refills once a quarter of the slots are free (see _Slots).
        self._slots = _Slots(concurrency * 2, refill=max(1, concurrency // 2))
        # The checkpoint thread: wakes when the watermark moves; ``_stored`` is what it stored last.
        self._moved = threading.Condition(self._lock)
        self._writer_done = False
        self._stored = Checkpoint(0, 0, 0)
        self.checkpoint_stats = CheckpointStats()

    # --- callbacks from the threads ---

    def _on_retry(self, error: BaseException, wait: float) -> None:
        if self._stopping.is_set() or self._lost():
            raise _Stopped()  # a retry is a new request: none once the load stops
        if isinstance(error, MParticleRateLimitError):
            self.pacer.observe_throttled(error.retry_after, error.limit_scope)
            self.pacer.hold_retry(wait)
        if self._user_on_retry is not None:
            self._user_on_retry(error, wait)

    def _send(self, chunk: Chunk) -> None:
        while True:
            if self._stopping.is_set():
                raise _Stopped()
            self.pacer.acquire(chunk.users)
            if self._stopping.is_set() or self._lost():  # the pacer may have waited
                raise _Stopped()
            try:
                ack = self.client.seeding.seed_users(chunk.body)
            except MParticleValidationError as error:
                if is_propagation_error(error) and self._wait_for_propagation(error):
                    continue
                raise SeedingRejectedError(
                    _messages_with_rows(error.messages, chunk.row_numbers),
                    chunk.row_numbers,
                    error.status_code,
                ) from error
            self.pacer.observe_ack(chunk.users, ack.rate_limit_percentage_used)
            if self._propagation_deadline is not None:  # a definition that propagated meanwhile
                with self._lock:
                    self._propagation_deadline = None
            return

    def _wait_for_propagation(self, error: MParticleValidationError) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._propagation_deadline is None:
                self._propagation_deadline = now + self.propagation_timeout
            remaining = self._propagation_deadline - now
            if remaining <= 0:
                return False
            self._propagation_retries += 1
        wait = min(self.propagation_wait, remaining)
        if self._user_on_retry is not None:
            self._user_on_retry(error, wait)
        self.pacer.pause(wait)
        return True

    def _sender(self, queue: SimpleQueue[Chunk | None]) -> None:
        """A sending thread: sends the chunks it takes, one at a time, until the end mark (None). Once the
        load stops, the chunks still queued are dropped unsent (their slots released)."""
        while (chunk := queue.get()) is not None:
            if self._stopping.is_set():
                self._slots.release()
                continue
            try:
                self._send(chunk)
            except BaseException as error:  # every failure stops the load; run() raises the first
                self._done(chunk, error)
            else:
                self._done(chunk, None)

    def _done(self, chunk: Chunk, error: BaseException | None) -> None:
        """A chunk's outcome (``error`` None: accepted); its slot is released unless a stored checkpoint
        has to cover it first."""
        keep_slot = False
        try:
            with self._lock:
                if error is not None:
                    if self._failure is None and not isinstance(error, _Stopped):
                        self._failure = error
                    self._stopping.set()
                    return
                self._users_sent += chunk.users
                self._requests += 1
                self._acked[chunk.index] = chunk
                checkpoint = self._checkpoint
                while self._next_index in self._acked:
                    done = self._acked.pop(self._next_index)
                    checkpoint = Checkpoint(
                        done.last_row, checkpoint.users + done.users, checkpoint.chunks + 1, done.mark
                    )
                    self._next_index += 1
                self._checkpoint = checkpoint
                # Until a stored checkpoint covers it, an accepted chunk is what a crash would resend.
                keep_slot = self.on_checkpoint is not None
                self._moved.notify_all()
        finally:
            if not keep_slot:
                self._slots.release()

    def _lost(self) -> bool:
        """Whether the supervisor is gone; the first time, the load stops and says why."""
        if self.supervisor is None:
            return False
        reason = self.supervisor()
        if reason is None:
            return False
        self._abort_lost(reason)
        return True

    def _abort_lost(self, reason: str) -> None:
        with self._lock:
            if isinstance(self._failure, SupervisorLostError):
                return
            stored = self._stored.last_row
            error = SupervisorLostError(
                f"Stopped sending: {reason}. No new request is sent; the requests in flight finish and "
                f"this process exits. A retry of the task resumes after row {stored:,}, the last stored "
                "checkpoint."
            )
            self._failure = error
            self._stopping.set()
        _log.error("%s", error)

    def _store_failed(self, error: Exception, failures: int) -> bool:
        """After a failed store: True to try again (after a backoff), False when the load stops."""
        self.checkpoint_stats.failures += 1
        if self._lost():
            return False
        if _channel_lost(error):
            self._abort_lost(f"the checkpoint store's channel to the supervisor is closed ({error!r})")
            return False
        if self._writer_done or self._stopping.is_set():
            _log.warning("Storing the last seeding checkpoint failed (%s).", error)
            return False
        if failures >= STORE_ATTEMPTS:
            with self._lock:
                if self._failure is None:
                    self._failure = MParticleError(
                        f"Storing the seeding checkpoint failed {failures} times in a row ({error}); the load "
                        "stopped rather than send past the last stored checkpoint "
                        f"(row {self._stored.last_row:,})."
                    )
                self._stopping.set()
            return False
        wait = min(self.store_retry_wait * 2.0 ** (failures - 1), 8.0)
        _log.warning(
            "Storing the seeding checkpoint failed (%s); retrying in %.0f s (sending waits meanwhile).",
            error,
            wait,
        )
        self._stopping.wait(wait)
        return True

    def _write_checkpoints(self, store: Callable[[Checkpoint], None]) -> None:
        """The checkpoint thread: store the latest watermark, then release the slots it covers."""
        failures = 0
        while True:
            with self._lock:
                while self._checkpoint == self._stored and not self._writer_done:
                    self._moved.wait()
                if self._checkpoint == self._stored:
                    return
                checkpoint = self._checkpoint
            started = time.monotonic()
            try:
                store(checkpoint)
            except Exception as error:  # the slots stay taken: sending waits for a stored checkpoint
                failures += 1
                if self._store_failed(error, failures):
                    continue
                return
            failures = 0
            self.checkpoint_stats.observe(time.monotonic() - started)
            with self._lock:
                covered = checkpoint.chunks - self._stored.chunks
                self._stored = checkpoint
            if covered:
                self._slots.release(covered)
            if self.checkpoint_interval > 0 and not self._writer_done:
                time.sleep(self.checkpoint_interval)

    # --- the main thread ---

    def stop(self) -> None:
        """Ask the load to stop: nothing new is sent; chunks in flight finish."""
        self._stopping.set()

    @property
    def checkpoint(self) -> Checkpoint:
        with self._lock:
            return self._checkpoint

    def progress(self) -> SeedingProgress:
        stats = self.client.transport.stats.snapshot()
        with self._lock:
            return SeedingProgress(
                users_sent=self._users_sent,
                requests=self._requests,
                retries=stats["retries"] + self._propagation_retries,
                elapsed=time.monotonic() - self._started,
                total_users=self.total_users,
            )

    def _tick(self, final: bool = False) -> None:
        now = time.monotonic()
        if self.on_progress is not None and (final or now >= self._next_progress):
            self._next_progress = now + self.progress_interval
            self.on_progress(self.progress())

    def _take_slot(self) -> bool:
        """Wait for a sending slot; False (holding none) when the load stops meanwhile."""
        while not self._slots.acquire(timeout=0.2):
            self._tick()
            if self._stopping.is_set() or self._lost():
                return False
        if self._stopping.is_set():
            self._slots.release()
            return False
        return True

    def run(self, chunks: Iterable[Chunk]) -> SeedingReport:
        """Send every chunk (chunk indexes must start at 0 and follow each other).

        Stops at the first failure: nothing new is sent, requests in flight finish, the checkpoint is
        stored, and the error is raised (:class:`SeedingRejectedError`, or the transport's error
        after its retries).
        """
        self._started = time.monotonic()
        self._next_progress = self._started + min(self.first_progress, self.progress_interval)
        source_error: BaseException | None = None
        writer: threading.Thread | None = None
        if self.on_checkpoint is not None:
            writer = threading.Thread(
                target=self._write_checkpoints,
                args=(self.on_checkpoint,),
                name="mparticle-seed-checkpoint",
                daemon=True,
            )
            writer.start()
        # The sending threads take chunks from one queue: a taken slot per queued or unanswered chunk
        # bounds it (no future, no pool bookkeeping per request).
        queue: SimpleQueue[Chunk | None] = SimpleQueue()
        senders = [
            threading.Thread(target=self._sender, args=(queue,), name=f"mparticle-seed_{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for sender in senders:
            sender.start()
        try:
            try:
                for chunk in chunks:
                    if not self._take_slot():
                        break
                    queue.put(chunk)
                    self._tick()
            except BaseException as error:
                # The source failed (or an invalid row in a single pass): stop and report what was sent.
                source_error = error
                self._stopping.set()
        finally:
            for _ in senders:
                queue.put(None)
            # The requests in flight finish; a supervisor found gone meanwhile stops what is queued.
            for sender in senders:
                while sender.is_alive():
                    sender.join(0.05)
                    if not self._stopping.is_set():
                        self._lost()
                    self._tick()
            if writer is not None:
                with self._lock:
                    self._writer_done = True
                    self._moved.notify_all()
                writer.join()
        self._tick(final=True)
        failure = source_error or self._failure
        if failure is not None:
            raise failure
        if self._stopping.is_set():
            raise MParticleError("The load was stopped before every user was sent.")
        return self.report()

    def report(self) -> SeedingReport:
        stats = self.client.transport.stats.snapshot()
        with self._lock:
            return SeedingReport(
                users_sent=self._users_sent,
                requests=self._requests,
                http_requests=stats["requests"],
                retries=stats["retries"] + self._propagation_retries,
                throttled=stats["throttled"],
                propagation_retries=self._propagation_retries,
                duration_seconds=time.monotonic() - self._started,
                last_row=self._checkpoint.last_row,
                checkpoints=self.checkpoint_stats.writes,
                checkpoint_write_ms=self.checkpoint_stats.mean_ms,
            )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> BulkSeeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class CheckpointStats:
    """How long storing checkpoints took (the store may be a round trip to Airflow's API server)."""

    writes: int = 0
    failures: int = 0
    seconds: float = 0.0
    slowest: float = 0.0

    def observe(self, seconds: float) -> None:
        self.writes += 1
        self.seconds += seconds
        self.slowest = max(self.slowest, seconds)

    @property
    def mean_ms(self) -> float:
        return round(1000 * self.seconds / self.writes, 2) if self.writes else 0.0


class _Slots:
    """The sending slots: a counter, taken by one thread (the one that feeds the senders), given back by
    any.

    A taker that finds none free waits until ``refill`` are free, so that one wake-up refills several
    (each ack would otherwise wake it to queue one chunk). The waits are C-level queue waits:
    ``threading.Semaphore`` waits on a Python ``Condition``, whose every blocking wait costs more CPU
    than the rest of taking a slot.
    """

    def __init__(self, count: int, refill: int = 1) -> None:
        self._lock = threading.Lock()
        self._free = count
        self._refill = min(max(refill, 1), count)
        self._waiting = False
        self._wake: SimpleQueue[None] = SimpleQueue()

    def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds (or less: False may come early; ask again)."""
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return True
            self._waiting = True
        with contextlib.suppress(Empty):
            self._wake.get(timeout=timeout)
        with self._lock:
            self._waiting = False
            if self._free > 0:
                self._free -= 1
                return True
            return False

    def release(self, count: int = 1) -> None:
        with self._lock:
            self._free += count
            wake = self._waiting and self._free >= self._refill
            if wake:
                self._waiting = False
        if wake:
            self._wake.put(None)


class _Stopped(Exception):
    """A thread saw the stop flag before sending."""


class SupervisorLostError(MParticleError):
    """The process that supervises this load is gone: the load stopped sending at once.

    An orphaned load keeps nobody informed: its supervisor no longer heartbeats, so the scheduler retries
    the task elsewhere, and every request the orphan sends from then on is sent twice.
    """


class ParentWatch:
    """Tells whether the process that started this one is still there: its parent pid has not changed.

    Under Airflow's Task SDK the task process is a child of its supervisor (which heartbeats and stores
    checkpoints for it); when the supervisor dies, however the worker was killed, the task process is
    re-parented (to init or a subreaper) and ``os.getppid()`` changes. One system call per check: cheap
    enough before every request. A process started by init itself (parent pid 1) has nothing to watch.
    """

    def __init__(self) -> None:
        self.parent = os.getppid()

    def __call__(self) -> str | None:
        """None while the parent lives; else why the load must stop."""
        if self.parent <= 1:
            return None
        now = os.getppid()
        if now == self.parent:
            return None
        return f"the supervising process (pid {self.parent}) is gone: this process now has parent pid {now}"


def _channel_lost(error: BaseException) -> bool:
    """Whether a store failure says the channel to the supervisor is closed (not a transient error)."""
    return isinstance(error, EOFError | BrokenPipeError | ConnectionResetError | ConnectionAbortedError)
