"""Exceptions raised to Airflow by this provider's operators and sensors."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class MParticleTaskFailure(AirflowFailException):
    """A terminal failure on the mParticle side (failed run, missing resource, refused request).

    A subclass of ``AirflowFailException``: the task fails without retrying, and a sensor with
    ``soft_fail`` is skipped instead, in every mode.
    """
