from __future__ import annotations

import json

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.conftest import run_dag


def test_example_dag_triggers_waits_deferred_and_uses_the_counts(
    airflow_db, client, mparticle_conn_id, mparticle_emulator, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__STATE_STORE__CLEAR_ON_SUCCESS", "False")
    control = mparticle_emulator.control
    # The operator triggers the run and defers without reading it: the trigger's first poll is the
    # first read, and sees "success" (no sleep of poll_interval).
    control.configure(progress_steps=1)
    create_pipeline(client)
    control.plan_pipeline_runs("example-pipeline", successful_records=250, failed_records=2)

    dag_run = run_dag("example_mparticle_warehouse_sync")

    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"sync_users_from_warehouse": "success", "report_counts": "success"}
    sync = dag_run.get_task_instance("sync_users_from_warehouse")
    assert sync.xcom_pull(task_ids="sync_users_from_warehouse")["successful_records"] == 250
    assert sync.xcom_pull(task_ids="report_counts") == "run 1: 250 synced, 2 failed"
    url = sync.xcom_pull(task_ids="sync_users_from_warehouse", key="mparticle_pipeline_url")
    assert url == f"{mparticle_emulator.url}/_emulator/ui/pipelines#example-pipeline"
    assert len(control.pipeline_triggers("example-pipeline")) == 1
    assert len(control.journal(path="/runs/1", method="GET")) == 1

    if not AIRFLOW_V_3_3_PLUS:  # no task_state_store before Airflow 3.3 (make test-lowest)
        return
    # dag.test() runs tasks with a real task_state_store: the run id was kept for a retry to reconnect.
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskStateStoreModel).filter_by(run_id=dag_run.run_id).all()
        values = {(r.task_id, r.key): r.value for r in rows}
    assert values.pop(("sync_users_from_warehouse", "mparticle_pipeline_run_id")) == "1"
    # The intent stored before the trigger, answered: a retry has nothing to reconcile.
    intent = json.loads(values.pop(("sync_users_from_warehouse", "mparticle_pipeline_trigger_intent")))
    assert (intent["pipeline_id"], intent["try_number"], intent["run_id"]) == ("example-pipeline", 1, 1)
    assert values == {}
