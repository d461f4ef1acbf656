"""Link from a task to its Warehouse Sync pipeline in the mParticle UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

# The operator pushes the URL under this key as soon as it knows the pipeline.
PIPELINE_URL_XCOM_KEY = "mparticle_pipeline_url"
UI_URL = "https://app.mparticle.com"


def pipeline_url(workspace_id: str | None, pipeline_id: str) -> str:
    """The pipeline's page in the mParticle UI (Setup > Inputs > Warehouse Sync)."""
    query = f"?workspaceId={workspace_id}" if workspace_id else ""
    return f"{UI_URL}/setup/inputs/warehouse-sync/{pipeline_id}{query}"


class MParticlePipelineLink(BaseOperatorLink):
    """ "mParticle Pipeline": the pipeline the task triggered or waited for."""

    name = "mParticle Pipeline"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=PIPELINE_URL_XCOM_KEY) or ""
