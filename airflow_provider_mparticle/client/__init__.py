"""Pure-Python mParticle API clients. This package never imports Airflow.

:class:`MParticleClient` (``requests``) and :class:`AsyncMParticleClient` (``httpx``) expose the same
resource attributes (``seeding``, ``calculated_attributes``, ...) over one shared request core.

Names are loaded on first use (PEP 562, as ``airflow.sdk`` does): importing the errors or the settings
does not load ``requests`` or ``httpx``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client import moved
from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.clients import AsyncMParticleClient, MParticleClient
    from airflow_provider_mparticle.client.core.config import (
        ClientSettings,
        Pod,
        RetrySettings,
        TransportSettings,
    )
    from airflow_provider_mparticle.client.core.errors import (
        MParticleAPIError,
        MParticleAuthError,
        MParticleConfigError,
        MParticleConflictError,
        MParticleError,
        MParticleNotFoundError,
        MParticleRateLimitError,
        MParticleServerError,
        MParticleTransportError,
        MParticleUnexpectedResponseError,
        MParticleValidationError,
    )

_ERRORS = "airflow_provider_mparticle.client.core.errors"
_CONFIG = "airflow_provider_mparticle.client.core.config"
_CLIENTS = "airflow_provider_mparticle.client.clients"
# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "AsyncMParticleClient": _CLIENTS,
    "MParticleClient": _CLIENTS,
    "ClientSettings": _CONFIG,
    "Pod": _CONFIG,
    "RetrySettings": _CONFIG,
    "TransportSettings": _CONFIG,
    "MParticleAPIError": _ERRORS,
    "MParticleAuthError": _ERRORS,
    "MParticleConfigError": _ERRORS,
    "MParticleConflictError": _ERRORS,
    "MParticleError": _ERRORS,
    "MParticleNotFoundError": _ERRORS,
    "MParticleRateLimitError": _ERRORS,
    "MParticleServerError": _ERRORS,
    "MParticleTransportError": _ERRORS,
    "MParticleUnexpectedResponseError": _ERRORS,
    "MParticleValidationError": _ERRORS,
}

__all__ = [
    "AsyncMParticleClient",
    "ClientSettings",
    "MParticleAPIError",
    "MParticleAuthError",
    "MParticleClient",
    "MParticleConfigError",
    "MParticleConflictError",
    "MParticleError",
    "MParticleNotFoundError",
    "MParticleRateLimitError",
    "MParticleServerError",
    "MParticleTransportError",
    "MParticleUnexpectedResponseError",
    "MParticleValidationError",
    "Pod",
    "RetrySettings",
    "TransportSettings",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
# The module paths of the flat layout keep working, with a DeprecationWarning (see .moved).
moved.install()
