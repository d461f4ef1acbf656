"""The seed operator: bulk seeding of calculated attributes from a list, a file or a SQL query.

The load itself (validation pass, resume, send, summary) is :class:`~airflow_provider_mparticle.client.seeding.job.SeedJob`;
this module turns the operator's settings into a job and Airflow's context into its checkpoint store, and
adds the row sources that need Airflow (object storage, SQL connections). Heavy imports happen inside
``execute`` so that the scheduler can import DAG files cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_mparticle.client.seeding.job import SeedJob
    from airflow_provider_mparticle.client.seeding.mapping import SeedMapping
    from airflow_provider_mparticle.client.seeding.sources import RowSource

SEED_CHECKPOINT_KEY = "mparticle_seed_checkpoint"
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


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

    **Resume.** The operator stores in ``task_state_store`` (Airflow 3.3 durable execution; survives
    retries, scoped to the run, task and map index) the last source row through which every bulk request
    was accepted, with a digest of the identities of all rows up to it. A retry reads the rows up to that
    row again, recomputes the digest and skips them only when it matches; otherwise (rows in another
    order, a replaced file, other rows) it logs why and sends everything. So a SQL source needs a stable
    order (``ORDER BY`` a unique key) to resume: a query without ``ORDER BY`` gets a warning. Files are
    also told apart by size and modification time (ETag / version on object stores). The checkpoint is
    written by a background thread, back to back, never from the sending loop; a request keeps its
    sending slot until a stored checkpoint covers it, so a retry after any crash, even a SIGKILL of the
    task process, resends at most ``2 x concurrency`` requests' worth of users (1,600 at the defaults).
    Resending is harmless: a seed overwrites the earlier one. The bound holds when the worker dies and
    orphans the task process too: before every request the load checks that its parent process (Airflow's
    task supervisor) is still its parent, and stops when it is not or when the checkpoint store's channel
    closes: no new request, the requests in flight finish, and the task process exits with an error. A
    failing checkpoint store holds the sending, is retried with backoff and, failing 5 times in a row,
    stops the load. The checkpoint is deleted when the task succeeds (so clearing a successful task sends
    everything again). Without a task state store (older Airflow, a bare ``execute()`` call) a retry
    starts over.

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
    :param encoding: the file's text encoding; the default ``utf-8-sig`` reads UTF-8 with or without the
        byte order mark Excel writes. A byte that does not decode fails the task naming file, line and
        column (so do a malformed JSON line and a CSV field longer than ``max_request_bytes``).
    :param sql: a query returning one row per user. (templated)
    :param sql_conn_id: the Airflow SQL connection to run it on (any ``DbApiHook``). (templated)
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
    :param workspace_users_per_second: the workspace's seeding budget in users per second, if known
        (None: the pacer finds the room from mParticle's answers). A mapped task (``.expand()``) takes its
        share: the budget divided by the number of mapped tasks, which Airflow knows at run time. With
        ``max_users_per_second`` the lower ceiling applies.
    :param propagation_timeout: seconds to keep retrying "No matching calculated attribute definition
        found" (a new or changed definition takes up to five minutes to reach mParticle's cache).
    :param preflight: when the connection has Platform API credentials, check before sending that each
        attribute exists with the mapped calculation type and cutoff date (a seed for another type or
        cutoff is silently useless).
    :param resume: use the checkpoint of an earlier attempt (after checking the rows read the same).
    :param progress_interval: seconds between two progress lines in the log (the first one comes after
        five seconds when that is sooner).
    :param checkpoint_interval: minimum seconds between two checkpoint writes (default 0: each write
        starts as soon as the previous one returned). A request stays counted against ``concurrency``
        until a stored checkpoint covers it, so a larger value slows the load rather than resending more.
    :param mparticle_conn_id: the mParticle connection. (templated)
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
        "mparticle_conn_id",
        "sql_conn_id",
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
        encoding: str = "utf-8-sig",
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
        workspace_users_per_second: float | None = None,
        propagation_timeout: float = 360.0,
        preflight: bool = True,
        resume: bool = True,
        progress_interval: float = 30.0,
        checkpoint_interval: float = 0.0,
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
        self.encoding = encoding
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
        self.workspace_users_per_second = workspace_users_per_second
        self.propagation_timeout = propagation_timeout
        self.preflight = preflight
        self.resume = resume
        self.progress_interval = progress_interval
        self.checkpoint_interval = checkpoint_interval
        self.mparticle_conn_id = mparticle_conn_id
        self._job: SeedJob | None = None

    def _check_settings(self) -> None:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        sources = [name for name in ("rows", "path", "sql") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise MParticleTaskFailure(
                f"Set exactly one source of 'rows', 'path', 'sql'; got {', '.join(sources) or 'none'}."
            )
        if self.sql is not None and not self.sql_conn_id:
            raise MParticleTaskFailure("Setting 'sql_conn_id' is required with 'sql'.")
        if self.on_invalid not in ("fail", "skip"):
            raise MParticleTaskFailure(f"Setting 'on_invalid' is {self.on_invalid!r}; expected fail or skip.")
        if not 0 <= float(self.max_invalid_share) <= 1:
            raise MParticleTaskFailure("Setting 'max_invalid_share' must be between 0 and 1.")
        if self.fetch_size < 1:
            raise MParticleTaskFailure("Setting 'fetch_size' must be at least 1.")
        if self.rows is not None:
            if isinstance(self.rows, str | bytes | Mapping):
                raise MParticleTaskFailure("Setting 'rows' must be a list of dicts (one per user).")
            if self.validation_pass and iter(self.rows) is self.rows:
                raise MParticleTaskFailure(
                    "Setting 'rows' is a one-shot iterator, which cannot be read twice for the validation "
                    "pass: pass a list, or set validation_pass=False."
                )

    def _mapping(self) -> SeedMapping:
        from airflow_provider_mparticle.client import MParticleConfigError
        from airflow_provider_mparticle.client.seeding.mapping import SeedMapping
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            return SeedMapping(
                calculated_attributes=list(self.calculated_attributes or []),  # type: ignore[arg-type]
                identities=self.identities or {},
                mpid_column=self.mpid_column,
                user_attributes=self.user_attributes or {},
                environment=self.environment,
            )
        except (MParticleConfigError, TypeError) as error:
            raise MParticleTaskFailure(str(error)) from None

    def _source(self) -> RowSource:
        """The one source set, behind the :class:`RowSource` seam."""
        from airflow_provider_mparticle.client.seeding.sources import FileSource, ListSource

        if self.rows is not None:
            return ListSource(self.rows)
        if self.path is not None:
            path = self.path
            options: dict[str, Any] = {
                "file_format": self.file_format,
                "csv_delimiter": self.csv_delimiter,
                "encoding": self.encoding,
                "field_size_limit": self.max_request_bytes,
            }
            if isinstance(path, str) and "://" not in path:
                return FileSource(path, **options)
            return ObjectStorageSource(path, **options)
        if self.resume and not _ORDER_BY.search(str(self.sql)):
            self.log.warning(
                "The query has no ORDER BY: a retry can resume only when the query returns the rows in the "
                "same order; without a stable order it finds the rows changed and sends them all again. "
                "Order by a unique key (e.g. ORDER BY customer_id)."
            )
        return SqlSource(self.sql_conn_id or "", str(self.sql), self.parameters, self.fetch_size)

    def _preflight(self, mapping: SeedMapping) -> None:
        from airflow_provider_mparticle.client.calculated_attributes.definitions import seed_target_problem
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
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
                problem = seed_target_problem(
                    ca.name,
                    ca.calculation_type,
                    ca.cutoff_date,
                    {"draft": found.draft_definition, "active": found.active_definition},
                )
                if problem:
                    problems.append(problem)
        if problems:
            raise MParticleTaskFailure(
                "Preflight failed, nothing was sent: "
                + "; ".join(problems)
                + ". Seeds for another calculation type or cutoff date are silently useless; fix the "
                "mapping or the definition (or set preflight=False)."
            )
        self.log.info("Preflight passed for %s.", ", ".join(ca.name for ca in mapping.calculated_attributes))

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_mparticle.client.core.errors import MParticleConfigError
        from airflow_provider_mparticle.client.seeding.bulk import PackingLimits, SeedingRejectedError
        from airflow_provider_mparticle.client.seeding.job import SeedJob, SeedJobError
        from airflow_provider_mparticle.client.seeding.pacing import Pacer
        from airflow_provider_mparticle.client.seeding.sources import SeedSourceError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        self._check_settings()
        mapping = self._mapping()
        try:
            limits = PackingLimits(self.max_users_per_request, self.max_request_bytes)
            pacer = Pacer(self._rate_ceiling(context))
            source = self._source()
        except (MParticleConfigError, SeedSourceError) as error:
            raise MParticleTaskFailure(str(error)) from None
        settings = MParticleHook(self.mparticle_conn_id).settings
        self._preflight(mapping)
        job = SeedJob(
            settings,
            mapping,
            source,
            limits=limits,
            pacer=pacer,
            on_invalid=self.on_invalid,
            max_invalid_share=self.max_invalid_share,
            reject_path=self.reject_path,
            validation_pass=self.validation_pass,
            concurrency=self.concurrency,
            propagation_timeout=self.propagation_timeout,
            progress_interval=self.progress_interval,
            checkpoint_interval=self.checkpoint_interval,
            store=context.get("task_state_store") if self.resume else None,
            checkpoint_key=SEED_CHECKPOINT_KEY,
            log=self.log,
        )
        self._job = job
        try:
            return job.run()
        except (SeedJobError, SeedSourceError, SeedingRejectedError) as error:
            raise MParticleTaskFailure(str(error)) from error
        finally:
            self._job = None

    def _rate_ceiling(self, context: Context) -> float | None:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        budget = self.workspace_users_per_second
        if budget is None:
            return self.max_users_per_second
        if budget <= 0:
            raise MParticleTaskFailure("Setting 'workspace_users_per_second' must be positive.")
        tasks = _mapped_tasks(context)
        share = budget / tasks
        self.log.info(
            "Workspace budget %s users/s shared by %d mapped task(s): this one sends at most %s users/s.",
            f"{budget:,g}",
            tasks,
            f"{share:,.0f}",
        )
        return share if self.max_users_per_second is None else min(share, self.max_users_per_second)

    def on_kill(self) -> None:
        if self._job is not None:
            self._job.stop()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the source read and the calculated attributes written, with the users sent.

        See :func:`airflow_provider_mparticle.openlineage.seed_lineage` (None without the provider).

        :param task_instance: the finished task instance.
        """
        from airflow_provider_mparticle.openlineage import seed_lineage

        return seed_lineage(self, task_instance)


def _mapped_tasks(context: Context) -> int:
    """How many task instances share the budget: the mapped task's expanded length, else 1."""
    ti: Any = context.get("ti")
    map_index = getattr(ti, "map_index", None)
    if ti is None or map_index is None or map_index < 0:
        return 1
    count = context.get("expanded_ti_count")
    if not count:
        try:
            count = ti.get_ti_count(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id])
        except Exception:  # not under a task runner (a bare execute()): at least this index's worth
            count = None
    return max(int(count or 0), int(map_index) + 1, 1)


class ObjectStorageSource:
    """A CSV / JSON Lines file read through Airflow's ``ObjectStoragePath`` (S3, GCS, a URL, ``file://``).

    :param path: an ``ObjectStoragePath`` or its URL.
    :param options: the :class:`~airflow_provider_mparticle.client.seeding.sources.FileSource` options
        (``file_format``, ``csv_delimiter``, ``encoding``, ``field_size_limit``).
    """

    def __init__(self, path: Any, **options: Any) -> None:
        from airflow.sdk import ObjectStoragePath

        from airflow_provider_mparticle.client.seeding.sources import FileSource

        self.path = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path))
        self._file = FileSource(self.path, opener=self._open, **options)

    def _open(self) -> Any:
        return self.path.open("rb")  # type: ignore[no-untyped-call]

    def rows(self) -> Iterator[Mapping[str, Any]]:
        return self._file.rows()

    def key(self) -> Any:
        """The URL with what the store says of the object: size, ETag / version, modification time."""
        try:
            info = self.path.fs.info(self.path.path)
        except (OSError, ValueError, NotImplementedError):
            info = {}
        wanted = (
            "size",
            "ETag",
            "etag",
            "md5_hash",
            "version_id",
            "generation",
            "mtime",
            "LastModified",
            "updated",
        )
        return [*self._file.key(), {k: info[k] for k in wanted if info.get(k) is not None}]


class SqlSource:
    """The rows of a query on any Airflow SQL connection (a ``DbApiHook``), fetched in batches.

    :param conn_id: the SQL connection.
    :param sql: the query.
    :param parameters: its parameters.
    :param fetch_size: rows fetched per batch.
    """

    def __init__(
        self, conn_id: str, sql: str, parameters: Mapping[str, Any] | Sequence[Any] | None, fetch_size: int
    ) -> None:
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.fetch_size = fetch_size

    def rows(self) -> Iterator[Mapping[str, Any]]:
        from contextlib import closing

        from airflow.providers.common.sql.hooks.sql import DbApiHook
        from airflow.sdk import BaseHook

        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        hook = BaseHook.get_connection(self.conn_id).get_hook()  # type: ignore[no-untyped-call]
        if not isinstance(hook, DbApiHook):
            raise MParticleTaskFailure(f"Connection {self.conn_id!r} is not a SQL (DbApiHook) connection.")
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

    def key(self) -> Any:
        return ["sql", self.conn_id, self.sql, self.parameters]
