"""Sensor that waits for a calculated attribute's calculation to finish (poke, reschedule, deferrable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.mparticle import MParticleHook
from airflow_provider_mparticle.links.calculated_attributes import MParticleCalculatedAttributeLink
from airflow_provider_mparticle.sensors.base import MParticleBaseSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context
    from airflow.sdk.bases.sensor import PokeReturnValue

    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger


class MParticleCalculationSensor(MParticleBaseSensor):
    """Wait until a calculated attribute is calculated (``is_calculated`` of its calculation status).

    Logs ``calculation_percent_complete`` and ``estimated_completion_time`` whenever they change. A
    calculated attribute that does not exist (or is deleted while waiting) fails the task with an
    ``AirflowFailException``, so ``soft_fail`` skips it, in poke, reschedule and deferrable modes. Returns
    (and pushes to XCom) the final calculation status; pushes the id, name and UI link as soon as it
    knows them: at the first check, or, deferred, the id and link before deferring (given an id) and all
    three on resume.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated), looked up when no id is given.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``); the
        trigger gives up with a ``timeout`` event at start + ``timeout``. The task defers at once, with no
        token and no call to mParticle on the worker: the trigger looks the name up (when no id is given)
        and checks the calculation, and a missing or deleted attribute fails the task from there. The
        link is pushed before deferring only when it needs no name (the URL template's default).
    :param check_before_defer: with ``deferrable``, find the attribute and check it once on the worker
        before deferring: one token and one call per task (two with only ``ca_name``); see
        :class:`~airflow_provider_mparticle.sensors.base.BaseApiClientSensor`.
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
        # What this try knows of the attribute: its id (given, or found by name), and its name once read.
        self._known_id: int | None = None
        self._known_name: str | None = None
        self._last_progress: str | None = None

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    def before_defer(self, context: Context) -> None:
        """Push the id and link the task knows without a call (a ``ca_id``); the trigger checks it."""
        ca_id = MParticleHook.parse_ca_id(self.ca_id)
        if ca_id is not None:
            self._publish(context, ca_id, None)

    def _publish(self, context: Context, ca_id: int, name: str | None) -> None:
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute

        settings = self.get_hook().settings
        publish_calculated_attribute(
            context, settings.require_workspace(), ca_id, name, api_url=settings.api_url
        )

    def _get_client(self) -> MParticleClient:
        # One client per try: its token is cached across pokes and refreshed before it expires.
        if self._client is None:
            self._client = self.get_hook().get_client()
        return self._client

    def _attribute_id(self) -> int:
        """The id to poll: the given one (no call), or the one found by name (one call, once per try)."""
        if self._known_id is None:
            ca_id = MParticleHook.parse_ca_id(self.ca_id)
            if ca_id is None:
                found = MParticleHook.get_calculated_attribute(self._get_client(), None, self.ca_name)
                ca_id, self._known_name = found.id, found.name
            self._known_id = ca_id
        return self._known_id

    def _label(self, ca_id: int) -> str:
        return (
            f"Calculated attribute {self._known_name!r} (id {ca_id})"
            if self._known_name
            else f"Calculated attribute id {ca_id}"
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow.sdk.bases.sensor import PokeReturnValue

        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        ca_id = self._attribute_id()
        client = self._get_client()
        try:
            # The status carries the name too: an attribute given by id needs no other call.
            status = client.calculated_attributes.calculation_status(ca_id)
        except MParticleNotFoundError as error:
            raise MParticleTaskFailure(
                f"{self._label(ca_id)} does not exist in workspace {client.settings.workspace_id}: {error}"
            ) from error
        if self._last_progress is None:  # the first answer of this try: the name is known now
            self._known_name = status.name or self._known_name or ""
            self._publish(context, ca_id, self._known_name)
        progress = status.progress_text()
        if status.is_calculated:
            self.log.info("%s is calculated (%s).", self._label(ca_id), progress)
            return PokeReturnValue(is_done=True, xcom_value=status.summary())
        if progress != self._last_progress:
            self.log.info("%s: calculation %s", self._label(ca_id), progress)
            self._last_progress = progress
        return False

    def make_trigger(self, deadline: float) -> MParticleCalculationTrigger:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger

        ca_id: int | None = self._known_id
        ca_name: str | None = self._known_name or None
        if ca_id is None:  # not checked on the worker: the trigger learns the name, or finds it by name
            ca_id = MParticleHook.parse_ca_id(self.ca_id)
            ca_name = None if ca_id is not None else self.ca_name
            if ca_id is None and not ca_name:
                raise MParticleTaskFailure("Give ca_id or ca_name to find the calculated attribute.")
        return MParticleCalculationTrigger(
            ca_id=ca_id,
            ca_name=ca_name,
            mparticle_conn_id=self.mparticle_conn_id,
            deadline=deadline,
            poll_interval=float(self.poke_interval),
        )

    def on_success_event(self, event: dict[str, Any], context: Context) -> Any:
        # A task resumes in a new process: what it pushes comes from the event.
        self._publish(context, int(event["ca_id"]), str(event.get("name") or self.ca_name or ""))
        return {k: v for k, v in event.items() if k not in ("status", "message")}
