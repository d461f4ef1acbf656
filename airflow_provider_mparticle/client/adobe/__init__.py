"""Pure-Python Adobe Experience Platform clients over the shared core. This package never imports Airflow.

:class:`AdobeClient` (``requests``) and :class:`AsyncAdobeClient` (``httpx``) use the same transports,
retry policy and error classes as the mParticle clients, with IMS authentication
(:class:`~airflow_provider_mparticle.client.adobe.config.AdobeImsAuth`). Names are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.adobe.clients import AdobeClient, AsyncAdobeClient
    from airflow_provider_mparticle.client.adobe.computed_attributes import (
        ComputedAttribute,
        ComputedAttributeDefinition,
        ComputedAttributeError,
        ComputedAttributePage,
        ComputedAttributeStatus,
        Duration,
        DurationUnit,
    )
    from airflow_provider_mparticle.client.adobe.config import AdobeClientSettings, AdobeImsAuth

_CLIENTS = "airflow_provider_mparticle.client.adobe.clients"
_MODELS = "airflow_provider_mparticle.client.adobe.computed_attributes"
_CONFIG = "airflow_provider_mparticle.client.adobe.config"
# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "AdobeClient": _CLIENTS,
    "AsyncAdobeClient": _CLIENTS,
    "AdobeClientSettings": _CONFIG,
    "AdobeImsAuth": _CONFIG,
    "ComputedAttribute": _MODELS,
    "ComputedAttributeDefinition": _MODELS,
    "ComputedAttributeError": _MODELS,
    "ComputedAttributePage": _MODELS,
    "ComputedAttributeStatus": _MODELS,
    "Duration": _MODELS,
    "DurationUnit": _MODELS,
}

__all__ = [
    "AdobeClient",
    "AdobeClientSettings",
    "AdobeImsAuth",
    "AsyncAdobeClient",
    "ComputedAttribute",
    "ComputedAttributeDefinition",
    "ComputedAttributeError",
    "ComputedAttributePage",
    "ComputedAttributeStatus",
    "Duration",
    "DurationUnit",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
