"""Data Planning API: the calls (:mod:`.api`), the typed answers (:mod:`.models`) and data plans
as code (:mod:`.documents`).

The names of the former ``client.data_planning`` module are importable from here, loaded on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.data_planning.api import (
        AsyncDataPlanningApi,
        DataPlanningApi,
        DataPlanningCalls,
        plan_data_plan,
    )
    from airflow_provider_mparticle.client.data_planning.documents import (
        MATCH_TYPES,
        READ_ONLY_DOCUMENT_FIELDS,
        UNSUPPORTED_SCHEMA_KEYWORDS,
        ActivatedEnvironment,
        DataPlanDocumentError,
        PlanDocument,
        PlannedVersion,
        check_plan_id,
        check_version_document,
        check_version_number,
        document_changes,
        load_plan_document,
        match_key,
        request_document,
        version_changes,
    )
    from airflow_provider_mparticle.client.data_planning.models import (
        BatchValidationResult,
        DataPlan,
        DataPlanVersion,
        EventValidationResult,
        ValidationIssue,
        describe_match,
    )

# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "ActivatedEnvironment": "airflow_provider_mparticle.client.data_planning.documents",
    "AsyncDataPlanningApi": "airflow_provider_mparticle.client.data_planning.api",
    "BatchValidationResult": "airflow_provider_mparticle.client.data_planning.models",
    "DataPlan": "airflow_provider_mparticle.client.data_planning.models",
    "DataPlanDocumentError": "airflow_provider_mparticle.client.data_planning.documents",
    "DataPlanVersion": "airflow_provider_mparticle.client.data_planning.models",
    "DataPlanningApi": "airflow_provider_mparticle.client.data_planning.api",
    "DataPlanningCalls": "airflow_provider_mparticle.client.data_planning.api",
    "EventValidationResult": "airflow_provider_mparticle.client.data_planning.models",
    "MATCH_TYPES": "airflow_provider_mparticle.client.data_planning.documents",
    "PlanDocument": "airflow_provider_mparticle.client.data_planning.documents",
    "PlannedVersion": "airflow_provider_mparticle.client.data_planning.documents",
    "READ_ONLY_DOCUMENT_FIELDS": "airflow_provider_mparticle.client.data_planning.documents",
    "UNSUPPORTED_SCHEMA_KEYWORDS": "airflow_provider_mparticle.client.data_planning.documents",
    "ValidationIssue": "airflow_provider_mparticle.client.data_planning.models",
    "check_plan_id": "airflow_provider_mparticle.client.data_planning.documents",
    "check_version_document": "airflow_provider_mparticle.client.data_planning.documents",
    "check_version_number": "airflow_provider_mparticle.client.data_planning.documents",
    "describe_match": "airflow_provider_mparticle.client.data_planning.models",
    "document_changes": "airflow_provider_mparticle.client.data_planning.documents",
    "load_plan_document": "airflow_provider_mparticle.client.data_planning.documents",
    "match_key": "airflow_provider_mparticle.client.data_planning.documents",
    "plan_data_plan": "airflow_provider_mparticle.client.data_planning.api",
    "request_document": "airflow_provider_mparticle.client.data_planning.documents",
    "version_changes": "airflow_provider_mparticle.client.data_planning.documents",
}

__all__ = [
    "MATCH_TYPES",
    "READ_ONLY_DOCUMENT_FIELDS",
    "UNSUPPORTED_SCHEMA_KEYWORDS",
    "ActivatedEnvironment",
    "AsyncDataPlanningApi",
    "BatchValidationResult",
    "DataPlan",
    "DataPlanDocumentError",
    "DataPlanVersion",
    "DataPlanningApi",
    "DataPlanningCalls",
    "EventValidationResult",
    "PlanDocument",
    "PlannedVersion",
    "ValidationIssue",
    "check_plan_id",
    "check_version_document",
    "check_version_number",
    "describe_match",
    "document_changes",
    "load_plan_document",
    "match_key",
    "plan_data_plan",
    "request_document",
    "version_changes",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
