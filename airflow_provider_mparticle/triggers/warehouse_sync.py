"""Trigger that waits for a Warehouse Sync pipeline run to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.events import make_event
from airflow_provider_mparticle.triggers.base import MParticlePollingTrigger

if TYPE_CHECKING:
    from airflow_provider_mparticle.client import AsyncMParticleClient
    from airflow_provider_mparticle.client.warehouse_sync import PipelineRun

# Keys of every event this trigger sends about a finished run (see PipelineRun.summary()).
RUN_EVENT_KEYS = ("pipeline_id", "run_id", "run_status", "successful_records", "failed_records", "errors")


def run_failure_message(run: PipelineRun, problems: list[str]) -> str:
    """One message with the run's errors and the pipeline's, connection's and data model's errors."""
    details = [*run.errors, *(p for p in problems if p.split(": ", 1)[-1] not in run.errors)]
    text = "; ".join(details) if details else "mParticle gave no error details"
    return f"Pipeline {run.pipeline_id} run {run.id} ended {run.status_text}: {text}"


class MParticlePipelineRunTrigger(MParticlePollingTrigger):
    """Wait until a pipeline run is ``success``, ``failed`` or ``stopped``, or the deadline passes.

    Events: ``success`` / ``failed`` with the run's summary (``run_id``, ``run_status``, record counts,
    ``errors``; ``failed`` also carries ``pipeline_errors`` from the pipeline report), ``timeout`` at the
    deadline, ``error`` when the pipeline or run does not exist or a request fails for good.

    There is no ``on_kill``: the Warehouse Sync API has no way to stop one run (pausing a pipeline only
    stops future syncs), so killing the task cannot cancel the run on the mParticle side.

    :param pipeline_id: the pipeline.
    :param run_id: the run to wait for; None waits for the pipeline's latest run (from its report).
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

    async def poll(self, client: AsyncMParticleClient) -> dict[str, Any] | None:
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
        summary = run.summary()
        if run.status is not None and run.status.is_success:
            message = (
                f"Pipeline {self.pipeline_id} run {run.id} succeeded: "
                f"{run.successful_records} records synced, {run.failed_records} failed."
            )
            return make_event("success", message, **summary)
        report = await api.report(self.pipeline_id)
        problems = report.problems()
        return make_event("failed", run_failure_message(run, problems), pipeline_errors=problems, **summary)
