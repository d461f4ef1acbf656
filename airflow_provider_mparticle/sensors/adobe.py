"""Sensor waiting for an AEP computed attribute to be PROCESSED (poke, reschedule or deferrable)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
from airflow_provider_mparticle.triggers.adobe import (
    ERROR,
    EVENT_STATUSES,
    FAILED,
    SUCCESS,
    TIMEOUT,
    AdobeComputedAttributeTrigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class AdobeComputedAttributeFailedError(AirflowFailException):
    """The computed attribute ended FAILED or DISABLED, or is a DRAFT that will never be evaluated."""


class AdobeComputedAttributeSensor(BaseSensorOperator):
    """Wait until a computed attribute's status is PROCESSED; fail on FAILED, DISABLED or DRAFT.

    Failures raise :class:`AdobeComputedAttributeFailedError` (an ``AirflowFailException``), so
    ``soft_fail=True`` turns them into skips. In deferrable mode the trigger gets an absolute deadline from
    ``timeout`` and reports it as an event instead of being cut off.

    :param attribute_id: the computed attribute's id (templated), e.g. the ensure operator's XCom.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields = ("attribute_id",)

    def __init__(
        self,
        *,
        attribute_id: str,
        adobe_aep_conn_id: str = AdobeExperiencePlatformHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.attribute_id = attribute_id
        self.adobe_aep_conn_id = adobe_aep_conn_id
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool:
        from airflow_provider_mparticle.client.adobe import ComputedAttributeStatus

        with AdobeExperiencePlatformHook(self.adobe_aep_conn_id).get_client() as client:
            attribute = client.computed_attributes.get(str(self.attribute_id))
        status, text = attribute.status, attribute.status_text
        self.log.info("Computed attribute %s (%s) is %s", attribute.name, attribute.id, text)
        if status is not None and status.is_success:
            return True
        if status is not None and status.is_failure:
            raise AdobeComputedAttributeFailedError(f"Computed attribute {attribute.name!r} is {text}.")
        if status is ComputedAttributeStatus.DRAFT:
            raise AdobeComputedAttributeFailedError(
                f"Computed attribute {attribute.name!r} is a DRAFT and is never evaluated; set its status to NEW."
            )
        if status is None:
            self.log.warning("Status %r is not a documented status; still waiting.", text)
        return False

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # One read first: an attribute already PROCESSED (or FAILED) needs no trip to the triggerer.
        if self.poke(context):
            return None
        self.defer(
            trigger=AdobeComputedAttributeTrigger(
                attribute_id=str(self.attribute_id),
                adobe_aep_conn_id=self.adobe_aep_conn_id,
                poll_interval=float(self.poke_interval),
                deadline=time.time() + float(self.timeout),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume from the trigger: check the event's shape, then succeed or fail as it says."""
        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise AirflowException(f"Unexpected event from AdobeComputedAttributeTrigger: {event!r}")
        if str(event.get("attribute_id")) != str(self.attribute_id):
            raise AirflowException(
                f"Event for computed attribute {event.get('attribute_id')!r}, expected {self.attribute_id!r}."
            )
        message = str(event.get("message") or "")
        status = event["status"]
        if status == SUCCESS:
            self.log.info("%s", message)
            return
        if status == FAILED:
            raise AdobeComputedAttributeFailedError(message)
        if status == TIMEOUT:
            from airflow.sdk.exceptions import AirflowSensorTimeout

            raise AirflowSensorTimeout(f"Sensor timed out after {self.timeout} s: {message}")
        if status == ERROR:
            from airflow_provider_mparticle.events import raise_if_transient

            raise_if_transient(event)
            raise AirflowException(f"Waiting for the computed attribute failed: {message}")
