"""The events triggers send back to deferred tasks, and their validation on resume.

Every event is a dict of JSON primitives with a ``status`` (``success``, ``failed``, ``timeout`` or
``error``) and a human ``message``; the rest is the payload of the trigger that sent it. A resuming
method calls :func:`validate_event` first and fails loudly on anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

EVENT_STATUSES = frozenset({"success", "failed", "timeout", "error"})


def make_event(status: str, message: str, **payload: Any) -> dict[str, Any]:
    """Build a trigger event payload (``status`` must be one of :data:`EVENT_STATUSES`)."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"Unknown event status {status!r}")
    return {"status": status, "message": message, **payload}


def validate_event(event: Any, required: Iterable[str] = ()) -> dict[str, Any]:
    """Check the shape of an event handed to a resuming method; raise ``AirflowException`` if it is off.

    :param event: what the trigger sent.
    :param required: payload keys a ``success`` event must carry.
    """
    from airflow.sdk.exceptions import AirflowException

    if not isinstance(event, dict):
        raise AirflowException(f"Unexpected trigger event (not a dict): {event!r}")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise AirflowException(f"Unexpected trigger event status {status!r} in {event!r}")
    if not isinstance(event.get("message"), str):
        raise AirflowException(f"Trigger event without a message: {event!r}")
    missing = [key for key in required if key not in event] if status == "success" else []
    if missing:
        raise AirflowException(f"Trigger event is missing {', '.join(missing)}: {event!r}")
    return event


TRANSIENT = "transient"


def error_reason(error: BaseException) -> dict[str, Any]:
    """``{"reason": "transient"}`` for an error the task should be retried on (5xx, 429, network), else ``{}``."""
    from airflow_provider_mparticle.client.errors import (
        MParticleRateLimitError,
        MParticleServerError,
        MParticleTransportError,
    )

    transient = isinstance(error, MParticleServerError | MParticleRateLimitError | MParticleTransportError)
    return {"reason": TRANSIENT} if transient else {}


def raise_if_transient(event: dict[str, Any]) -> None:
    """On resume: a transient ``error`` event raises :class:`~airflow_provider_mparticle.exceptions.MParticleRetryableError`."""
    if event.get("status") == "error" and event.get("reason") == TRANSIENT:
        from airflow_provider_mparticle.exceptions import MParticleRetryableError

        raise MParticleRetryableError(str(event.get("message")))
