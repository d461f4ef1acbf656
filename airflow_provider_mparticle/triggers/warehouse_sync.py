"""Trigger that waits for a Warehouse Sync pipeline run to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.triggers.base import MParticleBasePollingTrigger

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_mparticle.client import AsyncMParticleClient
    from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRun


class MParticlePipelineRunTrigger(MParticleBasePollingTrigger):
    """Wait until a pipeline run is ``success``, ``failed`` or ``stopped``, or the deadline passes.

    Events: ``success`` / ``failed`` with the run's summary (``run_id``, ``run_status``, record counts,
    ``errors``), and ``result``, what the waiting task returns (:meth:`PipelineRun.result`); ``failed``
    also carries ``pipeline_errors`` from the pipeline report. ``timeout`` at the deadline, ``error`` when
    the pipeline or run does not exist or a request fails for good.

    The Warehouse Sync API has no way to stop one run; when the deferred task is killed, ``on_kill``
    applies the task's kill policy: ``detach`` logs the run and its link, ``pause_pipeline`` also pauses
    the pipeline so that no further scheduled run starts. It does nothing when the trigger only moves to
    another triggerer (see :meth:`on_kill`).

    :param pipeline_id: the pipeline.
    :param run_id: the run to wait for; None waits for the pipeline's latest run (from its report).
    :param kill_policy: ``detach`` or ``pause_pipeline``.
    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deadline: epoch seconds after which a ``timeout`` event is sent.
    :param poll_interval: seconds between polls.
    """

    def __init__(
        self, *, pipeline_id: str, run_id: int | str | None = None, kill_policy: str = "detach", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.kill_policy = kill_policy

    def serialize_fields(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "run_id": self.run_id, "kill_policy": self.kill_policy}

    async def on_kill(self) -> None:
        """Apply the kill policy, unless the task is still deferred (the trigger only moved).

        Airflow 3.3.2's triggerer calls ``on_kill()`` for every trigger it cancels with its "user action"
        message, and ``TriggerRunnerSupervisor.update_triggers`` puts there every running trigger that is
        no longer assigned to this triggerer, whatever the reason: the task was marked failed / success or
        cleared, or the trigger was handed to another triggerer (apache/airflow#73454). Only in the first
        case has the task instance left the ``deferred`` state, so its state is read through the Task SDK
        (the same call ``ExternalTaskSensor``'s trigger makes) before anything is done. When the state
        cannot be read (no task instance, an older Airflow), the policy is applied: ``detach`` only logs,
        and a paused pipeline is resumed by one call.
        """
        from airflow_provider_mparticle.client.warehouse_sync.models import KillPolicy
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook
        from airflow_provider_mparticle.links.warehouse_sync import pipeline_url

        state = await self._task_state()
        if state == "deferred":
            self.log.info(
                "%s: the task is still deferred, so this trigger is only moving to another triggerer; "
                "the kill policy is not applied",
                self.describe(),
            )
            return
        policy = KillPolicy.parse(self.kill_policy)
        client = await MParticleHook(self.mparticle_conn_id).aget_client()
        try:
            if policy is KillPolicy.PAUSE_PIPELINE:
                await client.warehouse_sync.pause_pipeline(self.pipeline_id)
            settings = client.settings
        finally:
            await client.aclose()
        url = pipeline_url(settings.workspace_id, self.pipeline_id, api_url=settings.api_url)
        self.log.warning("%s", policy.message(self.pipeline_id, self.run_id, url))

    async def _task_state(self) -> str | None:
        """The deferred task instance's state as the API server has it, or None when it cannot be read."""
        ti = self.task_instance
        if ti is None:
            return None
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
            from asgiref.sync import sync_to_async

            map_index = getattr(ti, "map_index", -1)
            states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=map_index
            )
        except Exception as error:  # an older Airflow, or no API access: act as if killed
            self.log.warning("Could not read the state of task %s: %s", getattr(ti, "task_id", "?"), error)
            return None
        key = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"
        state = (states.get(ti.run_id) or {}).get(key)
        return str(state) if state is not None else None

    def describe(self) -> str:
        which = f"run {self.run_id}" if self.run_id is not None else "latest run"
        return f"Pipeline {self.pipeline_id} {which}"

    async def poll(self, client: AsyncMParticleClient) -> TriggerEvent | None:
        api = client.warehouse_sync
        run: PipelineRun | None
        if self.run_id is not None:
            run = await api.run(self.pipeline_id, self.run_id)
        else:
            run = (await api.report(self.pipeline_id)).latest_pipeline_run
            if run is None:
                return None
        if not run.is_terminal:
            self.log_progress(f"{self.describe()} is {run.status_text}")
            return None
        payload = {**run.summary(), "result": run.result()}
        if run.status is not None and run.status.is_success:
            message = (
                f"Pipeline {self.pipeline_id} run {run.id} succeeded: "
                f"{run.successful_records} records synced, {run.failed_records} failed."
            )
            return self.event("success", message, **payload)
        problems = (await api.report(self.pipeline_id)).problems()
        return self.event("failed", run.failure_message(problems), pipeline_errors=problems, **payload)
