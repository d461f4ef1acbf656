"""Sensor that waits for a calculated attribute's calculation to finish (poke, reschedule, deferrable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.links.calculated_attributes import MParticleCalculatedAttributeLink
from airflow_provider_mparticle.sensors.base import MParticleBaseSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context
    from airflow.sdk.bases.sensor import PokeReturnValue

    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.calculated_attributes.api import CalculatedAttribute
    from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger


class MParticleCalculationSensor(MParticleBaseSensor):
    """Wait until a calculated attribute is calculated (``is_calculated`` of its calculation status).

    Logs ``calculation_percent_complete`` and ``estimated_completion_time`` whenever they change. A
    calculated attribute that does not exist (or is deleted while waiting) fails the task with an
    ``AirflowFailException``, so ``soft_fail`` skips it, in poke, reschedule and deferrable modes. Returns
    (and pushes to XCom) the final calculation status; pushes the id, name and UI link early.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated), looked up when no id is given.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``); the
        trigger gives up with a ``timeout`` event at start + ``timeout``.
    """

    template_fields: Sequence[str] = (*MParticleBaseSensor.template_fields, "ca_id", "ca_name")
    operator_extra_links = (MParticleCalculatedAttributeLink(),)
    required_event_keys = ("ca_id", "is_calculated")

    def __init__(self, *, ca_id: int | str | None = None, ca_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if ca_id is None and ca_name is None:
            raise ValueError("Give ca_id or ca_name.")
        self.ca_id = ca_id
        self.ca_name = ca_name
        self._client: MParticleClient | None = None
        self._resolved: CalculatedAttribute | None = None
        self._last_progress: str | None = None

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _get_client(self) -> MParticleClient:
        # One client per try: its token is cached across pokes and refreshed before it expires.
        if self._client is None:
            self._client = self.get_hook().get_client()
        return self._client

    def _calculated_attribute(self, context: Context) -> CalculatedAttribute:
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute

        if self._resolved is None:
            client = self._get_client()
            self._resolved = self.get_hook().get_calculated_attribute(client, self.ca_id, self.ca_name)
            publish_calculated_attribute(
                context,
                client.settings.require_workspace(),
                self._resolved.id,
                self._resolved.name,
                api_url=client.settings.api_url,
            )
        return self._resolved

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow.sdk.bases.sensor import PokeReturnValue

        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        ca = self._calculated_attribute(context)
        try:
            status = self._get_client().calculated_attributes.calculation_status(ca.id)
        except MParticleNotFoundError as error:
            raise MParticleTaskFailure(
                f"Calculated attribute {ca.name!r} (id {ca.id}) is gone: {error}"
            ) from error
        progress = status.progress_text()
        if status.is_calculated:
            self.log.info("Calculated attribute %r (id %s) is calculated (%s).", ca.name, ca.id, progress)
            return PokeReturnValue(is_done=True, xcom_value=status.summary())
        if progress != self._last_progress:
            self.log.info("Calculated attribute %r (id %s): calculation %s", ca.name, ca.id, progress)
            self._last_progress = progress
        return False

    def make_trigger(self, deadline: float) -> MParticleCalculationTrigger:
        from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger

        if self._resolved is None:
            raise RuntimeError("make_trigger() is called after poke(), which finds the calculated attribute.")
        return MParticleCalculationTrigger(
            ca_id=self._resolved.id,
            ca_name=self._resolved.name,
            mparticle_conn_id=self.mparticle_conn_id,
            deadline=deadline,
            poll_interval=float(self.poke_interval),
        )

    def on_success_event(self, event: dict[str, Any], context: Context) -> Any:
        return {k: v for k, v in event.items() if k not in ("status", "message")}
