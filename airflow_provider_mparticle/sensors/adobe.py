"""Sensor waiting for an AEP computed attribute to be PROCESSED (poke, reschedule or deferrable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
from airflow_provider_mparticle.sensors.base import BaseApiClientSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from airflow_provider_mparticle.triggers.adobe import AdobeComputedAttributeTrigger


class AdobeComputedAttributeFailedError(AirflowFailException):
    """The computed attribute ended FAILED or DISABLED, or is a DRAFT that will never be evaluated."""


class AdobeComputedAttributeSensor(BaseApiClientSensor[AdobeExperiencePlatformHook]):
    """Wait until a computed attribute's status is PROCESSED; fail on FAILED, DISABLED or DRAFT.

    Failures raise :class:`AdobeComputedAttributeFailedError` (an ``AirflowFailException``), so
    ``soft_fail=True`` turns them into skips, in every mode. In deferrable mode the trigger gets an
    absolute deadline from ``timeout`` and reports it as an event instead of being cut off.

    :param attribute_id: the computed attribute's id (templated), e.g. the ensure operator's XCom.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection (templated).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``). The task
        defers at once, with no IMS token and no call to AEP on the worker; the trigger's first poll is
        the first check.
    :param check_before_defer: with ``deferrable``, check once on the worker before deferring: one IMS
        token and one call per task.
    """

    hook_class = AdobeExperiencePlatformHook
    failure_class = AdobeComputedAttributeFailedError
    template_fields: Sequence[str] = ("attribute_id", "adobe_aep_conn_id")

    def __init__(
        self,
        *,
        attribute_id: str,
        adobe_aep_conn_id: str = AdobeExperiencePlatformHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.attribute_id = attribute_id
        self.adobe_aep_conn_id = adobe_aep_conn_id

    def poke(self, context: Context) -> bool:
        with self.get_hook().get_client() as client:
            attribute = client.computed_attributes.get(str(self.attribute_id))
        self.log.info("Computed attribute %s (%s) is %s", attribute.name, attribute.id, attribute.status_text)
        if attribute.status is not None and attribute.status.is_success:
            return True
        failure = AdobeExperiencePlatformHook.evaluation_failure(attribute)
        if failure is not None:
            raise AdobeComputedAttributeFailedError(failure)
        if attribute.status is None:
            self.log.warning("Status %r is not a documented status; still waiting.", attribute.status_text)
        return False

    def make_trigger(self, deadline: float) -> AdobeComputedAttributeTrigger:
        from airflow_provider_mparticle.triggers.adobe import AdobeComputedAttributeTrigger

        return AdobeComputedAttributeTrigger(
            attribute_id=str(self.attribute_id),
            adobe_aep_conn_id=self.adobe_aep_conn_id,
            poll_interval=float(self.poke_interval),
            deadline=deadline,
        )

    def on_success_event(self, event: dict[str, Any], context: Context) -> None:
        if str(event.get("attribute_id")) != str(self.attribute_id):
            raise AirflowException(
                f"Event for computed attribute {event.get('attribute_id')!r}, expected {self.attribute_id!r}."
            )
