"""Link from a task to its Warehouse Sync pipeline in the mParticle UI."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

from airflow_provider_mparticle.links import emulator_console_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

# The operator pushes the URL under this key as soon as it knows the pipeline.
PIPELINE_URL_XCOM_KEY = "mparticle_pipeline_url"
UI_URL = "https://app.mparticle.com"


def pipeline_url(workspace_id: str | None, pipeline_id: str, api_url: str | None = None) -> str:
    """The pipeline's page in the mParticle UI (Setup > Inputs > Warehouse Sync), or in the emulator's
    console when the connection points at the emulator.

    :param workspace_id: the workspace.
    :param pipeline_id: the pipeline.
    :param api_url: the connection's Platform API override.
    """
    console = emulator_console_url(api_url)
    if console is not None:
        return f"{console}/pipelines#{quote(pipeline_id, safe='')}"
    query = f"?workspaceId={workspace_id}" if workspace_id else ""
    return f"{UI_URL}/setup/inputs/warehouse-sync/{pipeline_id}{query}"


class MParticlePipelineLink(BaseOperatorLink):
    """ "mParticle Pipeline": the pipeline the task triggered or waited for."""

    name = "mParticle Pipeline"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=PIPELINE_URL_XCOM_KEY) or ""
