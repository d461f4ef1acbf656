"""Shared emulator state: settings, a controllable clock, auth, faults, rate limit and the request journal.

Each API module (``oauth``, ``seeding``, ``calculated_attributes``, ...) keeps its own backend and
registers it on :class:`EmulatorState`; ``reset()`` resets them all.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import math
import random
import re
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class EmulatorSettings:
    """Settings of one emulator; all can be changed at run time through ``/_emulator/config``.

    :param workspace_id: the single workspace the emulator serves.
    :param api_key: workspace API key (seeding, HTTP Basic).
    :param api_secret: workspace API secret.
    :param client_id: Platform OAuth client id.
    :param client_secret: Platform OAuth client secret.
    :param token_ttl: seconds a Platform token lives (mParticle: 28800).
    :param propagation_seconds: delay before a new or changed CA definition accepts seeds (mParticle: up to 300).
    :param active_ca_limit: the account's limit on active calculated attributes.
    :param progress_mode: how long-running things advance: ``immediate``, ``reads`` or ``seconds``.
    :param progress_steps: reads, or seconds, to go from start to done.
    :param journal_size: requests kept in the journal.
    :param journal_bodies: keep request bodies in the journal (always with secrets masked: see
        :mod:`~airflow_provider_mparticle.testing.emulator.redaction`).
    """

    workspace_id: str = "1"
    api_key: str = "emulator-api-key"
    api_secret: str = "emulator-api-secret"
    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"
    token_ttl: float = 28800.0
    propagation_seconds: float = 300.0
    active_ca_limit: int = 50
    progress_mode: str = "reads"
    progress_steps: float = 3
    journal_size: int = 20000
    journal_bodies: bool = True

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise EmulatorHTTPError(400, f"Unknown emulator setting {key!r}.")
            setattr(self, key, type(getattr(self, key))(value))
        if self.progress_mode not in ("immediate", "reads", "seconds"):
            raise EmulatorHTTPError(400, "progress_mode must be one of immediate, reads, seconds.")


def iso(ts: float, zone: bool = True) -> str:
    """An epoch time as ISO 8601 UTC with milliseconds: ``...Z``, or without a zone (Adobe's form).

    :param ts: seconds since the epoch.
    :param zone: end with ``Z`` (mParticle's APIs) or with no zone at all (Adobe Experience Platform).
    """
    text = dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    return text + "Z" if zone else text


class Clock:
    """Wall time plus an offset that tests can advance (token expiry, propagation, run durations)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Progress:
    """A long-running thing (calculation, pipeline run) that advances by the configured rule."""

    mode: str
    steps: float
    started_at: float
    reads: int = 0

    def fraction(self, now: float) -> float:
        if self.mode == "immediate" or self.steps <= 0:
            return 1.0
        if self.mode == "reads":
            return min(1.0, self.reads / self.steps)
        return min(1.0, max(0.0, (now - self.started_at) / self.steps))

    def read(self, now: float) -> float:
        """Count one observation and return the fraction done."""
        self.reads += 1
        return self.fraction(now)


@dataclass
class FaultRule:
    """An injected fault: matching requests get ``status`` (or a dropped connection, or only latency).

    :param path: a regular expression searched in the request path ("" matches all).
    :param method: an HTTP method, or "" for any.
    :param status: status to answer (0: none, only latency or drop).
    :param retry_after: ``Retry-After`` header value to send with the status.
    :param drop: close the connection without an answer.
    :param latency_ms: added latency.
    :param times: how many matching requests get the fault (None: all).
    :param probability: chance that a matching request gets the fault.
    :param message: error message in the body.
    """

    path: str = ""
    method: str = ""
    status: int = 0
    retry_after: str | None = None
    drop: bool = False
    latency_ms: float = 0.0
    times: int | None = None
    probability: float = 1.0
    message: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not re.search(self.path, path):
            return False
        return self.probability >= 1.0 or random.random() < self.probability


@dataclass(frozen=True)
class RateDecision:
    """What the rate limit says of one request.

    :param allowed: whether it may pass.
    :param retry_after: whole seconds to wait when refused (at least 1: never 0 for a wait not over).
    :param used: the workspace budget in use after it, in percent (``X-mp-rate-limit-percentage-used``).
    :param scope: ``X-mp-rate-limit-exceeded`` when refused: ``workspace`` or ``acceleration``.
    :param report_usage: whether accepted answers carry the percentage header.
    """

    allowed: bool
    retry_after: int
    used: float
    scope: str
    report_usage: bool


class RateLimiter:
    """The workspace's rate limit, shared by every client of the emulator.

    A token bucket in units per second (users for bulk seeding, else requests) with one second of burst,
    and optionally mParticle's limit on how fast volume grows: the units accepted in one second may
    exceed those of the second before by at most ``acceleration`` (429 ``acceleration`` beyond that).

    :param rate: units per second.
    :param path: a regular expression of the paths it applies to ("" for all).
    :param acceleration: units per second by which the rate may grow each second (None: no such limit).
    :param percentage_header: send ``X-mp-rate-limit-percentage-used`` on accepted answers (a proxy
        that strips it is modelled with False).
    :param clock: monotonic clock in seconds.
    """

    def __init__(
        self,
        rate: float,
        path: str = "",
        acceleration: float | None = None,
        percentage_header: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.path = path
        self.acceleration = acceleration
        self.percentage_header = percentage_header
        self._clock = clock
        self.tokens = rate
        self.updated = clock()
        # Units accepted in the current one-second window and in the one before (acceleration).
        self._window = math.floor(self.updated)
        self._current = 0.0
        self._previous = 0.0

    def take(self, units: float) -> RateDecision:
        """Try to take ``units`` now."""
        now = self._clock()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        units = min(units, self.rate)
        window = math.floor(now)
        if window != self._window:
            self._previous = self._current if window == self._window + 1 else 0.0
            self._current = 0.0
            self._window = window
        if self.acceleration is not None and self._current + units > self._previous + self.acceleration:
            # Wait for the next window, which may grow by ``acceleration`` over this one.
            return self._refuse(window + 1 - now, "acceleration")
        if self.tokens < units:
            return self._refuse((units - self.tokens) / self.rate, "workspace")
        self.tokens -= units
        self._current += units
        used = 100.0 * (1 - self.tokens / self.rate)
        return RateDecision(True, 0, used, "", self.percentage_header)

    def _refuse(self, wait: float, scope: str) -> RateDecision:
        # Retry-After is whole seconds: rounded up, so that it never says 0 for a wait not over.
        return RateDecision(False, max(1, math.ceil(wait)), 100.0, scope, self.percentage_header)


@dataclass
class JournalEntry:
    seq: int
    time: float
    method: str
    path: str
    query: str
    status: int
    body: Any = None
    units: int = 1
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backend(Protocol):
    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]:
        """The backend's workspace data as JSON (no counters of requests seen)."""
        ...

    def restore(self, data: dict[str, Any]) -> None:
        """Replace everything with a :meth:`snapshot` (counters start at zero)."""
        ...


SNAPSHOT_FORMAT = "mparticle-emulator-snapshot"
SNAPSHOT_VERSION = 1
# Credentials are the running emulator's: a snapshot restored elsewhere keeps that emulator's, so the
# connections already pointed at it go on working (and a saved file holds no secret).
# Keyword options of RateLimiter beyond rate and path, kept by snapshots when the limiter has them.
RATE_LIMIT_OPTIONS = ("acceleration", "percentage_header")
CREDENTIAL_SETTINGS = ("api_key", "api_secret", "client_id", "client_secret")


@dataclass
class EmulatorState:
    """Everything the emulator knows; one per app."""

    settings: EmulatorSettings = field(default_factory=EmulatorSettings)
    clock: Clock = field(default_factory=Clock)
    faults: list[FaultRule] = field(default_factory=list)
    rate_limiter: RateLimiter | None = None
    latency_ms: float = 0.0
    journal: deque[JournalEntry] = field(default_factory=deque)
    backends: dict[str, Backend] = field(default_factory=dict)
    tokens_not_before: float = 0.0
    seq: int = 0
    # The settings the emulator was started with; reset() returns to them.
    base_settings: dict[str, Any] = field(default_factory=dict)
    _secret: bytes = field(default_factory=lambda: random.randbytes(16))

    def reset(self, settings: dict[str, Any] | None = None) -> None:
        """Forget everything but the issued tokens' signing key, then apply ``settings``."""
        self.settings = EmulatorSettings()
        self.settings.update({**self.base_settings, **(settings or {})})
        self.clock = Clock()
        self.faults.clear()
        self.rate_limiter = None
        self.latency_ms = 0.0
        self.journal = deque(maxlen=self.settings.journal_size)
        self.tokens_not_before = 0.0
        self.seq = 0
        for backend in self.backends.values():
            backend.reset()

    def snapshot(self) -> dict[str, Any]:
        """The whole emulated state as one JSON document: settings (without credentials), clock, faults,
        latency, rate limit, token revocation and each API's data. The journal and request counters are
        a record of what was asked, not state, and are left out."""
        limiter = self.rate_limiter
        limit = None
        if limiter is not None:
            options = {k: getattr(limiter, k) for k in RATE_LIMIT_OPTIONS if hasattr(limiter, k)}
            limit = {"per_second": limiter.rate, "path": limiter.path, **options}
        return {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "taken_at": iso(self.clock.now()),
            "settings": {k: v for k, v in asdict(self.settings).items() if k not in CREDENTIAL_SETTINGS},
            "clock_offset": self.clock.offset,
            "latency_ms": self.latency_ms,
            "faults": [asdict(rule) for rule in self.faults],
            "rate_limit": limit,
            "tokens_not_before": self.tokens_not_before,
            "backends": {name: backend.snapshot() for name, backend in self.backends.items()},
        }

    def restore(self, snapshot: Any) -> None:
        """Replace the whole state with a :meth:`snapshot`; the journal starts empty, credentials stay."""
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            raise EmulatorHTTPError(
                400, f"Not an emulator snapshot (its 'format' must be {SNAPSHOT_FORMAT!r})."
            )
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise EmulatorHTTPError(
                400, f"Snapshot version {snapshot.get('version')!r} is not supported (this emulator reads 1)."
            )
        parts = snapshot.get("backends") or {}
        unknown = sorted(set(parts) - set(self.backends))
        if unknown:
            raise EmulatorHTTPError(400, f"Snapshot has data for unknown APIs: {', '.join(unknown)}.")
        credentials = {k: getattr(self.settings, k) for k in CREDENTIAL_SETTINGS}
        settings = {k: v for k, v in (snapshot.get("settings") or {}).items() if k not in CREDENTIAL_SETTINGS}
        try:
            faults = [FaultRule(**rule) for rule in snapshot.get("faults") or []]
        except TypeError as error:
            raise EmulatorHTTPError(400, f"Invalid fault rule in snapshot: {error}") from None
        self.reset({**settings, **credentials})
        self.clock.offset = float(snapshot.get("clock_offset") or 0.0)
        self.latency_ms = float(snapshot.get("latency_ms") or 0.0)
        self.faults.extend(faults)
        limit = snapshot.get("rate_limit")
        if limit and limit.get("per_second"):
            options = {k: limit[k] for k in RATE_LIMIT_OPTIONS if k in limit}
            self.rate_limiter = RateLimiter(
                float(limit["per_second"]), str(limit.get("path") or ""), **options
            )
        self.tokens_not_before = float(snapshot.get("tokens_not_before") or 0.0)
        for name, backend in self.backends.items():
            try:
                backend.restore(copy.deepcopy(parts.get(name) or {}))
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                self.reset({**settings, **credentials})
                raise EmulatorHTTPError(400, f"Invalid {name} data in snapshot: {error!r}") from None

    def secrets(self) -> tuple[str, ...]:
        """The credentials' secret halves this emulator accepts (masked wherever the journal meets them)."""
        found = [self.settings.api_secret, self.settings.client_secret]
        for backend in self.backends.values():
            settings = getattr(backend, "settings", None)
            found.append(getattr(settings, "client_secret", ""))
        return tuple(s for s in found if s)

    def record(self, entry: JournalEntry) -> None:
        if self.journal.maxlen != self.settings.journal_size:
            self.journal = deque(self.journal, maxlen=self.settings.journal_size)
        self.journal.append(entry)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def progress(self) -> Progress:
        return Progress(self.settings.progress_mode, self.settings.progress_steps, self.clock.now())

    # --- auth ---------------------------------------------------------------------------------

    def issue_token(self) -> tuple[str, int]:
        issued = self.clock.now()
        payload = f"{issued:.3f}:{self.settings.token_ttl:.0f}:{random.getrandbits(32)}"
        sig = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:24]
        token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "." + sig
        return token, int(self.settings.token_ttl)

    def check_bearer(self, authorization: str | None) -> None:
        """401 when the token is missing or expired, 403 when it is not one this emulator issued."""
        if not authorization:
            raise EmulatorHTTPError(401, "Authorization header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise EmulatorHTTPError(401, "A Bearer token is required.")
        encoded, _, sig = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            issued_s, ttl_s, _ = payload.split(":")
            issued, ttl = float(issued_s), float(ttl_s)
        except ValueError:
            raise EmulatorHTTPError(403, "The token is invalid.") from None
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(sig, expected):
            raise EmulatorHTTPError(403, "The token is invalid.")
        if self.clock.now() >= issued + ttl or issued < self.tokens_not_before:
            raise EmulatorHTTPError(401, "The token has expired.")

    def check_basic(self, authorization: str | None) -> None:
        """401 when the Basic header is missing, 403 when the key or secret is wrong."""
        if not authorization:
            raise EmulatorHTTPError(401, "Authorization header is missing.")
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise EmulatorHTTPError(401, "Basic authentication is required.")
        try:
            key, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            raise EmulatorHTTPError(403, "The authentication header is invalid.") from None
        ok_key = hmac.compare_digest(key, self.settings.api_key)
        ok_secret = hmac.compare_digest(secret, self.settings.api_secret)
        if not (ok_key and ok_secret):
            raise EmulatorHTTPError(403, "The authentication header is invalid.")

    def check_workspace(self, workspace_id: str) -> None:
        if str(workspace_id) != str(self.settings.workspace_id):
            raise EmulatorHTTPError(404, f"Workspace {workspace_id} was not found.")

    # --- faults ---------------------------------------------------------------------------------

    def match_fault(self, method: str, path: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.matches(method, path):
                rule.hits += 1
                return rule
        return None

    def rate_limit(self, path: str, units: int) -> RateDecision | None:
        limiter = self.rate_limiter
        if limiter is None or (limiter.path and not re.search(limiter.path, path)):
            return None
        return limiter.take(units)
