"""One seed load from start to end: validation pass, resume from a checkpoint, send, summary.

:class:`SeedJob` drives a :class:`~airflow_provider_mparticle.client.seeding.sources.RowSource` through a
:class:`~airflow_provider_mparticle.client.seeding.mapping.SeedMapping` and a
:class:`~airflow_provider_mparticle.client.seeding.bulk.BulkSeeder`. The checkpoint goes to any store
with ``get`` / ``set`` / ``delete`` (Airflow's ``task_state_store`` in a task); nothing here knows Airflow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.core.messages import encode_json
from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder, Packer, ParentWatch, encode_user
from airflow_provider_mparticle.client.seeding.mapping import SeedRowError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.seeding.bulk import (
        Checkpoint,
        Chunk,
        PackingLimits,
        SeedingProgress,
    )
    from airflow_provider_mparticle.client.seeding.mapping import SeedMapping
    from airflow_provider_mparticle.client.seeding.pacing import Pacer
    from airflow_provider_mparticle.client.seeding.sources import RowSource

SHOWN_ERRORS = 20
#: What a checkpoint's ``digest`` is: 2, one blake2b over the identities of every row up to it (1, a hash
#: per row chained to the last one, cost a new hash per row); a checkpoint of another version is ignored.
DIGEST_VERSION = 2


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
    :param checkpoint_interval: minimum seconds between two checkpoint writes (0: back to back).
    :param store: the checkpoint store (None: no resume, no checkpoint).
    :param checkpoint_key: the key of the checkpoint in the store.
    :param log: where progress and decisions are logged.
    :param watch_parent: stop sending at once when the process that started this one is gone (a
        :class:`~airflow_provider_mparticle.client.seeding.bulk.ParentWatch` taken when the load starts:
        under Airflow, the task's supervisor).
    :param supervisor: another check of the supervisor, used instead (returns None while it lives, else
        why it is gone).
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
        checkpoint_interval: float = 0.0,
        store: CheckpointStore | None = None,
        checkpoint_key: str = "mparticle_seed_checkpoint",
        log: logging.Logger | Any = None,
        watch_parent: bool = True,
        supervisor: Callable[[], str | None] | None = None,
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
        self.watch_parent = watch_parent
        self.supervisor = supervisor
        self._seeder: BulkSeeder | None = None

    def job_key(self) -> str | None:
        """What identifies this load across attempts (mapping and source); None: the source cannot resume."""
        source_key = self.source.key()
        if source_key is None:
            return None
        blob = json.dumps([self.mapping.describe(), source_key], sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    def _resume_point(self, job: str | None) -> dict[str, Any]:
        if self.store is None or job is None:
            return {}
        saved = self.store.get(self.checkpoint_key)
        if (
            isinstance(saved, dict)
            and saved.get("job") == job
            and _positive(saved.get("last_row"))
            and isinstance(saved.get("digest"), str)
            and saved.get("digest_version") == DIGEST_VERSION
        ):
            self.log.info(
                "Found the checkpoint of an earlier attempt at row %s (%s users accepted); checking that the "
                "source reads the same rows up to it before skipping them.",
                f"{saved['last_row']:,}",
                f"{saved.get('users_sent', 0):,}",
            )
            return saved
        if (
            isinstance(saved, dict)
            and saved.get("job") == job
            and saved.get("digest_version") != DIGEST_VERSION
        ):
            self.log.info(
                "Ignoring a checkpoint written by an earlier version of the provider (another digest of the "
                "rows, which cannot be checked); sending everything."
            )
        elif saved:
            self.log.info("Ignoring a checkpoint of a different mapping or source; sending everything.")
        return {}

    def _row(
        self, row: Mapping[str, Any], row_number: int, identity: bool = True
    ) -> tuple[bytes | None, SeedRowError | None, bytes]:
        """(encoded user, error) of a row, and the identity it adds to the prefix digest (when asked)."""
        try:
            user = self.mapping.build(row, row_number)
            encoded = encode_user(user, row_number, self.limits)
        except SeedRowError as error:
            return None, error, _INVALID
        return encoded, None, encode_json([user.get("mpid"), user.get("identities")]) if identity else b""

    def _validate(self, rejects: _Rejects, skip_through: int, expected: bytes) -> _Scan:
        """The validation pass; raises when rows are invalid under ``fail``."""
        scan = _Scan(prefix_matches=skip_through == 0)
        errors: list[SeedRowError] = []
        invalid = 0
        digest = _PrefixDigest()
        self.log.info("Validating every row before sending anything...")
        for row_number, row in enumerate(self.source.rows(), start=1):
            scan.rows = row_number
            _, error, identity = self._row(row, row_number, row_number <= skip_through)
            if row_number <= skip_through:
                digest.add(identity)
                if row_number == skip_through:
                    scan.prefix_matches = digest.mark() == expected
            if error is not None:
                if self.on_invalid == "skip":
                    rejects.add(error, row)
                else:
                    invalid += 1
                    if len(errors) < SHOWN_ERRORS:
                        errors.append(error)
                continue
            scan.valid += 1
            if row_number > skip_through:
                scan.valid_after_skip += 1
        if errors:
            raise SeedJobError(
                f"{_invalid_rows(invalid, len(errors))}, nothing was sent: "
                + "; ".join(str(e) for e in errors)
                + ". Fix them, or set on_invalid='skip'."
            )
        self._check_reject_share(rejects, scan.rows)
        return scan

    def _mismatch(self, skip_through: int, rows_read: int) -> None:
        if rows_read < skip_through:
            why = f"the source now has {rows_read:,} rows, fewer than the {skip_through:,} acknowledged"
        else:
            why = f"the identities of rows 1-{skip_through:,} differ from those the earlier attempt sent"
        self.log.warning(
            "Not resuming: %s (a query without a stable ORDER BY, a replaced file or other rows); "
            "sending every row again, which overwrites the seeds already sent.",
            why,
        )

    def run(self) -> dict[str, Any]:
        """Run the load; returns the summary (users sent, requests, retries, rejected rows, duration...)."""
        started = time.monotonic()
        supervisor = self.supervisor or (ParentWatch() if self.watch_parent else None)
        job = self.job_key()
        resumed = self._resume_point(job)
        skip = int(resumed.get("last_row") or 0)
        expected = bytes.fromhex(resumed["digest"]) if skip else b""
        mismatched = False
        rejects = _Rejects(self.reject_path, keep=1000)
        total_rows = 0
        to_send: int | None = None
        if self.validation_pass:
            scan = self._validate(rejects, skip, expected)
            total_rows = scan.rows
            if not scan.prefix_matches:
                self._mismatch(skip, scan.rows)
                skip, mismatched = 0, True
            to_send = scan.valid_after_skip if skip else scan.valid
            self.log.info(
                "%s rows read: %s valid, %s rejected; %s users to send%s.",
                f"{total_rows:,}",
                f"{scan.valid:,}",
                f"{rejects.count:,}",
                f"{to_send:,}",
                f" (resuming after row {skip:,}, whose rows read the same)" if skip else "",
            )

        validated = self.validation_pass
        counted_rows = 0
        seeder: BulkSeeder

        def chunks() -> Iterator[Chunk]:
            nonlocal counted_rows, skip, mismatched
            while True:
                digest = _PrefixDigest()
                packer = Packer(self.limits)
                # The digest through the packer's last user, taken when rows not sent follow it.
                pending_mark: bytes | None = None
                counted_rows = 0
                for row_number, row in enumerate(self.source.rows(), start=1):
                    counted_rows = row_number
                    encoded, error, identity = self._row(row, row_number)
                    if row_number <= skip:
                        digest.add(identity)
                        if row_number == skip:
                            if digest.mark() != expected:
                                break
                            self.log.info(
                                "Resuming after row %s: rows 1-%s read the same as in the earlier attempt; "
                                "rows after it are sent (some may be sent again, which overwrites the same "
                                "seeds).",
                                f"{skip:,}",
                                f"{skip:,}",
                            )
                        continue
                    if error is not None:
                        if self.on_invalid == "fail":
                            raise SeedJobError(
                                f"Invalid {error}. Rows before it may have been sent (validation_pass=False)."
                            ) from None
                        if not validated:
                            rejects.add(error, row)
                        if pending_mark is None and packer.users:
                            pending_mark = digest.mark()
                        digest.add(identity)
                        continue
                    if encoded is None:  # never: only a row with an error is not encoded
                        continue
                    if not packer.fits(encoded):
                        yield packer.close(digest.mark() if pending_mark is None else pending_mark)
                    packer.add(row_number, encoded)
                    digest.add(identity)
                    pending_mark = None
                else:
                    if counted_rows >= skip:
                        if packer.users:
                            yield packer.close(digest.mark() if pending_mark is None else pending_mark)
                        return
                # The rows up to the checkpoint are not those the earlier attempt sent: send them all.
                self._mismatch(skip, counted_rows)
                skip, mismatched = 0, True
                seeder.total_users = None

        previous_users = int(resumed.get("users_sent", 0))
        previous_requests = int(resumed.get("requests", 0))
        store = self.store

        def save(checkpoint: Checkpoint) -> None:
            if store is None or job is None or checkpoint.chunks == 0:
                return
            base_users, base_requests = (0, 0) if mismatched else (previous_users, previous_requests)
            store.set(
                self.checkpoint_key,
                {
                    "job": job,
                    "last_row": checkpoint.last_row,
                    "digest": checkpoint.mark.hex(),
                    "digest_version": DIGEST_VERSION,
                    "users_sent": base_users + checkpoint.users,
                    "requests": base_requests + checkpoint.chunks,
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
            # Nothing to store (no store, or a source that cannot resume): no checkpoint thread, and a
            # request's slot is free once it is answered.
            on_checkpoint=save if store is not None and job is not None else None,
            checkpoint_interval=self.checkpoint_interval,
            on_retry=self._log_retry,
            total_users=to_send,
            supervisor=supervisor,
        )
        self._seeder = seeder
        try:
            with seeder:
                report = seeder.run(chunks())
        finally:
            self._seeder = None
            rejects.close()
        if not validated:
            self._check_reject_share(rejects, counted_rows)
        if store is not None:
            store.delete(self.checkpoint_key)
        if mismatched:
            previous_users = 0
        summary = {
            **report.as_dict(),
            "users_sent_total": previous_users + report.users_sent,
            "resumed_after_row": skip,
            "checkpoint_mismatch": mismatched,
            "rows_read": total_rows or counted_rows,
            "rejected_rows": rejects.count,
            "rejects": rejects.kept,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        self.log.info(
            "Seeding done: %s users in %s requests (%s retries, %s throttled, %s rejected rows) in %.1f s%s.",
            f"{report.users_sent:,}",
            f"{report.requests:,}",
            report.retries,
            report.throttled,
            rejects.count,
            summary["duration_seconds"],
            f"; {report.checkpoints:,} checkpoints stored, {report.checkpoint_write_ms} ms each"
            if report.checkpoints
            else "",
        )
        return summary

    def stop(self) -> None:
        """Ask a running load to stop: nothing new is sent; requests in flight finish."""
        if self._seeder is not None:
            self._seeder.stop()

    def _check_reject_share(self, rejects: _Rejects, rows: int) -> None:
        rejected = rejects.count
        if rejected and rows and rejected / rows > self.max_invalid_share:
            shown = rejects.first[:SHOWN_ERRORS]
            raise SeedJobError(
                f"{rejected:,} of {rows:,} rows are invalid ({100 * rejected / rows:.2f}%), more than "
                f"max_invalid_share={self.max_invalid_share:g}"
                + (". Nothing was sent." if self.validation_pass else ".")
                + (f" Rejected rows are in {self.reject_path}." if self.reject_path else "")
                + f" {_invalid_rows(rejected, len(shown))}: "
                + "; ".join(shown)
                + "."
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


_INVALID = b"\x00invalid"


class _PrefixDigest:
    """A running digest of the identities of the rows read so far: one hash update per row.

    An identity is compact JSON (``[mpid, identities]``, a self-delimiting array) or ``_INVALID``, so the
    concatenation of the rows' identities is read back one way only. :meth:`mark` reads the digest so
    far (hashlib's ``digest`` leaves the state as it is); it is taken per chunk, not per row.
    """

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self.add = self._hash.update

    def mark(self) -> bytes:
        return self._hash.digest()


@dataclass
class _Scan:
    """What the validation pass found."""

    rows: int = 0
    valid: int = 0
    valid_after_skip: int = 0
    prefix_matches: bool = True


def _invalid_rows(count: int, shown: int) -> str:
    """``500 invalid rows; first 20 shown`` (or ``1 invalid row``)."""
    text = f"{count:,} invalid row{'' if count == 1 else 's'}"
    return text + (f"; first {shown} shown" if shown < count else "")


def _positive(value: Any) -> bool:
    return isinstance(value, int) and value > 0


class _Rejects:
    """Rejected rows: all of them to an optional JSON Lines file, the first ``keep`` in the summary."""

    def __init__(self, path: str | None, keep: int) -> None:
        self.path = path
        self.keep = keep
        self.count = 0
        self.kept: list[dict[str, Any]] = []
        self.first: list[str] = []
        self._handle: Any = None

    def add(self, error: SeedRowError, row: Mapping[str, Any] | Any) -> None:
        from collections.abc import Mapping

        self.count += 1
        entry = error.as_dict()
        if len(self.kept) < self.keep:
            self.kept.append(entry)
        if len(self.first) < SHOWN_ERRORS:
            self.first.append(str(error))
        if self.path:
            if self._handle is None:
                self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            line = {**entry, "data": dict(row) if isinstance(row, Mapping) else row}
            self._handle.write(json.dumps(line, default=str) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
