"""Trigger that waits for a Warehouse Sync pipeline run to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.triggers.base import MParticlePollingTrigger

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_mparticle.client import AsyncMParticleClient
    from airflow_provider_mparticle.client.warehouse_sync import PipelineRun


class MParticlePipelineRunTrigger(MParticlePollingTrigger):
    """Wait until a pipeline run is ``success``, ``failed`` or ``stopped``, or the deadline passes.

    Events: ``success`` / ``failed`` with the run's summary (``run_id``, ``run_status``, record counts,
    ``errors``), and ``result``, what the waiting task returns (:meth:`PipelineRun.result`); ``failed``
    also carries ``pipeline_errors`` from the pipeline report. ``timeout`` at the deadline, ``error`` when
    the pipeline or run does not exist or a request fails for good.

    There is no ``on_kill``: the Warehouse Sync API has no way to stop one run (pausing a pipeline only
    stops future syncs), so killing the task cannot cancel the run on the mParticle side.

    :param pipeline_id: the pipeline.
    :param run_id: the run to wait for; None waits for the pipeline's latest run (from its report).
    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deadline: epoch seconds after which a ``timeout`` event is sent.
    :param poll_interval: seconds between polls.
    """

    def __init__(self, *, pipeline_id: str, run_id: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.run_id = run_id

    def serialize_fields(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "run_id": self.run_id}

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
            self.log.info("%s is %s", self.describe(), run.status_text)
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
