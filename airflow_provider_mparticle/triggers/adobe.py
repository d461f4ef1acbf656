"""Trigger that waits, in the triggerer, for an AEP computed attribute to finish its evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
from airflow_provider_mparticle.triggers.base import BaseApiPollingTrigger

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_mparticle.client.adobe import AsyncAdobeClient


class AdobeComputedAttributeTrigger(BaseApiPollingTrigger["AsyncAdobeClient"]):
    """Poll a computed attribute until PROCESSED (success), FAILED / DISABLED / DRAFT (failed) or the deadline.

    Every event carries ``attribute_id`` and ``attribute_status`` (the last status read).

    :param attribute_id: the computed attribute's id.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection.
    :param poll_interval: seconds between reads.
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (the sensor's timeout).
    """

    hook_class = AdobeExperiencePlatformHook

    def __init__(
        self, attribute_id: str, adobe_aep_conn_id: str, poll_interval: float, deadline: float
    ) -> None:
        super().__init__(conn_id=adobe_aep_conn_id, deadline=deadline, poll_interval=poll_interval)
        self.attribute_id = str(attribute_id)
        self._status: str | None = None

    @property
    def adobe_aep_conn_id(self) -> str:
        return self.conn_id

    def serialize_fields(self) -> dict[str, Any]:
        return {"attribute_id": self.attribute_id}

    def event_fields(self) -> dict[str, Any]:
        return {"attribute_id": self.attribute_id, "attribute_status": self._status}

    def describe(self) -> str:
        return f"Computed attribute {self.attribute_id}"

    def still_waiting(self) -> str:
        return f"still {self._status}"

    async def poll(self, client: AsyncAdobeClient) -> TriggerEvent | None:
        attribute = await client.computed_attributes.get(self.attribute_id)
        self._status = attribute.status_text
        message = f"Computed attribute {attribute.name!r} is {attribute.status_text}."
        if attribute.status is not None and attribute.status.is_success:
            return self.event("success", message)
        failure = AdobeExperiencePlatformHook.evaluation_failure(attribute)
        if failure is not None:
            return self.event("failed", failure)
        self.log_progress(f"Computed attribute {self.attribute_id} is {attribute.status_text}")
        return None
