"""Operators for calculated attributes: seed them in bulk, ensure a definition, activate it, discard a draft.

Typical DAG: ensure -> seed -> activate (and wait for the calculation). Declare
:func:`~airflow_provider_mparticle.assets.calculated_attribute_asset` in ``outlets`` of the activate
operator to schedule downstream DAGs on the calculated attribute. Clients, hooks and heavy libraries are
imported inside the methods that use them, so that the scheduler can import DAG files cheaply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_provider_mparticle.links.calculated_attributes import MParticleCalculatedAttributeLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.bulk_seeding import BulkSeeder, Checkpoint, SeedingProgress
    from airflow_provider_mparticle.client.calculated_attribute_definitions import CalculatedAttributeSpec
    from airflow_provider_mparticle.client.calculated_attributes import CalculatedAttribute
    from airflow_provider_mparticle.client.seed_mapping import SeedMapping

# --- seeding ---------------------------------------------------------------------------------------

SEED_CHECKPOINT_KEY = "mparticle_seed_checkpoint"
_FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class MParticleSeedCalculatedAttributesOperator(BaseOperator):
    """Seed calculated attributes (and optionally user attributes) for many users through the bulk API.

    Rows come from exactly one source, read as a stream and never loaded whole: ``rows`` (a list of
    dicts, e.g. from XCom), ``path`` (a CSV or JSON Lines file, local or any ``ObjectStoragePath``) or
    ``sql`` (a query on any Airflow SQL connection, read with ``fetchmany``). A declarative mapping turns
    each row into a user; every seed is checked against its calculation type's documented shape
    before it is sent.

    **Two passes by default.** With ``validation_pass=True`` the source is read twice: a first pass
    validates every row (and counts them, which gives a percentage and an ETA); only then does a second
    pass send. So with ``on_invalid="fail"`` nothing is sent when any row is invalid, and with
    ``on_invalid="skip"`` the reject share is checked before anything is sent. A SQL query is executed
    twice, so it must return the same rows both times. ``validation_pass=False`` reads once: an invalid
    row then stops the load (``fail``) after earlier chunks were sent, or is skipped as it comes (``skip``).

    **Resume.** Every ``checkpoint_interval`` seconds the operator stores in ``task_state_store`` (Airflow
    3.3 durable execution; survives retries, scoped to the run, task and map index) the last source row
    through which every bulk request was accepted. A retry skips the rows up to it. What is resent on a
    retry: the rows after the last stored checkpoint, i.e. requests accepted after it (at most
    ``checkpoint_interval`` seconds of sending) plus requests that were in flight or accepted out of
    order (at most ``2 x concurrency`` requests). Resending is harmless: a seed overwrites the earlier
    one. The checkpoint is only used when the mapping and source are unchanged, and is deleted when the
    task succeeds (so clearing a successful task sends everything again). Without a task state store
    (older Airflow, a bare ``execute()`` call) a retry starts over.

    :param calculated_attributes: the attributes to seed: dicts with ``name``, ``calculation_type``,
        ``cutoff_date`` and ``column`` (for ``average``: ``sum_column`` and ``count_column``), optional
        ``optional: true`` to leave a blank seed out instead of rejecting the row. (templated)
    :param identities: identity type -> column, e.g. ``{"customer_id": "customer_id"}``. (templated)
    :param mpid_column: the column holding the mParticle id, instead of or besides identities. (templated)
    :param user_attributes: user attribute name -> column, sent along. (templated)
    :param environment: ``production`` (default) or ``development``. (templated)
    :param rows: the rows, a list of dicts. (templated)
    :param path: a CSV / JSON Lines file: a local path, a URL, or an ``ObjectStoragePath``. (templated)
    :param file_format: ``csv`` or ``jsonl``; default from the file suffix.
    :param csv_delimiter: the CSV delimiter.
    :param sql: a query returning one row per user. (templated)
    :param sql_conn_id: the Airflow SQL connection to run it on (any ``DbApiHook``).
    :param parameters: query parameters. (templated)
    :param fetch_size: rows fetched per batch.
    :param on_invalid: ``fail`` (default) or ``skip``.
    :param max_invalid_share: with ``skip``, fail when more than this share of rows is invalid (0 to 1).
    :param reject_path: with ``skip``, a local JSON Lines file receiving each rejected row with its row
        number, column and reason. (templated)
    :param validation_pass: validate the whole source before sending (see above).
    :param max_users_per_request: users per bulk request (mParticle: at most 100).
    :param max_request_bytes: encoded bytes per bulk request (mParticle: 256 KB).
    :param concurrency: bulk requests in flight at once.
    :param max_users_per_second: a ceiling on the send rate (None: only mParticle's pacing headers).
    :param propagation_timeout: seconds to keep retrying "No matching calculated attribute definition
        found" (a new or changed definition takes up to five minutes to reach mParticle's cache).
    :param preflight: when the connection has Platform API credentials, check before sending that each
        attribute exists with the mapped calculation type and cutoff date (a seed for another type or
        cutoff is silently useless).
    :param resume: use the checkpoint of an earlier attempt.
    :param progress_interval: seconds between two progress lines in the log.
    :param checkpoint_interval: seconds between two checkpoints.
    :param mparticle_conn_id: the mParticle connection.
    :return: a summary: users sent, requests, retries, rejected rows, duration, and more.
    """

    template_fields: Sequence[str] = (
        "calculated_attributes",
        "identities",
        "mpid_column",
        "user_attributes",
        "environment",
        "rows",
        "path",
        "sql",
        "parameters",
        "reject_path",
    )
    template_fields_renderers = {"sql": "sql", "calculated_attributes": "json", "rows": "json"}
    ui_color = "#5ac8fa"

    def __init__(
        self,
        *,
        calculated_attributes: Sequence[Mapping[str, Any]],
        identities: Mapping[str, str] | None = None,
        mpid_column: str | None = None,
        user_attributes: Mapping[str, str] | None = None,
        environment: str = "production",
        rows: Iterable[Mapping[str, Any]] | None = None,
        path: Any = None,
        file_format: str | None = None,
        csv_delimiter: str = ",",
        sql: str | None = None,
        sql_conn_id: str | None = None,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        fetch_size: int = 10_000,
        on_invalid: str = "fail",
        max_invalid_share: float = 0.0,
        reject_path: str | None = None,
        validation_pass: bool = True,
        max_users_per_request: int = 100,
        max_request_bytes: int = 256_000,
        concurrency: int = 8,
        max_users_per_second: float | None = None,
        propagation_timeout: float = 360.0,
        preflight: bool = True,
        resume: bool = True,
        progress_interval: float = 30.0,
        checkpoint_interval: float = 15.0,
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.calculated_attributes = calculated_attributes
        self.identities = identities
        self.mpid_column = mpid_column
        self.user_attributes = user_attributes
        self.environment = environment
        self.rows = rows
        self.path = path
        self.file_format = file_format
        self.csv_delimiter = csv_delimiter
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.parameters = parameters
        self.fetch_size = fetch_size
        self.on_invalid = on_invalid
        self.max_invalid_share = max_invalid_share
        self.reject_path = reject_path
        self.validation_pass = validation_pass
        self.max_users_per_request = max_users_per_request
        self.max_request_bytes = max_request_bytes
        self.concurrency = concurrency
        self.max_users_per_second = max_users_per_second
        self.propagation_timeout = propagation_timeout
        self.preflight = preflight
        self.resume = resume
        self.progress_interval = progress_interval
        self.checkpoint_interval = checkpoint_interval
        self.mparticle_conn_id = mparticle_conn_id
        self._seeder: BulkSeeder | None = None

    # --- settings and sources ---

    def _check_settings(self) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        sources = [name for name in ("rows", "path", "sql") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise AirflowFailException(
                f"Set exactly one source of 'rows', 'path', 'sql'; got {', '.join(sources) or 'none'}."
            )
        if self.sql is not None and not self.sql_conn_id:
            raise AirflowFailException("Setting 'sql_conn_id' is required with 'sql'.")
        if self.on_invalid not in ("fail", "skip"):
            raise AirflowFailException(f"Setting 'on_invalid' is {self.on_invalid!r}; expected fail or skip.")
        if not 0 <= float(self.max_invalid_share) <= 1:
            raise AirflowFailException("Setting 'max_invalid_share' must be between 0 and 1.")
        if self.path is not None:
            self._file_format()
        if self.fetch_size < 1:
            raise AirflowFailException("Setting 'fetch_size' must be at least 1.")
        if self.rows is not None:
            if isinstance(self.rows, str | bytes | Mapping):
                raise AirflowFailException("Setting 'rows' must be a list of dicts (one per user).")
            if self.validation_pass and iter(self.rows) is self.rows:
                raise AirflowFailException(
                    "Setting 'rows' is a one-shot iterator, which cannot be read twice for the validation "
                    "pass: pass a list, or set validation_pass=False."
                )

    def _mapping(self) -> SeedMapping:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_mparticle.client import MParticleConfigError
        from airflow_provider_mparticle.client.seed_mapping import SeedMapping

        try:
            return SeedMapping(
                calculated_attributes=list(self.calculated_attributes or []),  # type: ignore[arg-type]
                identities=self.identities or {},
                mpid_column=self.mpid_column,
                user_attributes=self.user_attributes or {},
                environment=self.environment,
            )
        except (MParticleConfigError, TypeError) as error:
            raise AirflowFailException(str(error)) from None

    def _file_format(self) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        if self.file_format:
            if self.file_format not in ("csv", "jsonl"):
                raise AirflowFailException(
                    f"Setting 'file_format' is {self.file_format!r}; expected csv or jsonl."
                )
            return self.file_format
        name = str(self.path).lower()
        for suffix, kind in _FILE_FORMATS.items():
            if name.endswith(suffix):
                return kind
        raise AirflowFailException(
            f"Cannot tell the format of {self.path!s}: set file_format to csv or jsonl."
        )

    def _source_rows(self) -> Iterator[Mapping[str, Any]]:
        """The rows of the source, streamed; read again from the start on every call."""
        if self.rows is not None:
            yield from self.rows
        elif self.path is not None:
            yield from self._file_rows()
        else:
            yield from self._sql_rows()

    def _file_rows(self) -> Iterator[Mapping[str, Any]]:
        import csv
        import io

        from airflow.sdk.exceptions import AirflowFailException

        kind = self._file_format()
        path = self.path
        if isinstance(path, str) and "://" not in path:
            handle: Any = open(path, encoding="utf-8", newline="")  # noqa: SIM115
        else:
            from airflow.sdk import ObjectStoragePath

            target = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path))
            handle = io.TextIOWrapper(target.open("rb"), encoding="utf-8", newline="")  # type: ignore[no-untyped-call]
        with handle:
            if kind == "csv":
                yield from csv.DictReader(handle, delimiter=self.csv_delimiter)
                return
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as error:
                    raise AirflowFailException(
                        f"{path!s} line {line_number}: not valid JSON ({error})."
                    ) from None
                yield row

    def _sql_rows(self) -> Iterator[Mapping[str, Any]]:
        from contextlib import closing

        from airflow.providers.common.sql.hooks.sql import DbApiHook
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowFailException

        assert self.sql_conn_id is not None
        hook = BaseHook.get_connection(self.sql_conn_id).get_hook()  # type: ignore[no-untyped-call]
        if not isinstance(hook, DbApiHook):
            raise AirflowFailException(
                f"Connection {self.sql_conn_id!r} is not a SQL (DbApiHook) connection."
            )
        with closing(hook.get_conn()) as conn:
            # A named cursor is server-side on PostgreSQL; other drivers stream with fetchmany.
            if getattr(hook, "conn_type", "") == "postgres":
                cursor = conn.cursor(name="mparticle_seed")
            else:
                cursor = conn.cursor()
            with closing(cursor):
                if self.parameters is None:
                    cursor.execute(self.sql)
                else:
                    cursor.execute(self.sql, self.parameters)
                columns: list[str] | None = None
                while True:
                    batch = cursor.fetchmany(self.fetch_size)
                    if not batch:
                        return
                    if columns is None:
                        columns = [d[0] for d in cursor.description]
                    for record in batch:
                        yield dict(zip(columns, record, strict=False))

    def _job_key(self, mapping: SeedMapping) -> str:
        source: Any
        if self.rows is not None:
            source = ["rows", len(self.rows) if isinstance(self.rows, Sequence) else None]
        elif self.path is not None:
            source = ["path", str(self.path)]
        else:
            source = ["sql", self.sql_conn_id, self.sql, self.parameters]
        blob = json.dumps([mapping.describe(), source], sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    # --- preflight ---

    def _preflight(self, mapping: SeedMapping) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_mparticle.client.models import CalculationType
        from airflow_provider_mparticle.client.seed_mapping import normalize_cutoff
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        hook = MParticleHook(self.mparticle_conn_id)
        if not self.preflight:
            return
        if not hook.settings.has_platform_credentials:
            self.log.info("Preflight skipped: the connection has no Platform API credentials.")
            return
        problems = []
        with hook.get_client() as client:
            for ca in mapping.calculated_attributes:
                found = client.calculated_attributes.find_by_name(ca.name)
                if found is None:
                    problems.append(f"{ca.name!r} does not exist in the workspace")
                    continue
                seen = []
                for label, definition in (
                    ("draft", found.draft_definition),
                    ("active", found.active_definition),
                ):
                    if not definition:
                        continue
                    try:
                        kind = CalculationType.parse(str(definition.get("calculation_type")))
                    except ValueError:
                        kind = None
                    cutoff_raw = (definition.get("seeding") or {}).get("cutoff_date")
                    cutoff = normalize_cutoff(cutoff_raw, "cutoff_date") if cutoff_raw else None
                    rolling = (definition.get("time_period") or {}).get("type") == "within"
                    if kind is ca.calculation_type and cutoff == ca.cutoff_date and not rolling:
                        break
                    seen.append(
                        f"{label}: {getattr(kind, 'value', definition.get('calculation_type'))}, cutoff {cutoff}"
                        + (", rolling 'within' window (cannot be seeded)" if rolling else "")
                    )
                else:
                    problems.append(
                        f"{ca.name!r} is mapped as {ca.calculation_type.value} with cutoff {ca.cutoff_date}, "
                        f"but its definition is {'; '.join(seen) or 'missing'}"
                    )
        if problems:
            raise AirflowFailException(
                "Preflight failed, nothing was sent: "
                + "; ".join(problems)
                + ". Seeds for another calculation "
                "type or cutoff date are silently useless; fix the mapping or the definition "
                "(or set preflight=False)."
            )
        self.log.info("Preflight passed for %s.", ", ".join(ca.name for ca in mapping.calculated_attributes))

    # --- execution ---

    def execute(self, context: Context) -> dict[str, Any]:
        import time

        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_mparticle.client.bulk_seeding import (
            BulkSeeder,
            Pacer,
            PackingLimits,
            SeedingRejectedError,
            encode_user,
            pack,
        )
        from airflow_provider_mparticle.client.errors import MParticleConfigError
        from airflow_provider_mparticle.client.seed_mapping import SeedRowError
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        started = time.monotonic()
        self._check_settings()
        mapping = self._mapping()
        try:
            limits = PackingLimits(self.max_users_per_request, self.max_request_bytes)
            pacer = Pacer(self.max_users_per_second)
        except MParticleConfigError as error:
            raise AirflowFailException(str(error)) from None
        settings = MParticleHook(self.mparticle_conn_id).settings
        self._preflight(mapping)

        store = context.get("task_state_store") if self.resume else None
        job = self._job_key(mapping)
        resumed: dict[str, Any] = {}
        if store is not None:
            saved = store.get(SEED_CHECKPOINT_KEY)
            if isinstance(saved, dict) and saved.get("job") == job and _positive(saved.get("last_row")):
                resumed = saved
                self.log.info(
                    "Resuming after row %s: %s users were accepted by earlier attempts; rows after it are sent "
                    "(some may be sent again, which overwrites the same seeds).",
                    f"{saved['last_row']:,}",
                    f"{saved.get('users_sent', 0):,}",
                )
            elif saved:
                self.log.info("Ignoring a checkpoint of a different mapping or source; sending everything.")
        skip_through = int(resumed.get("last_row") or 0)

        rejects = _Rejects(self.reject_path, keep=1000)
        total_rows = 0
        to_send: int | None = None
        if self.validation_pass:
            valid = 0
            to_send = 0
            errors: list[SeedRowError] = []
            self.log.info("Validating every row before sending anything...")
            for row_number, row in enumerate(self._source_rows(), start=1):
                total_rows = row_number
                try:
                    encode_user(mapping.build(row, row_number), row_number, limits)
                except SeedRowError as error:
                    if self.on_invalid == "skip":
                        rejects.add(error, row)
                    elif len(errors) < 20:
                        errors.append(error)
                    else:
                        break
                    continue
                valid += 1
                if row_number > skip_through:
                    to_send += 1
            if errors:
                more = " (first 20 shown; there may be more)" if len(errors) == 20 else ""
                raise AirflowFailException(
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

        validated = self.validation_pass
        counted_rows = 0

        def users() -> Iterator[tuple[int, bytes]]:
            nonlocal counted_rows
            for row_number, row in enumerate(self._source_rows(), start=1):
                counted_rows = row_number
                if row_number <= skip_through:
                    continue
                try:
                    yield row_number, encode_user(mapping.build(row, row_number), row_number, limits)
                except SeedRowError as error:
                    if self.on_invalid == "fail":
                        raise AirflowFailException(
                            f"Invalid {error}. Rows before it may have been sent (validation_pass=False)."
                        ) from None
                    if not validated:
                        rejects.add(error, row)

        previous_users = int(resumed.get("users_sent", 0))
        previous_requests = int(resumed.get("requests", 0))

        def save(checkpoint: Checkpoint) -> None:
            if store is None or checkpoint.chunks == 0:
                return
            store.set(
                SEED_CHECKPOINT_KEY,
                {
                    "job": job,
                    "last_row": checkpoint.last_row,
                    "users_sent": previous_users + checkpoint.users,
                    "requests": previous_requests + checkpoint.chunks,
                    "saved_at": dt.datetime.now(dt.UTC).isoformat(),
                },
            )

        seeder = BulkSeeder(
            settings,
            concurrency=self.concurrency,
            pacer=pacer,
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
                report = seeder.run(pack(users(), limits))
        except SeedingRejectedError as error:
            raise AirflowFailException(str(error)) from error
        finally:
            self._seeder = None
            rejects.close()
        if not validated:
            self._check_reject_share(rejects.count, counted_rows)
        if store is not None:
            store.delete(SEED_CHECKPOINT_KEY)
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

    def _check_reject_share(self, rejected: int, rows: int) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        if rejected and rows and rejected / rows > float(self.max_invalid_share):
            raise AirflowFailException(
                f"{rejected:,} of {rows:,} rows are invalid ({100 * rejected / rows:.2f}%), more than "
                f"max_invalid_share={self.max_invalid_share}"
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

    def on_kill(self) -> None:
        if self._seeder is not None:
            self._seeder.stop()


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

    def add(self, error: Any, row: Any) -> None:
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


# --- end of seeding --------------------------------------------------------------------------------


# --- Calculated attribute lifecycle: ensure / activate / delete draft (keep this block together) ---

DEFINITION_FILE_SUFFIXES = (".json", ".yaml", ".yml")
# XCom key of the summary the ensure operator pushes (seeding needs the calculation type and cutoff).
XCOM_SUMMARY_KEY = "calculated_attribute"


def _client(conn_id: str) -> MParticleClient:
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    return MParticleHook(conn_id).get_client()


def _label(ca: CalculatedAttribute, start: bool = False) -> str:
    # Only the first letter of the sentence is raised: names keep their case.
    return f"{'C' if start else 'c'}alculated attribute {ca.name!r} (id {ca.id})"


class MParticleEnsureCalculatedAttributeOperator(BaseOperator):
    """Make the workspace hold a calculated attribute as defined in code; idempotent.

    Creates the calculated attribute when none has the name, updates its draft definition (and
    description) when they differ, and does nothing when they match (``datapoint`` / ``data_point``,
    ``min`` / ``minimum``, zone-less timestamps and empty fields compare equal). The definition is
    checked against the documented rules first, and every problem is reported with its field before
    anything is sent.

    Changes after which mParticle deletes the seeds already sent (rename, calculation type, seeding
    cutoff date) are refused unless ``allow_seed_reset=True``; a seeding cutoff on a rolling ``within``
    window is always refused (such windows cannot be seeded).

    Returns the calculated attribute's id; pushes ``calculated_attribute_id``,
    ``calculated_attribute_name``, the UI link and ``calculated_attribute`` (id, name, calculation type,
    cutoff date, action taken) to XCom.

    :param definition: a dict, a JSON / YAML document, or the path of a ``.json`` / ``.yaml`` file
        (absolute, or relative to the DAG folder or ``template_searchpath``). Either
        ``{name, description, draft_definition}`` or a bare draft definition with ``ca_name``. Templated;
        a file's content is rendered with Jinja too.
    :param ca_name: the calculated attribute's name, when the definition does not carry it (templated).
    :param description: its description (templated); None keeps what the definition says, if anything.
    :param ca_id: ensure this calculated attribute (found by id, so a new name is a rename) instead of
        looking it up by name (templated).
    :param allow_seed_reset: allow changes that make mParticle delete the existing seeds.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    template_fields: Sequence[str] = ("definition", "ca_name", "description", "ca_id", "mparticle_conn_id")
    template_fields_renderers = {"definition": "json"}
    operator_extra_links = (MParticleCalculatedAttributeLink(),)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        definition: dict[str, Any] | str,
        ca_name: str | None = None,
        description: str | None = None,
        ca_id: int | str | None = None,
        allow_seed_reset: bool = False,
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.ca_name = ca_name
        self.description = description
        self.ca_id = ca_id
        self.allow_seed_reset = allow_seed_reset
        self.mparticle_conn_id = mparticle_conn_id

    def _definition_file(self, value: str) -> str:
        import os

        if os.path.isabs(value):
            return value
        folders: list[str] = []
        if self.has_dag():
            folders.append(self.dag.folder)
            searchpath = self.dag.template_searchpath
            folders += [searchpath] if isinstance(searchpath, str) else list(searchpath or [])
        for folder in folders:
            candidate = os.path.join(folder, value)
            if os.path.isfile(candidate):
                return candidate
        return value

    def load_definition(self, context: Context | None = None) -> Any:
        """The definition as a Python object: the dict given, or the document parsed (file read first)."""
        import json
        import pathlib

        import yaml

        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        value = self.definition
        if isinstance(value, pathlib.Path):
            value = str(value)
        if not isinstance(value, str):
            return value
        text, source = value, "definition"
        if "\n" not in value and value.strip().lower().endswith(DEFINITION_FILE_SUFFIXES):
            path = self._definition_file(value.strip())
            try:
                text = pathlib.Path(path).read_text(encoding="utf-8")
            except OSError as error:
                raise MParticleTaskFailure(f"definition: cannot read file {value!r}: {error}") from error
            source = f"definition file {path}"
            if context is not None:
                rendered = self.render_template(text, context)
                if not isinstance(rendered, str):
                    return rendered
                text = rendered
        try:
            if source.endswith(".json") or text.lstrip().startswith("{"):
                return json.loads(text)
            return yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as error:
            raise MParticleTaskFailure(f"{source}: not valid JSON / YAML: {error}") from error

    def parse(self, context: Context | None = None) -> CalculatedAttributeSpec:
        """Load and check the definition; a failure names every offending field."""
        from airflow_provider_mparticle.client.calculated_attribute_definitions import (
            CalculatedAttributeDefinitionError,
            parse_spec,
        )
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            return parse_spec(self.load_definition(context), self.ca_name, self.description)
        except CalculatedAttributeDefinitionError as error:
            raise MParticleTaskFailure(str(error)) from error

    def execute(self, context: Context) -> int:
        from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
        from airflow_provider_mparticle.client.calculated_attribute_definitions import (
            definitions_equal,
            seed_deleting_changes,
        )
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute

        spec = self.parse(context)
        with _client(self.mparticle_conn_id) as client:
            api = client.calculated_attributes
            workspace = client.settings.require_workspace()
            if self.ca_id not in (None, ""):
                try:
                    existing: CalculatedAttribute | None = api.get(int(self.ca_id))  # type: ignore[arg-type]
                except MParticleNotFoundError as error:
                    raise MParticleTaskFailure(
                        f"Calculated attribute id {self.ca_id} does not exist."
                    ) from error
            else:
                existing = api.find_by_name(spec.name)
            try:
                if existing is None:
                    ca_id = api.create(spec.name, spec.draft_definition, spec.description)
                    action = "created"
                    publish_calculated_attribute(context, workspace, ca_id, spec.name)
                    self.log.info("Created calculated attribute %r (id %s).", spec.name, ca_id)
                else:
                    ca_id = existing.id
                    publish_calculated_attribute(context, workspace, ca_id, existing.name)
                    action = self._update(api, existing, spec, definitions_equal, seed_deleting_changes)
                    if action == "updated":
                        publish_calculated_attribute(context, workspace, ca_id, spec.name)
            except MParticleValidationError as error:
                raise MParticleTaskFailure(
                    f"mParticle refused calculated attribute {spec.name!r}: {'; '.join(error.messages) or error}"
                ) from error
        context["ti"].xcom_push(
            key=XCOM_SUMMARY_KEY,
            value={
                "id": ca_id,
                "name": spec.name,
                "calculation_type": spec.calculation_type.value,
                "cutoff_date": spec.cutoff_date,
                "action": action,
            },
        )
        return ca_id

    def _update(
        self,
        api: Any,
        existing: CalculatedAttribute,
        spec: CalculatedAttributeSpec,
        equal: Any,
        changes_of: Any,
    ) -> str:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        # Seeds are bound to the definition that will be active next: the draft, else the active one.
        current = existing.draft_definition or existing.active_definition
        same_definition = equal(current, spec.draft_definition)
        same_name = existing.name == spec.name
        same_description = spec.description is None or spec.description == existing.description
        if same_definition and same_name and same_description:
            self.log.info("%s already matches the definition; nothing to do.", _label(existing, start=True))
            return "unchanged"
        if not same_name and existing.is_active:
            raise MParticleTaskFailure(
                f"Cannot rename {_label(existing)} to {spec.name!r}: mParticle allows renaming only before "
                'activation ("Calculated attribute name cannot be changed once the calculated attribute has '
                'been activated.").'
            )
        changes = changes_of(existing.name, current, spec.name, spec.draft_definition)
        if changes:
            if not self.allow_seed_reset:
                raise MParticleTaskFailure(
                    f"Refusing to change {_label(existing)}: {', '.join(changes)} makes mParticle delete the "
                    "seeds already sent for it. Set allow_seed_reset=True to do it anyway (and seed again)."
                )
            self.log.warning("%s: %s; mParticle deletes its seeds.", _label(existing), ", ".join(changes))
        api.update(
            existing.id,
            name=spec.name,
            draft_definition=None if same_definition else spec.draft_definition,
            description=None if same_description else spec.description,
        )
        self.log.info(
            "Updated %s (%s).",
            _label(existing),
            ", ".join(
                part
                for part, changed in (
                    ("draft definition", not same_definition),
                    (f"name -> {spec.name!r}", not same_name),
                    ("description", not same_description),
                )
                if changed
            ),
        )
        return "updated"


class _OneCalculatedAttributeOperator(BaseOperator):
    """An operator acting on one existing calculated attribute, given by id or exact name.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    template_fields: Sequence[str] = ("ca_id", "ca_name", "mparticle_conn_id")
    operator_extra_links = (MParticleCalculatedAttributeLink(),)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        ca_id: int | str | None = None,
        ca_name: str | None = None,
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Whether an argument was given can be checked here; its rendered value only in execute().
        if ca_id is None and ca_name is None:
            raise ValueError("Give ca_id or ca_name.")
        self.ca_id = ca_id
        self.ca_name = ca_name
        self.mparticle_conn_id = mparticle_conn_id

    def _resolve(self, context: Context, client: MParticleClient) -> CalculatedAttribute:
        """Find the calculated attribute (failing the task if it is missing) and publish its link."""
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute

        ca = MParticleHook.get_calculated_attribute(client, self.ca_id, self.ca_name)
        publish_calculated_attribute(context, client.settings.require_workspace(), ca.id, ca.name)
        return ca


class MParticleActivateCalculatedAttributeOperator(_OneCalculatedAttributeOperator):
    """Activate a calculated attribute's draft definition, and optionally wait for its calculation.

    Activating a calculated attribute that is already active and has no draft is a no-op (so reruns
    succeed). mParticle's documented refusals fail the task without retries and with its message:
    the account limit on active calculated attributes, and "No draft definition was found to activate".

    Returns ``{ca_id, name, activated}`` plus, when waiting, the final calculation status.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param wait_for_calculation: wait until ``is_calculated`` (initial calculations can take hours).
    :param poll_interval: seconds between calculation checks while waiting.
    :param timeout: how long to wait (seconds or timedelta); then the task fails.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    def __init__(
        self,
        *,
        wait_for_calculation: bool = False,
        poll_interval: float = 60.0,
        timeout: float | dt.timedelta = dt.timedelta(days=7),
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_calculation = wait_for_calculation
        self.poll_interval = float(poll_interval)
        self.timeout = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else float(timeout)
        self.deferrable = deferrable

    def _activate(self, client: MParticleClient, ca: CalculatedAttribute) -> bool:
        from airflow_provider_mparticle.client import MParticleValidationError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            client.calculated_attributes.activate(ca.id)
        except MParticleValidationError as error:
            said = "; ".join(error.messages) or str(error)
            lowered = said.lower()
            if "no draft definition" in lowered:
                if ca.is_active:
                    self.log.info("%s is already active and has no draft: nothing to activate.", _label(ca))
                    return False
                raise MParticleTaskFailure(
                    f"Cannot activate {_label(ca)}: it has no draft definition (mParticle: {said!r}). "
                    "Give it one first, e.g. with MParticleEnsureCalculatedAttributeOperator."
                ) from error
            if "limit on active calculated attributes" in lowered:
                raise MParticleTaskFailure(
                    f"Cannot activate {_label(ca)}: the account limit on active calculated attributes is "
                    f"reached (mParticle: {said!r}). Delete unneeded active calculated attributes or ask "
                    "your mParticle account representative to raise the limit."
                ) from error
            raise MParticleTaskFailure(f"mParticle refused to activate {_label(ca)}: {said}") from error
        self.log.info("Activated %s.", _label(ca))
        return True

    def execute(self, context: Context) -> dict[str, Any]:
        import time

        with _client(self.mparticle_conn_id) as client:
            ca = self._resolve(context, client)
            result: dict[str, Any] = {
                "ca_id": ca.id,
                "name": ca.name,
                "activated": self._activate(client, ca),
            }
            if not self.wait_for_calculation:
                return result
            deadline = time.time() + self.timeout
            status = self._check(client, ca)
            if status is not None:
                return {**result, **status}
            if self.deferrable:
                from airflow_provider_mparticle.triggers.calculated_attributes import (
                    MParticleCalculationTrigger,
                )

                self.defer(
                    trigger=MParticleCalculationTrigger(
                        ca_id=ca.id,
                        ca_name=ca.name,
                        mparticle_conn_id=self.mparticle_conn_id,
                        deadline=deadline,
                        poll_interval=self.poll_interval,
                    ),
                    method_name="execute_complete",
                    kwargs={"result": result},
                )
            while time.time() < deadline:
                time.sleep(min(self.poll_interval, max(deadline - time.time(), 0)))
                status = self._check(client, ca)
                if status is not None:
                    return {**result, **status}
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        raise MParticleTaskFailure(f"{_label(ca, start=True)} is still calculating after {self.timeout:g} s.")

    def _check(self, client: MParticleClient, ca: CalculatedAttribute) -> dict[str, Any] | None:
        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            status = client.calculated_attributes.calculation_status(ca.id)
        except MParticleNotFoundError as error:
            raise MParticleTaskFailure(f"{_label(ca, start=True)} is gone: {error}") from error
        progress = status.progress_text()
        if status.is_calculated:
            self.log.info("%s is calculated (%s).", _label(ca, start=True), progress)
            return status.summary()
        if progress != getattr(self, "_last_progress", None):
            self.log.info("%s: calculation %s", _label(ca, start=True), progress)
            self._last_progress = progress
        return None

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume from the trigger: validate the event, then succeed, fail, or retry a transient error."""
        from airflow_provider_mparticle.events import resume
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        event = resume(event, ("ca_id", "is_calculated"), on_timeout=MParticleTaskFailure)
        self.log.info("%s", event["message"])
        payload = {k: v for k, v in event.items() if k not in ("status", "message")}
        return {**(result or {}), **payload}


class MParticleDeleteCalculatedAttributeDraftOperator(_OneCalculatedAttributeOperator):
    """Discard a calculated attribute's draft definition (the active definition, if any, stays).

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param missing_ok: succeed (returning None) when the calculated attribute does not exist.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    def __init__(self, *, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> int | None:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        with _client(self.mparticle_conn_id) as client:
            try:
                ca = self._resolve(context, client)
            except MParticleTaskFailure:
                if not self.missing_ok:
                    raise
                self.log.info(
                    "Calculated attribute %s does not exist; nothing to do.", self.ca_id or self.ca_name
                )
                return None
            if ca.draft_definition is None:
                self.log.info("%s has no draft definition; nothing to discard.", _label(ca, start=True))
            else:
                client.calculated_attributes.delete_draft(ca.id)
                self.log.info("Discarded the draft definition of %s.", _label(ca))
        return ca.id


# --- End of the calculated attribute lifecycle block ---
