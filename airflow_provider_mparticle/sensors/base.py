"""A base for sensors that work in poke, reschedule and deferrable modes alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the switch users already know."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class MParticleBaseSensor(BaseSensorOperator):
    """Sensor base: ``poke()`` decides; in deferrable mode it is checked once, then a trigger waits.

    The trigger gets an absolute deadline of now + ``timeout`` and answers with a ``timeout`` event at
    that deadline, which fails the task (or skips it with ``soft_fail``), as in poke mode.

    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deferrable: free the worker slot while waiting (default: ``[operators] default_deferrable``).
    """

    # Payload keys a success event must carry; checked on resume.
    required_event_keys: tuple[str, ...] = ()

    def __init__(
        self, *, mparticle_conn_id: str = "mparticle_default", deferrable: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.mparticle_conn_id = mparticle_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    def make_trigger(self, deadline: float) -> BaseTrigger:
        """The trigger that waits for the same condition as ``poke()``."""
        raise NotImplementedError

    def on_success_event(self, event: dict[str, Any], context: Context) -> Any:
        """The task's return value from a success event."""
        return None

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        try:
            result = self.poke(context)
        except (AirflowFailException, AirflowSensorTimeout) as error:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
            raise
        if result:
            return result.xcom_value if isinstance(result, PokeReturnValue) else None
        self.defer(
            trigger=self.make_trigger(time.time() + float(self.timeout)), method_name="execute_complete"
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume from the trigger: validate the event, then succeed, fail or time out."""
        from airflow_provider_mparticle.events import raise_if_transient, validate_event
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        event = validate_event(event, self.required_event_keys)
        raise_if_transient(event)
        if event["status"] == "success":
            self.log.info("%s", event["message"])
            return self.on_success_event(event, context)
        if event["status"] == "timeout":
            raise AirflowSensorTimeout(event["message"])
        raise MParticleTaskFailure(event["message"])
