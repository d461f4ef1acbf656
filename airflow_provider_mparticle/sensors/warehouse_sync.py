"""Sensor that waits for a Warehouse Sync pipeline run (a given one, or the latest) to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mparticle.sensors.base import MParticleBaseSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRun
    from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger


class MParticlePipelineRunSensor(MParticleBaseSensor):
    """Wait until a pipeline run succeeds; fail (or skip with ``soft_fail``) when it fails or is stopped.

    Works in poke, reschedule and deferrable modes. Returns ``pipeline_id``, ``run_id``, ``status``,
    ``successful_records`` and ``failed_records``.

    :param pipeline_id: the pipeline (templated).
    :param run_id: the run to watch (templated); empty watches the pipeline's latest run.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``). The task
        defers at once, with no token and no call to mParticle on the worker; the trigger's first poll
        is the first check, and a run that failed or a pipeline that does not exist fails the task from
        there.
    :param check_before_defer: with ``deferrable``, check once on the worker before deferring: one token
        and one call per task (two when the run has failed: its report is read for the errors).
    """

    template_fields: Sequence[str] = (*MParticleBaseSensor.template_fields, "pipeline_id", "run_id")
    required_event_keys = ("result",)

    def __init__(self, *, pipeline_id: str, run_id: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.run_id = run_id

    def _run_id(self) -> int | str | None:
        from airflow_provider_mparticle.client.warehouse_sync.models import parse_run_id

        return parse_run_id(self.run_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        run_id = self._run_id()
        with self.get_hook().get_client() as client:
            api = client.warehouse_sync
            run: PipelineRun | None
            try:
                if run_id is not None:
                    run = api.run(self.pipeline_id, run_id)
                else:
                    run = api.report(self.pipeline_id).latest_pipeline_run
            except MParticleNotFoundError as error:
                raise MParticleTaskFailure(f"Pipeline {self.pipeline_id} run not found: {error}") from error
            if run is None:
                self.log.info("Pipeline %s has no run yet", self.pipeline_id)
                return False
            if not run.is_terminal:
                self.log.info("Pipeline %s run %s is %s", self.pipeline_id, run.id, run.status_text)
                return False
            if run.status is not None and run.status.is_success:
                return PokeReturnValue(is_done=True, xcom_value=run.result())
            raise MParticleTaskFailure(run.failure_message(api.report(self.pipeline_id).problems()))

    def make_trigger(self, deadline: float) -> MParticlePipelineRunTrigger:
        from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger

        return MParticlePipelineRunTrigger(
            pipeline_id=self.pipeline_id,
            run_id=self._run_id(),
            mparticle_conn_id=self.mparticle_conn_id,
            deadline=deadline,
            poll_interval=float(self.poke_interval),
        )

    def on_success_event(self, event: dict[str, Any], context: Context) -> Any:
        return event["result"]
