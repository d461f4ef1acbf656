"""The events triggers send back to deferred tasks, and the one way a task resumes from them.

Every event is a dict of JSON primitives with a ``status`` (``success``, ``failed``, ``timeout`` or
``error``) and a human ``message``; the rest is the payload of the trigger that sent it. Every
``execute_complete`` goes through :func:`resume`, which validates the event, turns a transient error
into a retry, and applies ``soft_fail``, in one place as ``BaseSensorOperator.resume_execution`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

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
    from airflow_provider_mparticle.client.core.errors import (
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


def resume(
    event: Any,
    required: Iterable[str] = (),
    *,
    soft_fail: bool = False,
    on_timeout: Callable[[str], BaseException] | None = None,
    on_failure: Callable[[str], BaseException] | None = None,
) -> dict[str, Any]:
    """The success event a deferred task resumes with; anything else raises.

    - a malformed event raises ``AirflowException`` (see :func:`validate_event`);
    - a transient ``error`` raises :class:`~airflow_provider_mparticle.exceptions.MParticleRetryableError`,
      which Airflow retries and ``soft_fail`` never skips, as when ``poke()`` meets the same error;
    - ``failed``, ``timeout`` and other ``error`` events raise ``on_failure(message)`` (default
      :class:`~airflow_provider_mparticle.exceptions.MParticleTaskFailure`) or ``on_timeout(message)``
      (default ``AirflowSensorTimeout``); with ``soft_fail`` they skip the task instead.

    :param event: what the trigger sent.
    :param required: payload keys a ``success`` event must carry.
    :param soft_fail: skip instead of failing (sensors).
    :param on_timeout: the exception for a ``timeout`` event.
    :param on_failure: the exception for a ``failed`` or non-transient ``error`` event.
    """
    from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

    from airflow_provider_mparticle.exceptions import MParticleTaskFailure

    valid = validate_event(event, required)
    raise_if_transient(valid)
    message: str = valid["message"]
    if valid["status"] == "success":
        return valid
    if valid["status"] == "timeout":
        error = (on_timeout or AirflowSensorTimeout)(message)
    else:
        error = (on_failure or MParticleTaskFailure)(message)
    if soft_fail:
        raise AirflowSkipException(f"Skipping due to soft_fail: {message}") from error
    raise error
