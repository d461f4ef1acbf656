"""Operators for Warehouse Sync: keep connections, data models and pipelines as code (plan, apply,
check); trigger a pipeline run and wait for it; pause and resume."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NoReturn

# airflow.sdk's on Airflow 3.3+; below 3.3 common.compat's stand-in, which triggers a new run on every
# try (there is no task_state_store to reconnect from).
from airflow.providers.common.compat.sdk import ResumableJobMixin
from airflow.sdk import BaseOperator, conf
from airflow.sdk.exceptions import AirflowException

from airflow_provider_mparticle.links.warehouse_sync import (
    PIPELINE_URL_XCOM_KEY,
    MParticlePipelineLink,
    pipeline_url,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Connection, Context

    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.warehouse_sync.documents import (
        WarehouseSyncDocument,
        WarehouseSyncPlan,
    )
    from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRun, TriggerIntent
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

DEFAULT_WAIT_TIMEOUT = 7 * 24 * 3600.0


class MParticleTriggerPipelineOperator(ResumableJobMixin, BaseOperator):
    """Trigger a Warehouse Sync pipeline run and (by default) wait for it to finish.

    Crash-safe: the run id is kept in ``task_state_store`` (Airflow 3.3+) right after the trigger, so a
    retry after a worker crash reconnects to that run (or returns its result if it already succeeded)
    instead of triggering another. An intent (pipeline, time, try number) is stored *before* the trigger
    is sent: a retry that finds an intent without a run id (the worker died between the POST and the
    answer) looks for a manual run of the pipeline started from then on and adopts it, running or
    finished, instead of triggering again. Without ``task_state_store`` the operator still works, without
    that recovery.

    Killing the task cannot stop the run (the API has no such call); ``on_kill`` chooses what happens,
    from the worker's ``on_kill`` and, while deferred, from the trigger's (only when the task was really
    killed, not when the trigger moves to another triggerer).

    Returns ``pipeline_id``, ``run_id``, ``status``, ``successful_records`` and ``failed_records``.

    :param pipeline_id: the pipeline to trigger (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    :param wait_for_completion: wait for the run to finish (default); if False, return once triggered.
    :param attach_if_running: when the pipeline already has a run in progress, wait for that run instead
        of failing with mParticle's "Pipeline X is already in progress.".
    :param max_failed_records: fail the task when a successful run reports more failed records than this.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``). The worker
        triggers the run (one token, one call; a retry that reconnects reads the stored run's status
        instead) and defers at once: the wait adds no call on the worker, the trigger's first poll is the
        first check of the run.
    :param check_before_defer: with ``deferrable``, read the run's status once on the worker before
        deferring (one more call, two when the run has failed; the token is the trigger's), so that a run
        already finished needs no trip through the triggerer.
    :param poll_interval: seconds between status checks.
    :param wait_timeout: seconds to wait for the run; then the task fails (a retry reconnects to the run).
    :param durable: remember the run id across retries (``ResumableJobMixin``).
    :param on_kill: ``"detach"`` (default: log the run id and its link; the run goes on) or
        ``"pause_pipeline"`` (also pause the pipeline, so that no further scheduled run starts).
    """

    template_fields = ("pipeline_id", "mparticle_conn_id")
    operator_extra_links = (MParticlePipelineLink(),)
    ui_color = "#5b3ae0"
    # Renaming these breaks reconnection for task instances already running.
    external_id_key = "mparticle_pipeline_run_id"
    intent_key = "mparticle_pipeline_trigger_intent"

    def __init__(
        self,
        *,
        pipeline_id: str,
        mparticle_conn_id: str = "mparticle_default",
        wait_for_completion: bool = True,
        attach_if_running: bool = True,
        max_failed_records: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        check_before_defer: bool = False,
        poll_interval: float = 60.0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_kill: str = "detach",
        **kwargs: Any,
    ) -> None:
        from airflow_provider_mparticle.client.warehouse_sync.models import KillPolicy

        super().__init__(**kwargs)
        # Stored under another name: ``on_kill`` is the method Airflow calls.
        self.kill_policy = KillPolicy.parse(on_kill).value
        if max_failed_records is not None and max_failed_records < 0:
            raise ValueError(f"max_failed_records must be >= 0, got {max_failed_records}.")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0, got {poll_interval}.")
        self.pipeline_id = pipeline_id
        self.mparticle_conn_id = mparticle_conn_id
        self.wait_for_completion = wait_for_completion
        self.attach_if_running = attach_if_running
        self.max_failed_records = max_failed_records
        self.deferrable = deferrable
        self.check_before_defer = check_before_defer
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self._client: MParticleClient | None = None
        self._result: dict[str, Any] | None = None
        self._run_id: int | str | None = None

    # --- plumbing -------------------------------------------------------------------------------

    @property
    def hook(self) -> MParticleHook:
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        return MParticleHook(self.mparticle_conn_id)

    @property
    def client(self) -> MParticleClient:
        if self._client is None:
            self._client = self.hook.get_client()
        return self._client

    def execute(self, context: Context) -> Any:
        ti = context.get("ti")
        if ti is not None:
            # Pushed first, so the link works while the run is going and when it fails.
            url = pipeline_url(
                self.hook.settings.workspace_id, self.pipeline_id, api_url=self.hook.settings.api_url
            )
            ti.xcom_push(key=PIPELINE_URL_XCOM_KEY, value=url)
        try:
            return self.execute_resumable(context)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    # --- ResumableJobMixin ----------------------------------------------------------------------

    def submit_job(self, context: Context) -> Any:
        """Trigger the pipeline; or, if it is already running and attaching is allowed, find that run."""
        from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
        from airflow_provider_mparticle.client.warehouse_sync.models import is_already_in_progress
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        api = self.client.warehouse_sync
        store = context.get("task_state_store")
        adopted = self._adopt_unanswered_trigger(store)
        if adopted is not None:
            self._run_id = adopted
            return adopted
        intent = self._store_intent(context, store)
        try:
            run_id = api.trigger(self.pipeline_id).pipeline_run_id
        except MParticleNotFoundError as error:
            raise MParticleTaskFailure(f"Pipeline {self.pipeline_id} was not found: {error}") from error
        except MParticleValidationError as error:
            if not (self.attach_if_running and is_already_in_progress(error)):
                raise MParticleTaskFailure(
                    f"Pipeline {self.pipeline_id} was not triggered: {error}"
                ) from error
            latest = api.report(self.pipeline_id).latest_pipeline_run
            if latest is None or latest.is_terminal or latest.id is None:
                raise MParticleTaskFailure(
                    f"Pipeline {self.pipeline_id} is in progress but its report shows no running run: {error}"
                ) from error
            self.log.info(
                "Pipeline %s is already running (run %s, %s); waiting for that run",
                self.pipeline_id,
                latest.id,
                latest.status_text,
            )
            self._run_id = latest.id
            if store is not None and intent is not None:
                store.set(self.intent_key, intent.answered(latest.id).as_json())
            return latest.id
        if run_id is None:
            raise MParticleTaskFailure(f"Triggering pipeline {self.pipeline_id} returned no pipeline_run_id.")
        self.log.info("Triggered pipeline %s: run %s", self.pipeline_id, run_id)
        self._run_id = run_id
        if store is not None and intent is not None:
            store.set(self.intent_key, intent.answered(run_id).as_json())
        return run_id

    def _store_intent(self, context: Context, store: Any) -> TriggerIntent | None:
        from airflow_provider_mparticle.client.warehouse_sync.models import TriggerIntent

        if store is None:
            return None
        ti = context.get("ti")
        try_number = getattr(ti, "try_number", None)
        intent = TriggerIntent.now(self.pipeline_id, try_number if isinstance(try_number, int) else None)
        store.set(self.intent_key, intent.as_json())
        return intent

    def _adopt_unanswered_trigger(self, store: Any) -> int | str | None:
        """The run a trigger started when its answer never got stored (worker killed in between), if any."""
        from airflow_provider_mparticle.client.warehouse_sync.models import TriggerIntent, run_started_by

        intent = TriggerIntent.from_json(store.get(self.intent_key)) if store is not None else None
        if intent is None or intent.run_id is not None or intent.pipeline_id != self.pipeline_id:
            return None
        api = self.client.warehouse_sync
        run = run_started_by(intent, api.iter_runs(self.pipeline_id, start_date=intent.search_from))
        if run is None or run.id is None:
            self.log.info(
                "A trigger of pipeline %s sent at %s (try %s) got no answer, and no run started since: "
                "triggering now",
                self.pipeline_id,
                intent.at,
                intent.try_number,
            )
            return None
        self.log.info(
            "A trigger of pipeline %s sent at %s (try %s) got no answer; adopting run %s (%s) that it "
            "started instead of triggering again",
            self.pipeline_id,
            intent.at,
            intent.try_number,
            run.id,
            run.status_text,
        )
        store.set(self.intent_key, intent.answered(run.id).as_json())
        return run.id

    def get_job_status(self, external_id: Any, context: Context) -> str:
        from airflow_provider_mparticle.client import MParticleNotFoundError

        try:
            return self.client.warehouse_sync.run(self.pipeline_id, external_id).status_text or "unknown"
        except MParticleNotFoundError:
            return "not_found"

    def is_job_active(self, status: str) -> bool:
        from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRunStatus

        parsed = PipelineRunStatus.parse(status)
        return parsed is not None and not parsed.is_terminal

    def is_job_succeeded(self, status: str) -> bool:
        from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRunStatus

        return PipelineRunStatus.parse(status) is PipelineRunStatus.SUCCESS

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait for the run: here (poll) or in the triggerer (deferrable). Returns the task's result."""
        api = self.client.warehouse_sync
        self._run_id = external_id
        deadline = time.time() + self.wait_timeout
        if self.wait_for_completion and self.deferrable and not self.check_before_defer:
            self._defer(external_id, deadline)  # no call: the trigger's first poll is the first check
        run = api.run(self.pipeline_id, external_id)
        if not self.wait_for_completion:
            self._result = run.result()
            return self._result
        if self.deferrable and not run.is_terminal:
            self._defer(external_id, deadline)
        while not run.is_terminal:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise AirflowException(
                    f"Pipeline {self.pipeline_id} run {external_id} is still {run.status_text} after "
                    f"{self.wait_timeout:.0f} s; a retry of this task reconnects to it."
                )
            self.log.info("Pipeline %s run %s is %s", self.pipeline_id, external_id, run.status_text)
            time.sleep(min(self.poll_interval, remaining))
            run = api.run(self.pipeline_id, external_id)
        self._result = self._finish(run)
        return self._result

    def _defer(self, run_id: int | str, deadline: float) -> NoReturn:
        from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger

        self.defer(
            trigger=MParticlePipelineRunTrigger(
                pipeline_id=self.pipeline_id,
                run_id=run_id,
                mparticle_conn_id=self.mparticle_conn_id,
                deadline=deadline,
                poll_interval=self.poll_interval,
                kill_policy=self.kill_policy,
            ),
            method_name="execute_complete",
        )

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        if self._result is not None and self._result.get("run_id") == external_id:
            return self._result
        return self._finish(self.client.warehouse_sync.run(self.pipeline_id, external_id))

    # --- outcome --------------------------------------------------------------------------------

    def _finish(self, run: PipelineRun) -> dict[str, Any]:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        if run.status is None or not run.status.is_success:
            problems = self.client.warehouse_sync.report(self.pipeline_id).problems()
            raise MParticleTaskFailure(run.failure_message(problems))
        result = run.result()
        self._check_failed_records(result)
        self.log.info(
            "Pipeline %s run %s succeeded: %s records synced, %s failed",
            self.pipeline_id,
            run.id,
            run.successful_records,
            run.failed_records,
        )
        return result

    def _check_failed_records(self, result: dict[str, Any]) -> None:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        failed = result.get("failed_records") or 0
        if self.max_failed_records is not None and failed > self.max_failed_records:
            raise MParticleTaskFailure(
                f"Pipeline {self.pipeline_id} run {result.get('run_id')} succeeded but {failed} records "
                f"failed, more than max_failed_records={self.max_failed_records}."
            )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume from the trigger: validate the event, then return the result, fail or retry.

        A timeout or a transient error (5xx, 429, network) is retryable: the run may still finish, and a
        retry reconnects to it.
        """
        from airflow_provider_mparticle.events import resume

        def timed_out(message: str) -> AirflowException:
            return AirflowException(f"{message} A retry of this task reconnects to the run.")

        event = resume(event, ("result",), on_timeout=timed_out)
        self.log.info("%s", event["message"])
        result: dict[str, Any] = event["result"]
        self._check_failed_records(result)
        return result

    def on_kill(self) -> None:
        """Apply the kill policy (``detach`` or ``pause_pipeline``) to the run this task was waiting for."""
        from airflow_provider_mparticle.client.warehouse_sync.models import KillPolicy

        policy = KillPolicy.parse(self.kill_policy)
        settings = self.hook.settings
        url = pipeline_url(settings.workspace_id, self.pipeline_id, api_url=settings.api_url)
        if policy is KillPolicy.PAUSE_PIPELINE:
            # A client of its own: the task's client may be in the middle of a request.
            with self.hook.get_client() as client:
                client.warehouse_sync.pause_pipeline(self.pipeline_id)
        self.log.warning("%s", policy.message(self.pipeline_id, self._run_id, url))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the data model's tables read and the workspace written, with records synced.

        See :func:`airflow_provider_mparticle.openlineage.pipeline_lineage` (None without the provider).

        :param task_instance: the finished task instance.
        """
        from airflow_provider_mparticle.openlineage import pipeline_lineage

        return pipeline_lineage(self, task_instance)


class _PipelineStateOperator(BaseOperator):
    target_state = ""
    template_fields = ("pipeline_id", "mparticle_conn_id")
    operator_extra_links = (MParticlePipelineLink(),)

    def __init__(self, *, pipeline_id: str, mparticle_conn_id: str = "mparticle_default", **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.mparticle_conn_id = mparticle_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        hook = MParticleHook(self.mparticle_conn_id)
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(
                key=PIPELINE_URL_XCOM_KEY,
                value=pipeline_url(
                    hook.settings.workspace_id, self.pipeline_id, api_url=hook.settings.api_url
                ),
            )
        with hook.get_client() as client:
            try:
                pipeline = client.warehouse_sync.set_pipeline_state(self.pipeline_id, self.target_state)
            except (MParticleNotFoundError, MParticleValidationError) as error:
                raise MParticleTaskFailure(
                    f"Could not set pipeline {self.pipeline_id} to {self.target_state}: {error}"
                ) from error
        self.log.info("Pipeline %s is %s (status %s)", pipeline.id, pipeline.state, pipeline.status_text)
        return {"pipeline_id": pipeline.id, "state": pipeline.state, "status": pipeline.status_text}


class MParticlePausePipelineOperator(_PipelineStateOperator):
    """Pause a Warehouse Sync pipeline (``state: paused``): it stops syncing until resumed.

    :param pipeline_id: the pipeline (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    target_state = "paused"


class MParticleResumePipelineOperator(_PipelineStateOperator):
    """Resume a paused Warehouse Sync pipeline (``state: active``).

    :param pipeline_id: the pipeline (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    target_state = "active"


# XCom key of the ids of the file's objects after an apply: {"connections": {key: id}, ...}.
WAREHOUSE_SYNC_IDS_KEY = "warehouse_sync_ids"


def warehouse_secret(conn: Connection, field: str) -> str | None:
    """A warehouse's secret from the Airflow connection a Warehouse Sync file names.

    BigQuery's ``service_account_key`` is the extra ``service_account_key`` or ``keyfile_dict`` (text or
    JSON object) when set, else the password; every other secret is the password.

    :param conn: the Airflow connection.
    :param field: the ``config`` field the secret is sent in.
    """
    import json

    if field == "service_account_key":
        extra = conn.extra_dejson or {}
        for name in ("service_account_key", "keyfile_dict"):
            value = extra.get(name)
            if isinstance(value, dict):
                return json.dumps(value)
            if value:
                return str(value)
    return conn.password or None


class MParticleEnsureWarehouseSyncOperator(BaseOperator):
    """Make the workspace's Warehouse Sync connections, data models and pipelines match a file kept in
    code (YAML or JSON, checked against the JSON Schema the provider ships); idempotent.

    The file (see :mod:`~airflow_provider_mparticle.client.warehouse_sync.documents`) keys every object;
    its mParticle **id is the file's ``id_prefix`` + its key** (or the ``id`` it gives). mParticle lets
    the client choose ids, so the key is kept in the live object's id and nothing else needs recording:
    an apply killed between a create and its answer finds the object by its id on the next try and never
    creates it twice. Live objects whose id starts with ``id_prefix`` but that the file no longer lists
    are shown as *absent* and kept; ``prune=True`` deletes them (pipelines first, connections last).
    Objects outside the prefix are never touched.

    ``mode="plan"`` compares the file with the live workspace and pushes the plan to XCom
    (``change_plan``), one readable diff per object: *create*, *update* field by field, *no change*, or
    *present live but absent from the file*; nothing is written. ``mode="check"`` also fails the task,
    without retries, when anything differs (a scheduled drift check). ``mode="apply"`` sends the writes
    in dependency order, connection -> data model -> pipeline (deletes in reverse); a second apply sends
    nothing. Fields mParticle fills in (a Snowflake connection's AWS identifiers, a Redshift port, a
    pipeline's feed) are compared only when the file gives them, and kept on update.

    **A running pipeline is never updated mid-run**, nor deleted, nor are the connection and data model
    it uses changed under it: the apply fails before sending anything, naming the pipeline, with a
    retryable error, so the task's ``retries`` / ``retry_delay`` apply the file once the run has ended
    (no worker slot is held meanwhile). A file that would leave more pipelines active than the
    workspace's limit (``active_pipeline_limit``, mParticle's 5) fails before sending anything, naming
    them. A pipeline paused outside the file (e.g. by a kill policy) shows as drift, and an apply sets
    the ``state`` the file gives.

    **Secrets never reach the file, the plan, XCom, the logs or the rendered fields**: a connection's
    warehouse secret (Snowflake and Redshift ``password``, BigQuery ``service_account_key``) is read
    from the Airflow connection it names in ``credentials.airflow_conn_id`` (see
    :func:`warehouse_secret`), masked in the logs, and added to the request body only when it is sent,
    on create and on every update of that connection. The API hands secrets back masked, so a rotated
    secret alone is not drift: it is sent with the connection's next update, or at once by an apply with
    ``resend_secrets=True`` (which updates every connection of the file that takes a secret).

    Returns, in ``apply`` mode, ``{"source", "applied": [{kind, key, id, outcome}], "ids"}`` and pushes
    ``ids`` (``{"connections": {key: id}, "data_models": ..., "pipelines": ...}``) to XCom as
    ``warehouse_sync_ids``; the plan as JSON in ``plan`` and ``check`` modes.

    :param file: path of the ``.yaml`` / ``.yml`` / ``.json`` file (absolute, or relative to the DAG
        folder or ``template_searchpath``); templated. Its content is not rendered with Jinja: what is
        reviewed is what is applied.
    :param mode: ``apply`` (default), ``plan`` or ``check`` (templated).
    :param prune: delete live objects in the file's ``id_prefix`` that the file no longer lists (never a
        running pipeline).
    :param active_pipeline_limit: the workspace's limit on active pipelines, checked before writing
        (None: not checked).
    :param resend_secrets: also update the connections that match the file, to send their secret again
        (after a rotation in the Airflow connection); not drift for ``check``.
    :param mparticle_conn_id: the ``mparticle`` connection (Platform API client id and secret; templated).
    """

    template_fields: Sequence[str] = ("file", "mode", "mparticle_conn_id")
    ui_color = "#5b3ae0"

    def __init__(
        self,
        *,
        file: str,
        mode: str = "apply",
        prune: bool = False,
        active_pipeline_limit: int | None = 5,
        resend_secrets: bool = False,
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.file = file
        self.mode = mode
        self.prune = prune
        self.active_pipeline_limit = active_pipeline_limit
        self.resend_secrets = resend_secrets
        self.mparticle_conn_id = mparticle_conn_id

    def load_document(self) -> WarehouseSyncDocument:
        """Read and check the file; a problem fails the task (no retry), naming file, key, line and reason."""
        from airflow_provider_mparticle.client.warehouse_sync.documents import (
            WarehouseSyncDocumentError,
            load_document_file,
        )
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.plans import resolve_file

        try:
            return load_document_file(resolve_file(self, str(self.file).strip()))
        except WarehouseSyncDocumentError as error:
            raise MParticleTaskFailure(str(error)) from None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_mparticle.client.plans import ChangeMode
        from airflow_provider_mparticle.client.warehouse_sync.apply import (
            WarehouseSyncApplyError,
            apply_plan,
            check_before_writing,
            read_live,
        )
        from airflow_provider_mparticle.client.warehouse_sync.documents import SECTIONS, plan_document
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook
        from airflow_provider_mparticle.plans import finish_without_apply, parse_mode, publish_plan

        mode = parse_mode(self.mode)
        document = self.load_document()
        with MParticleHook(self.mparticle_conn_id).get_client() as client:
            api = client.warehouse_sync
            live, running = read_live(api)
            plan = plan_document(
                document, live, prune=self.prune, running=running, resend_secrets=self.resend_secrets
            )
            publish_plan(context, plan)
            if mode is not ChangeMode.APPLY:
                return finish_without_apply(self.log, plan, mode)
            self.log.info("%s", plan.text())
            try:
                check_before_writing(plan, live, self.active_pipeline_limit)
                secrets = self._secrets(document, plan)
                applied = apply_plan(api, plan, secrets, lambda line: self.log.info("%s", line))
            except WarehouseSyncApplyError as error:
                if error.retryable:
                    raise AirflowException(str(error)) from None
                raise MParticleTaskFailure(str(error)) from None
        kinds = {kind: section for section, kind in SECTIONS.items()}
        ids: dict[str, dict[str, str]] = {section: {} for section in SECTIONS}
        for spec in document.resources:
            ids[kinds[spec.kind]][spec.key] = spec.id
        written = [a.text() for a in applied if a.outcome not in ("unchanged", "kept")]
        self.log.info("Applied %s: %s", document.source, "; ".join(written) or "nothing to write")
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=WAREHOUSE_SYNC_IDS_KEY, value=ids)
        return {"source": document.source, "applied": [a.as_dict() for a in applied], "ids": ids}

    def _secrets(self, document: WarehouseSyncDocument, plan: WarehouseSyncPlan) -> dict[str, str | None]:
        """The secrets of the connections this apply creates or updates, read before anything is sent."""
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
        from airflow.sdk.log import mask_secret

        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        secrets: dict[str, str | None] = {}
        for change in plan.changes:
            spec = change.spec
            if spec is None or not change.writes or spec.secret_field is None:
                continue
            where = f"{document.source}: connections.{spec.key}.credentials.airflow_conn_id"
            try:
                conn = BaseHook.get_connection(str(spec.credentials_conn_id))
            except AirflowNotFoundException:
                raise MParticleTaskFailure(
                    f"{where}: the Airflow connection {spec.credentials_conn_id!r} does not exist. "
                    "Nothing was sent."
                ) from None
            secret = warehouse_secret(conn, spec.secret_field)
            if not secret:
                raise MParticleTaskFailure(
                    f"{where}: the Airflow connection {spec.credentials_conn_id!r} holds no "
                    f"{spec.secret_field} (its password). Nothing was sent."
                )
            mask_secret(secret)
            secrets[spec.key] = secret
        return secrets
