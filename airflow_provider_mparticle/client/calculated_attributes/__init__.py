"""Platform API, calculated attributes: the calls (:mod:`.api`), definitions kept as code
(:mod:`.definitions`) and the calculation types and seed shapes (:mod:`.models`).

The names of the former ``client.calculated_attributes`` module are importable from here,
loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.calculated_attributes.api import (
        CREATED_ID,
        EXISTS,
        ActivationStatus,
        AsyncCalculatedAttributesApi,
        CalculatedAttribute,
        CalculatedAttributeCalls,
        CalculatedAttributesApi,
        CalculationStatus,
        active_limit_holders,
        active_limit_message,
    )

# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "ActivationStatus": "airflow_provider_mparticle.client.calculated_attributes.api",
    "AsyncCalculatedAttributesApi": "airflow_provider_mparticle.client.calculated_attributes.api",
    "CREATED_ID": "airflow_provider_mparticle.client.calculated_attributes.api",
    "CalculatedAttribute": "airflow_provider_mparticle.client.calculated_attributes.api",
    "CalculatedAttributeCalls": "airflow_provider_mparticle.client.calculated_attributes.api",
    "CalculatedAttributesApi": "airflow_provider_mparticle.client.calculated_attributes.api",
    "CalculationStatus": "airflow_provider_mparticle.client.calculated_attributes.api",
    "EXISTS": "airflow_provider_mparticle.client.calculated_attributes.api",
    "active_limit_holders": "airflow_provider_mparticle.client.calculated_attributes.api",
    "active_limit_message": "airflow_provider_mparticle.client.calculated_attributes.api",
}

__all__ = [
    "CREATED_ID",
    "EXISTS",
    "ActivationStatus",
    "AsyncCalculatedAttributesApi",
    "CalculatedAttribute",
    "CalculatedAttributeCalls",
    "CalculatedAttributesApi",
    "CalculationStatus",
    "active_limit_holders",
    "active_limit_message",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
