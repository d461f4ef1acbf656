"""Trigger that waits for a calculated attribute's calculation to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.errors import MParticleNotFoundError
from airflow_provider_mparticle.triggers.base import MParticleBasePollingTrigger

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_mparticle.client import AsyncMParticleClient


class MParticleCalculationTrigger(MParticleBasePollingTrigger):
    """Poll ``GET .../calculatedattributes/{id}/calculation`` until ``is_calculated``.

    Yields ``success`` (with the calculation status), ``error`` (``reason: not_found`` when the
    calculated attribute does not exist or was deleted) or ``timeout`` at the absolute deadline.
    Progress (percent complete, estimated completion) is logged whenever it changes.

    Given only a name, the first poll looks the attribute up by that exact name (one more call, made
    in the triggerer, so that a task deferring by name costs its worker nothing); a name that matches
    no attribute gives an ``error`` event with ``reason: not_found``.

    :param ca_id: the calculated attribute's id; None to look it up by ``ca_name``.
    :param ca_name: its exact name: looked up when no id is given, else for messages only.
    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deadline: epoch seconds after which a ``timeout`` event is sent.
    :param poll_interval: seconds between polls.
    """

    def __init__(
        self,
        *,
        ca_id: int | None = None,
        mparticle_conn_id: str,
        deadline: float,
        poll_interval: float = 60.0,
        ca_name: str | None = None,
    ) -> None:
        super().__init__(mparticle_conn_id=mparticle_conn_id, deadline=deadline, poll_interval=poll_interval)
        if ca_id is None and not ca_name:
            raise ValueError("Give ca_id or ca_name.")
        self.ca_id = int(ca_id) if ca_id is not None else None
        self.ca_name = ca_name

    def serialize_fields(self) -> dict[str, Any]:
        return {"ca_id": self.ca_id, "ca_name": self.ca_name}

    def describe(self) -> str:
        if self.ca_id is None:
            return f"Calculated attribute {self.ca_name!r}"
        label = f"{self.ca_name!r} (id {self.ca_id})" if self.ca_name else f"id {self.ca_id}"
        return f"Calculated attribute {label}"

    async def poll(self, client: AsyncMParticleClient) -> TriggerEvent | None:
        # The messages are those of the sensor's poke(), so that a wait fails alike in every mode.
        workspace = client.settings.workspace_id
        if self.ca_id is None:
            found = await client.calculated_attributes.find_by_name(str(self.ca_name))
            if found is None:
                message = f"No calculated attribute named {self.ca_name!r} in workspace {workspace}."
                return self.event("error", message, reason="not_found")
            self.ca_id = found.id
        try:
            status = await client.calculated_attributes.calculation_status(self.ca_id)
        except MParticleNotFoundError as error:
            message = f"{self.describe()} does not exist in workspace {workspace}: {error}"
            return self.event("error", message, reason="not_found")
        if status.name and not self.ca_name:
            self.ca_name = status.name
        progress = status.progress_text()
        if status.is_calculated:
            return self.event("success", f"{self.describe()} is calculated ({progress}).", **status.summary())
        self.log_progress(f"{self.describe()}: calculation {progress}")
        return None
