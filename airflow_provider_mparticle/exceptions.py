"""Exceptions raised to Airflow by this provider's operators and sensors."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class MParticleTaskFailure(AirflowFailException):
    """A terminal failure on the mParticle side (failed run, missing resource, refused request).

    A subclass of ``AirflowFailException``: the task fails without retrying, and a sensor with
    ``soft_fail`` is skipped instead, in every mode.
    """


class MParticleRetryableError(Exception):
    """mParticle stayed unavailable (5xx, 429, network) past the client's retries while a task was deferred.

    Deliberately not an ``AirflowException``: Airflow retries the task and ``soft_fail`` does not turn it
    into a skip, exactly as when the same error is raised by ``poke()`` in poke or reschedule mode.
    """
