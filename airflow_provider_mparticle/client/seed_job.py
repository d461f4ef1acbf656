"""One seed load from start to end: validation pass, resume from a checkpoint, send, summary.

:class:`SeedJob` drives a :class:`~airflow_provider_mparticle.client.seed_sources.RowSource` through a
:class:`~airflow_provider_mparticle.client.seed_mapping.SeedMapping` and a
:class:`~airflow_provider_mparticle.client.bulk_seeding.BulkSeeder`. The checkpoint goes to any store
with ``get`` / ``set`` / ``delete`` (Airflow's ``task_state_store`` in a task); nothing here knows Airflow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mparticle.client.bulk_seeding import BulkSeeder, encode_user, pack
from airflow_provider_mparticle.client.errors import MParticleError
from airflow_provider_mparticle.client.seed_mapping import SeedRowError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from airflow_provider_mparticle.client.bulk_seeding import (
        Checkpoint,
        Pacer,
        PackingLimits,
        SeedingProgress,
    )
    from airflow_provider_mparticle.client.config import ClientSettings
    from airflow_provider_mparticle.client.seed_mapping import SeedMapping
    from airflow_provider_mparticle.client.seed_sources import RowSource

SHOWN_ERRORS = 20


class CheckpointStore(Protocol):
    """Where the checkpoint lives between attempts (Airflow's ``task_state_store`` has this shape)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class SeedJobError(MParticleError):
    """The load cannot go on for a reason of the input: invalid rows, too many rejects; not transient."""


class SeedJob:
    """A seed load: validate, resume, send, summarise.

    :param settings: client settings (seeding credentials).
    :param mapping: how a row becomes a user.
    :param source: where the rows come from.
    :param limits: packing limits of one bulk request.
    :param pacer: the send gate.
    :param on_invalid: ``fail`` or ``skip``.
    :param max_invalid_share: with ``skip``, fail above this share of invalid rows (0 to 1).
    :param reject_path: with ``skip``, a JSON Lines file receiving the rejected rows.
    :param validation_pass: read the source once to validate before a second read sends.
    :param concurrency: requests in flight at once.
    :param propagation_timeout: seconds to keep retrying a definition still propagating.
    :param progress_interval: seconds between two progress lines.
    :param checkpoint_interval: seconds between two checkpoints.
    :param store: the checkpoint store (None: no resume, no checkpoint).
    :param checkpoint_key: the key of the checkpoint in the store.
    :param log: where progress and decisions are logged.
    """

    def __init__(
        self,
        settings: ClientSettings,
        mapping: SeedMapping,
        source: RowSource,
        *,
        limits: PackingLimits,
        pacer: Pacer,
        on_invalid: str = "fail",
        max_invalid_share: float = 0.0,
        reject_path: str | None = None,
        validation_pass: bool = True,
        concurrency: int = 8,
        propagation_timeout: float = 360.0,
        progress_interval: float = 30.0,
        checkpoint_interval: float = 15.0,
        store: CheckpointStore | None = None,
        checkpoint_key: str = "mparticle_seed_checkpoint",
        log: logging.Logger | Any = None,
    ) -> None:
        self.settings = settings
        self.mapping = mapping
        self.source = source
        self.limits = limits
        self.pacer = pacer
        self.on_invalid = on_invalid
        self.max_invalid_share = float(max_invalid_share)
        self.reject_path = reject_path
        self.validation_pass = validation_pass
        self.concurrency = concurrency
        self.propagation_timeout = propagation_timeout
        self.progress_interval = progress_interval
        self.checkpoint_interval = checkpoint_interval
        self.store = store
        self.checkpoint_key = checkpoint_key
        self.log = log or logging.getLogger(__name__)
        self._seeder: BulkSeeder | None = None

    def job_key(self) -> str:
        """What identifies this load across attempts: the mapping and the source's description."""
        blob = json.dumps([self.mapping.describe(), self.source.key()], sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    def _resume_point(self, job: str) -> dict[str, Any]:
        if self.store is None:
            return {}
        saved = self.store.get(self.checkpoint_key)
        if isinstance(saved, dict) and saved.get("job") == job and _positive(saved.get("last_row")):
            self.log.info(
                "Resuming after row %s: %s users were accepted by earlier attempts; rows after it are sent "
                "(some may be sent again, which overwrites the same seeds).",
                f"{saved['last_row']:,}",
                f"{saved.get('users_sent', 0):,}",
            )
            return saved
        if saved:
            self.log.info("Ignoring a checkpoint of a different mapping or source; sending everything.")
        return {}

    def _validate(self, rejects: _Rejects, skip_through: int) -> tuple[int, int]:
        """The validation pass: (rows read, users to send); raises when rows are invalid under ``fail``."""
        total_rows = valid = to_send = 0
        errors: list[SeedRowError] = []
        self.log.info("Validating every row before sending anything...")
        for row_number, row in enumerate(self.source.rows(), start=1):
            total_rows = row_number
            try:
                encode_user(self.mapping.build(row, row_number), row_number, self.limits)
            except SeedRowError as error:
                if self.on_invalid == "skip":
                    rejects.add(error, row)
                elif len(errors) < SHOWN_ERRORS:
                    errors.append(error)
                else:
                    break
                continue
            valid += 1
            if row_number > skip_through:
                to_send += 1
        if errors:
            more = f" (first {SHOWN_ERRORS} shown; there may be more)" if len(errors) == SHOWN_ERRORS else ""
            raise SeedJobError(
                f"{len(errors)} invalid row(s){more}, nothing was sent: "
                + "; ".join(str(e) for e in errors)
                + ". Fix them, or set on_invalid='skip'."
            )
        self._check_reject_share(rejects.count, total_rows)
        self.log.info(
            "%s rows read: %s valid, %s rejected; %s users to send.",
            f"{total_rows:,}",
            f"{valid:,}",
            f"{rejects.count:,}",
            f"{to_send:,}",
        )
        return total_rows, to_send

    def run(self) -> dict[str, Any]:
        """Run the load; returns the summary (users sent, requests, retries, rejected rows, duration...)."""
        started = time.monotonic()
        job = self.job_key()
        resumed = self._resume_point(job)
        skip_through = int(resumed.get("last_row") or 0)
        rejects = _Rejects(self.reject_path, keep=1000)
        total_rows = 0
        to_send: int | None = None
        if self.validation_pass:
            total_rows, to_send = self._validate(rejects, skip_through)

        validated = self.validation_pass
        counted_rows = 0

        def users() -> Iterator[tuple[int, bytes]]:
            nonlocal counted_rows
            for row_number, row in enumerate(self.source.rows(), start=1):
                counted_rows = row_number
                if row_number <= skip_through:
                    continue
                try:
                    yield (
                        row_number,
                        encode_user(self.mapping.build(row, row_number), row_number, self.limits),
                    )
                except SeedRowError as error:
                    if self.on_invalid == "fail":
                        raise SeedJobError(
                            f"Invalid {error}. Rows before it may have been sent (validation_pass=False)."
                        ) from None
                    if not validated:
                        rejects.add(error, row)

        previous_users = int(resumed.get("users_sent", 0))
        previous_requests = int(resumed.get("requests", 0))
        store = self.store

        def save(checkpoint: Checkpoint) -> None:
            if store is None or checkpoint.chunks == 0:
                return
            store.set(
                self.checkpoint_key,
                {
                    "job": job,
                    "last_row": checkpoint.last_row,
                    "users_sent": previous_users + checkpoint.users,
                    "requests": previous_requests + checkpoint.chunks,
                    "saved_at": dt.datetime.now(dt.UTC).isoformat(),
                },
            )

        seeder = BulkSeeder(
            self.settings,
            concurrency=self.concurrency,
            pacer=self.pacer,
            propagation_timeout=self.propagation_timeout,
            on_progress=self._log_progress,
            progress_interval=self.progress_interval,
            on_checkpoint=save,
            checkpoint_interval=self.checkpoint_interval,
            on_retry=self._log_retry,
            total_users=to_send,
        )
        self._seeder = seeder
        try:
            with seeder:
                report = seeder.run(pack(users(), self.limits))
        finally:
            self._seeder = None
            rejects.close()
        if not validated:
            self._check_reject_share(rejects.count, counted_rows)
        if store is not None:
            store.delete(self.checkpoint_key)
        summary = {
            **report.as_dict(),
            "users_sent_total": previous_users + report.users_sent,
            "resumed_after_row": skip_through,
            "rows_read": total_rows or counted_rows,
            "rejected_rows": rejects.count,
            "rejects": rejects.kept,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        self.log.info(
            "Seeding done: %s users in %s requests (%s retries, %s throttled, %s rejected rows) in %.1f s.",
            f"{report.users_sent:,}",
            f"{report.requests:,}",
            report.retries,
            report.throttled,
            rejects.count,
            summary["duration_seconds"],
        )
        return summary

    def stop(self) -> None:
        """Ask a running load to stop: nothing new is sent; requests in flight finish."""
        if self._seeder is not None:
            self._seeder.stop()

    def _check_reject_share(self, rejected: int, rows: int) -> None:
        if rejected and rows and rejected / rows > self.max_invalid_share:
            raise SeedJobError(
                f"{rejected:,} of {rows:,} rows are invalid ({100 * rejected / rows:.2f}%), more than "
                f"max_invalid_share={self.max_invalid_share:g}"
                + (". Nothing was sent." if self.validation_pass else ".")
                + (f" Rejected rows are in {self.reject_path}." if self.reject_path else "")
            )

    def _log_progress(self, progress: SeedingProgress) -> None:
        eta = progress.eta_seconds
        percent = progress.percent
        self.log.info(
            "Seeded %s%s users%s, %s users/s, ETA %s; %s requests, %s retries.",
            f"{progress.users_sent:,}",
            f" / {progress.total_users:,}" if progress.total_users is not None else "",
            f" ({percent:.1f}%)" if percent is not None else "",
            f"{progress.rate:,.0f}",
            str(dt.timedelta(seconds=round(eta))) if eta is not None else "unknown",
            f"{progress.requests:,}",
            progress.retries,
        )

    def _log_retry(self, error: BaseException, wait: float) -> None:
        self.log.warning("mParticle request failed (%s); retrying in %.1f s.", error, wait)


def _positive(value: Any) -> bool:
    return isinstance(value, int) and value > 0


class _Rejects:
    """Rejected rows: all of them to an optional JSON Lines file, the first ``keep`` in the summary."""

    def __init__(self, path: str | None, keep: int) -> None:
        self.path = path
        self.keep = keep
        self.count = 0
        self.kept: list[dict[str, Any]] = []
        self._handle: Any = None

    def add(self, error: SeedRowError, row: Mapping[str, Any] | Any) -> None:
        from collections.abc import Mapping

        self.count += 1
        entry = error.as_dict()
        if len(self.kept) < self.keep:
            self.kept.append(entry)
        if self.path:
            if self._handle is None:
                self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            line = {**entry, "data": dict(row) if isinstance(row, Mapping) else row}
            self._handle.write(json.dumps(line, default=str) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
