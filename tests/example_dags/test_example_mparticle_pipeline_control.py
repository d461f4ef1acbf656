"""The pipeline control example runs with dag.test(): pause, resume, start a run, wait for it deferred."""

from __future__ import annotations

from airflow_provider_mparticle.testing.examples import CONTROL_PIPELINE_ID, create_pipeline
from tests.conftest import run_dag


def test_example_dag_pauses_resumes_and_waits_for_the_run(
    airflow_db, client, mparticle_conn_id, mparticle_emulator
):
    control = mparticle_emulator.control
    # Two reads of the run: start_sync's, then the trigger's first poll (the sensor defers without one).
    control.configure(progress_steps=2)
    create_pipeline(client, CONTROL_PIPELINE_ID)
    control.plan_pipeline_runs(CONTROL_PIPELINE_ID, successful_records=30, failed_records=0)

    dag_run = run_dag("example_mparticle_pipeline_control")

    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}
    wait = dag_run.get_task_instance("wait_for_sync")
    assert wait.xcom_pull(task_ids="wait_for_sync")["successful_records"] == 30
    assert wait.xcom_pull(task_ids="pause_pipeline")["state"] == "paused"
    assert client.warehouse_sync.get_pipeline(CONTROL_PIPELINE_ID).state == "active"
    assert len(control.pipeline_triggers(CONTROL_PIPELINE_ID)) == 1
    assert len(control.journal(path=f"/{CONTROL_PIPELINE_ID}/runs/", method="GET")) == 2
