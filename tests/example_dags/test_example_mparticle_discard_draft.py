"""The discard-draft example runs with dag.test(): the draft goes, the active definition stays."""

from __future__ import annotations

from airflow_provider_mparticle.testing.examples import create_attribute_with_draft
from tests.conftest import run_dag


def test_example_dag_discards_the_draft(airflow_db, client, mparticle_conn_id):
    ca_id = create_attribute_with_draft(client)

    assert run_dag("example_mparticle_discard_draft").state == "success"

    ca = client.calculated_attributes.get(ca_id)
    assert ca.draft_definition is None
    assert ca.active_definition["calculation_type"] == "sum"


def test_example_dag_succeeds_when_there_is_nothing_to_discard(airflow_db, mparticle_conn_id):
    assert run_dag("example_mparticle_discard_draft").state == "success"
