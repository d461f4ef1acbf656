"""The HTTP core shared by every API client: what is sent and what comes back (:mod:`.messages`), the
answer contracts (:mod:`.answers`), the send flow with retries and tokens (:mod:`.flow`), the two
transports (:mod:`.transport`), the process-wide token cache (:mod:`.tokens`), shared async pools
(:mod:`.shared`), settings (:mod:`.config`) and errors (:mod:`.errors`).

Nothing here knows an API: no module of this package imports an API package (a structure test holds
it). The names of the former ``client.core`` module are importable from here, loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.core.flow import (
        USER_AGENT,
        AuthProvider,
        FetchToken,
        Flow,
        MParticleAuth,
        NoAuth,
        RetryObserver,
        Send,
        SendPolicy,
        Sleep,
        Step,
        TransportStats,
        WaitRetryAfter,
        auth_headers,
        base_headers,
        is_transient,
        parse_token,
        retry_strategy,
        token_key,
        token_request,
    )
    from airflow_provider_mparticle.client.core.messages import (
        ApiRequest,
        ApiResponse,
        AuthKind,
        Call,
        as_object,
        check_id,
        encode_json,
        ignore_body,
        path_segment,
    )

# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "ApiRequest": "airflow_provider_mparticle.client.core.messages",
    "ApiResponse": "airflow_provider_mparticle.client.core.messages",
    "AuthKind": "airflow_provider_mparticle.client.core.messages",
    "AuthProvider": "airflow_provider_mparticle.client.core.flow",
    "Call": "airflow_provider_mparticle.client.core.messages",
    "FetchToken": "airflow_provider_mparticle.client.core.flow",
    "Flow": "airflow_provider_mparticle.client.core.flow",
    "MParticleAuth": "airflow_provider_mparticle.client.core.flow",
    "NoAuth": "airflow_provider_mparticle.client.core.flow",
    "RetryObserver": "airflow_provider_mparticle.client.core.flow",
    "Send": "airflow_provider_mparticle.client.core.flow",
    "SendPolicy": "airflow_provider_mparticle.client.core.flow",
    "Sleep": "airflow_provider_mparticle.client.core.flow",
    "Step": "airflow_provider_mparticle.client.core.flow",
    "TransportStats": "airflow_provider_mparticle.client.core.flow",
    "USER_AGENT": "airflow_provider_mparticle.client.core.flow",
    "WaitRetryAfter": "airflow_provider_mparticle.client.core.flow",
    "as_object": "airflow_provider_mparticle.client.core.messages",
    "auth_headers": "airflow_provider_mparticle.client.core.flow",
    "base_headers": "airflow_provider_mparticle.client.core.flow",
    "check_id": "airflow_provider_mparticle.client.core.messages",
    "encode_json": "airflow_provider_mparticle.client.core.messages",
    "ignore_body": "airflow_provider_mparticle.client.core.messages",
    "is_transient": "airflow_provider_mparticle.client.core.flow",
    "parse_token": "airflow_provider_mparticle.client.core.flow",
    "path_segment": "airflow_provider_mparticle.client.core.messages",
    "retry_strategy": "airflow_provider_mparticle.client.core.flow",
    "token_key": "airflow_provider_mparticle.client.core.flow",
    "token_request": "airflow_provider_mparticle.client.core.flow",
}

__all__ = [
    "USER_AGENT",
    "ApiRequest",
    "ApiResponse",
    "AuthKind",
    "AuthProvider",
    "Call",
    "FetchToken",
    "Flow",
    "MParticleAuth",
    "NoAuth",
    "RetryObserver",
    "Send",
    "SendPolicy",
    "Sleep",
    "Step",
    "TransportStats",
    "WaitRetryAfter",
    "as_object",
    "auth_headers",
    "base_headers",
    "check_id",
    "encode_json",
    "ignore_body",
    "is_transient",
    "parse_token",
    "path_segment",
    "retry_strategy",
    "token_key",
    "token_request",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
