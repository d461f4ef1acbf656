"""Trigger that waits, in the triggerer, for an AEP computed attribute to finish its evaluation."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

# Event ``status`` values; the sensor's ``execute_complete`` accepts these and nothing else.
SUCCESS, FAILED, TIMEOUT, ERROR = "success", "failed", "timeout", "error"
EVENT_STATUSES = (SUCCESS, FAILED, TIMEOUT, ERROR)


class AdobeComputedAttributeTrigger(BaseTrigger):
    """Poll a computed attribute until PROCESSED (success), FAILED / DISABLED / DRAFT (failed) or the deadline.

    Yields one event ``{"status", "attribute_id", "attribute_status", "message"}``.

    :param attribute_id: the computed attribute's id.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection.
    :param poll_interval: seconds between reads.
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (the sensor's timeout).
    """

    def __init__(
        self, attribute_id: str, adobe_aep_conn_id: str, poll_interval: float, deadline: float
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.attribute_id = str(attribute_id)
        self.adobe_aep_conn_id = str(adobe_aep_conn_id)
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "attribute_id": self.attribute_id,
                "adobe_aep_conn_id": self.adobe_aep_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    def _event(self, status: str, attribute_status: str | None, message: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent(  # type: ignore[no-untyped-call]
            {
                "status": status,
                "attribute_id": self.attribute_id,
                "attribute_status": attribute_status,
                "message": message,
                **extra,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_mparticle.client import MParticleError
        from airflow_provider_mparticle.client.adobe import ComputedAttributeStatus
        from airflow_provider_mparticle.events import error_reason
        from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook

        try:
            client = await AdobeExperiencePlatformHook(self.adobe_aep_conn_id).aget_client()
        except MParticleError as error:
            yield self._event(ERROR, None, str(error))
            return
        try:
            while True:
                attribute = await client.computed_attributes.get(self.attribute_id)
                status, text = attribute.status, attribute.status_text
                if status is not None and status.is_success:
                    yield self._event(SUCCESS, text, f"Computed attribute {attribute.name!r} is {text}.")
                    return
                if status is not None and status.is_failure:
                    yield self._event(FAILED, text, f"Computed attribute {attribute.name!r} is {text}.")
                    return
                if status is ComputedAttributeStatus.DRAFT:
                    yield self._event(
                        FAILED,
                        text,
                        f"Computed attribute {attribute.name!r} is a DRAFT: it is never evaluated.",
                    )
                    return
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield self._event(
                        TIMEOUT,
                        text,
                        f"Computed attribute {attribute.name!r} is still {text} at the deadline.",
                    )
                    return
                self.log.info("Computed attribute %s is %s", self.attribute_id, text)
                await asyncio.sleep(min(self.poll_interval, remaining))
        except MParticleError as error:
            yield self._event(ERROR, None, str(error), **error_reason(error))
        finally:
            await client.aclose()
