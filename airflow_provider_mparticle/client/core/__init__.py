"""The HTTP core shared by every API client: what is sent and what comes back (:mod:`.messages`), the
answer contracts (:mod:`.answers`), the send flow with retries and tokens (:mod:`.flow`), the two
transports (:mod:`.transport`), the process-wide token cache (:mod:`.tokens`), shared async pools
(:mod:`.shared`), settings (:mod:`.config`) and errors (:mod:`.errors`).

Nothing here knows an API: no module of this package imports an API package (a structure test holds
it). The names of the former ``client.core`` module are importable from here, loaded on first use.

Deliberate repetition. ``duplicates`` lists these pairs; they stay, for these reasons:

- each API's sync and async facade (``...Api`` / ``Async...Api`` in every ``api.py``, and
  ``clients.py`` beside ``adobe/clients.py``): the same method list over two I/O models, each a line
  or two that hands a ``Call`` to its transport; a shared generator would hide the signatures that
  the API reference and type checkers read;
- :mod:`.transport`'s sync and async drivers of :meth:`.flow.SendPolicy.flow`: the policy is written
  once, the two loops only move bytes, sleep and lock in their own way;
- the lazy export tables of the package ``__init__`` modules (``_LAZY`` beside the ``TYPE_CHECKING``
  imports, and the ``__all__`` of an ``api.py`` re-exported by its package): importing a package must
  not import its modules, and type checkers need the static imports;
- client-side validation (``calculated_attributes/definitions.py``, ``seeding/mapping.py``) beside the
  emulator's rules (``testing/emulator/*/models.py``): the emulator is an independent reading of the
  documents, so that a misreading in the client is caught by it rather than copied into it.
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
