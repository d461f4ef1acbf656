"""Operators for calculated attributes: ensure a definition, activate it, discard a draft (and seed them).

Typical DAG: ensure -> seed -> activate (and wait for the calculation). Declare
:func:`~airflow_provider_mparticle.assets.calculated_attribute_asset` in ``outlets`` of the activate
operator to schedule downstream DAGs on the calculated attribute. Clients, hooks and heavy libraries are
imported inside the methods that use them, so that the scheduler can import DAG files cheaply. The seed
operator lives in :mod:`airflow_provider_mparticle.operators.seeding` and is importable from here too.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_provider_mparticle.links.calculated_attributes import MParticleCalculatedAttributeLink
from airflow_provider_mparticle.operators.seeding import (
    SEED_CHECKPOINT_KEY,
    MParticleSeedCalculatedAttributesOperator,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.calculated_attributes.api import CalculatedAttribute
    from airflow_provider_mparticle.client.calculated_attributes.definitions import CalculatedAttributeSpec
    from airflow_provider_mparticle.client.plans import ChangePlan

__all__ = [
    "SEED_CHECKPOINT_KEY",
    "MParticleActivateCalculatedAttributeOperator",
    "MParticleDeleteCalculatedAttributeDraftOperator",
    "MParticleEnsureCalculatedAttributeOperator",
    "MParticleSeedCalculatedAttributesOperator",
]

DEFINITION_FILE_SUFFIXES = (".json", ".yaml", ".yml")
# XCom key of the summary the ensure operator pushes (seeding needs the calculation type and cutoff).
XCOM_SUMMARY_KEY = "calculated_attribute"


def _client(conn_id: str) -> MParticleClient:
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    return MParticleHook(conn_id).get_client()


def _label(ca: CalculatedAttribute, start: bool = False) -> str:
    # Only the first letter of the sentence is raised: names keep their case.
    return f"{'C' if start else 'c'}alculated attribute {ca.name!r} (id {ca.id})"


class MParticleEnsureCalculatedAttributeOperator(BaseOperator):
    """Make the workspace hold a calculated attribute as defined in code; idempotent.

    Creates the calculated attribute when none has the name, updates its draft definition (and
    description) when they differ, and does nothing when they match (``datapoint`` / ``data_point``,
    ``min`` / ``minimum``, zone-less timestamps and empty fields compare equal). The definition is
    checked against the documented rules first, and every problem is reported with its field before
    anything is sent.

    Changes after which mParticle deletes the seeds already sent (rename, calculation type, seeding
    cutoff date) are refused unless ``allow_seed_reset=True``; a seeding cutoff on a rolling ``within``
    window is always refused (such windows cannot be seeded).

    ``mode="plan"`` computes the change against both the live (active) and the draft definition, logs it
    as a diff and returns it, writing nothing; ``mode="check"`` also fails the task (without retries) when
    the live definition differs from code. See :mod:`airflow_provider_mparticle.plans`.

    Returns the calculated attribute's id (the plan, in ``plan`` and ``check`` modes); pushes
    ``calculated_attribute_id``, ``calculated_attribute_name``, the UI link, ``change_plan`` and
    ``calculated_attribute`` (id, name, calculation type, cutoff date, action taken) to XCom.

    :param definition: a dict, a JSON / YAML document, or the path of a ``.json`` / ``.yaml`` file
        (absolute, or relative to the DAG folder or ``template_searchpath``). Either
        ``{name, description, draft_definition}`` or a bare draft definition with ``ca_name``. Templated;
        a file's content is rendered with Jinja too.
    :param ca_name: the calculated attribute's name, when the definition does not carry it (templated).
    :param description: its description (templated); None keeps what the definition says, if anything.
    :param ca_id: ensure this calculated attribute (found by id, so a new name is a rename) instead of
        looking it up by name (templated).
    :param allow_seed_reset: allow changes that make mParticle delete the existing seeds.
    :param mode: ``apply`` (default), ``plan`` or ``check`` (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    template_fields: Sequence[str] = (
        "definition",
        "ca_name",
        "description",
        "ca_id",
        "mode",
        "mparticle_conn_id",
    )
    template_fields_renderers = {"definition": "json"}
    operator_extra_links = (MParticleCalculatedAttributeLink(),)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        definition: dict[str, Any] | str,
        ca_name: str | None = None,
        description: str | None = None,
        ca_id: int | str | None = None,
        allow_seed_reset: bool = False,
        mode: str = "apply",
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.definition = definition
        self.ca_name = ca_name
        self.description = description
        self.ca_id = ca_id
        self.allow_seed_reset = allow_seed_reset
        self.mparticle_conn_id = mparticle_conn_id

    def _definition_file(self, value: str) -> str:
        from airflow_provider_mparticle.plans import resolve_file

        return resolve_file(self, value)

    def load_definition(self, context: Context | None = None) -> Any:
        """The definition as a Python object: the dict given, or the document parsed (file read first)."""
        import json
        import pathlib

        import yaml

        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        value = self.definition
        if isinstance(value, pathlib.Path):
            value = str(value)
        if not isinstance(value, str):
            return value
        text, source = value, "definition"
        if "\n" not in value and value.strip().lower().endswith(DEFINITION_FILE_SUFFIXES):
            path = self._definition_file(value.strip())
            try:
                text = pathlib.Path(path).read_text(encoding="utf-8")
            except OSError as error:
                raise MParticleTaskFailure(f"definition: cannot read file {value!r}: {error}") from error
            source = f"definition file {path}"
            if context is not None:
                rendered = self.render_template(text, context)
                if not isinstance(rendered, str):
                    return rendered
                text = rendered
        try:
            if source.endswith(".json") or text.lstrip().startswith("{"):
                return json.loads(text)
            return yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as error:
            raise MParticleTaskFailure(f"{source}: not valid JSON / YAML: {error}") from error

    def parse(self, context: Context | None = None) -> CalculatedAttributeSpec:
        """Load and check the definition; a failure names every offending field."""
        from airflow_provider_mparticle.client.calculated_attributes.definitions import (
            CalculatedAttributeDefinitionError,
            parse_spec,
        )
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            return parse_spec(self.load_definition(context), self.ca_name, self.description)
        except CalculatedAttributeDefinitionError as error:
            raise MParticleTaskFailure(str(error)) from error

    def execute(self, context: Context) -> Any:
        from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
        from airflow_provider_mparticle.client.calculated_attributes.definitions import (
            plan_calculated_attribute,
        )
        from airflow_provider_mparticle.client.plans import ChangeMode
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute
        from airflow_provider_mparticle.plans import (
            finish_without_apply,
            parse_mode,
            publish_plan,
        )

        mode = parse_mode(self.mode)
        spec = self.parse(context)
        with _client(self.mparticle_conn_id) as client:
            api = client.calculated_attributes
            workspace = client.settings.require_workspace()
            if self.ca_id not in (None, ""):
                try:
                    existing: CalculatedAttribute | None = api.get(int(self.ca_id))  # type: ignore[arg-type]
                except MParticleNotFoundError as error:
                    raise MParticleTaskFailure(
                        f"Calculated attribute id {self.ca_id} does not exist."
                    ) from error
            else:
                existing = api.find_by_name(spec.name)
            plan = plan_calculated_attribute(existing, spec, self.allow_seed_reset)
            publish_plan(context, plan)
            if existing is not None:
                publish_calculated_attribute(
                    context, workspace, existing.id, existing.name, api_url=client.settings.api_url
                )
            if mode is not ChangeMode.APPLY:
                return finish_without_apply(self.log, plan, mode)
            try:
                ca_id, action = self._apply(api, existing, spec, plan)
            except MParticleValidationError as error:
                raise MParticleTaskFailure(
                    f"mParticle refused calculated attribute {spec.name!r}: {'; '.join(error.messages) or error}"
                ) from error
            if action != "unchanged":
                publish_calculated_attribute(
                    context, workspace, ca_id, spec.name, api_url=client.settings.api_url
                )
        context["ti"].xcom_push(
            key=XCOM_SUMMARY_KEY,
            value={
                "id": ca_id,
                "name": spec.name,
                "calculation_type": spec.calculation_type.value,
                "cutoff_date": spec.cutoff_date,
                "action": action,
            },
        )
        return ca_id

    def _apply(
        self,
        api: Any,
        existing: CalculatedAttribute | None,
        spec: CalculatedAttributeSpec,
        plan: ChangePlan,
    ) -> tuple[int, str]:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        if existing is None:
            ca_id: int = api.create(spec.name, spec.draft_definition, spec.description)
            self.log.info("Created calculated attribute %r (id %s).", spec.name, ca_id)
            return ca_id, "created"
        if not plan.has_changes:
            self.log.info("%s already matches the definition; nothing to do.", _label(existing, start=True))
            return existing.id, "unchanged"
        if plan.refusal:
            raise MParticleTaskFailure(f"Refusing to change {_label(existing)}: {plan.refusal}")
        for warning in plan.warnings:
            self.log.warning("%s: %s.", _label(existing), warning)
        api.update(existing.id, **plan.request)
        self.log.info("Updated %s (%s).\n%s", _label(existing), ", ".join(plan.writes), plan.text())
        return existing.id, "updated"


class _OneCalculatedAttributeOperator(BaseOperator):
    """An operator acting on one existing calculated attribute, given by id or exact name.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    template_fields: Sequence[str] = ("ca_id", "ca_name", "mparticle_conn_id")
    operator_extra_links = (MParticleCalculatedAttributeLink(),)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        ca_id: int | str | None = None,
        ca_name: str | None = None,
        mparticle_conn_id: str = "mparticle_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Whether an argument was given can be checked here; its rendered value only in execute().
        if ca_id is None and ca_name is None:
            raise ValueError("Give ca_id or ca_name.")
        self.ca_id = ca_id
        self.ca_name = ca_name
        self.mparticle_conn_id = mparticle_conn_id

    def _resolve(self, context: Context, client: MParticleClient) -> CalculatedAttribute:
        """Find the calculated attribute (failing the task if it is missing) and publish its link."""
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook
        from airflow_provider_mparticle.links.calculated_attributes import publish_calculated_attribute

        ca = MParticleHook.get_calculated_attribute(client, self.ca_id, self.ca_name)
        publish_calculated_attribute(
            context, client.settings.require_workspace(), ca.id, ca.name, api_url=client.settings.api_url
        )
        return ca


class MParticleActivateCalculatedAttributeOperator(_OneCalculatedAttributeOperator):
    """Activate a calculated attribute's draft definition, and optionally wait for its calculation.

    Activating a calculated attribute that is already active and has no draft is a no-op (so reruns
    succeed). mParticle's documented refusals fail the task without retries and with its message:
    the account limit on active calculated attributes, and "No draft definition was found to activate".

    The API does not publish the account's limit on active calculated attributes: give it as
    ``active_limit`` and the limit is checked before activating, failing with the names of the
    attributes that hold it instead of sending a request mParticle would refuse. Without it, a refusal
    for the limit names them too.

    Returns ``{ca_id, name, activated}`` plus, when waiting, the final calculation status.

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param wait_for_calculation: wait until ``is_calculated`` (initial calculations can take hours).
    :param poll_interval: seconds between calculation checks while waiting.
    :param timeout: how long to wait (seconds or timedelta); then the task fails.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``). The worker
        finds the attribute and activates it (one token, two calls; one more to list the active
        attributes with ``active_limit``), then defers at once: the wait adds no call on the worker, the
        trigger's first poll is the first check of the calculation.
    :param check_before_defer: with ``deferrable``, check the calculation once on the worker before
        deferring (one more call; the token is the one the activation used).
    :param active_limit: the account's limit on active calculated attributes, when known.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    def __init__(
        self,
        *,
        active_limit: int | None = None,
        wait_for_calculation: bool = False,
        poll_interval: float = 60.0,
        timeout: float | dt.timedelta = dt.timedelta(days=7),
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        check_before_defer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.active_limit = active_limit
        self.wait_for_calculation = wait_for_calculation
        self.poll_interval = float(poll_interval)
        self.timeout = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else float(timeout)
        self.deferrable = deferrable
        self.check_before_defer = check_before_defer

    def _limit_holders(self, client: MParticleClient, ca: CalculatedAttribute) -> str:
        from airflow_provider_mparticle.client.calculated_attributes.api import (
            active_limit_holders,
            active_limit_message,
        )

        holders = active_limit_holders(client.calculated_attributes.list(), ca.id)
        return active_limit_message(holders, self.active_limit)

    def _activate(self, client: MParticleClient, ca: CalculatedAttribute) -> bool:
        from airflow_provider_mparticle.client import MParticleValidationError
        from airflow_provider_mparticle.client.calculated_attributes.api import (
            active_limit_holders,
            active_limit_message,
        )
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        if self.active_limit is not None and ca.draft_definition is not None:
            holders = active_limit_holders(client.calculated_attributes.list(), ca.id)
            if len(holders) >= int(self.active_limit):
                raise MParticleTaskFailure(
                    f"Cannot activate {_label(ca)}: the account limit on active calculated attributes is "
                    f"reached; {active_limit_message(holders, self.active_limit)}. Nothing was sent. Delete unneeded active "
                    "calculated attributes or ask your mParticle account representative to raise the limit."
                )
        try:
            client.calculated_attributes.activate(ca.id)
        except MParticleValidationError as error:
            said = "; ".join(error.messages) or str(error)
            lowered = said.lower()
            if "no draft definition" in lowered:
                if ca.is_active:
                    self.log.info("%s is already active and has no draft: nothing to activate.", _label(ca))
                    return False
                raise MParticleTaskFailure(
                    f"Cannot activate {_label(ca)}: it has no draft definition (mParticle: {said!r}). "
                    "Give it one first, e.g. with MParticleEnsureCalculatedAttributeOperator."
                ) from error
            if "limit on active calculated attributes" in lowered:
                raise MParticleTaskFailure(
                    f"Cannot activate {_label(ca)}: the account limit on active calculated attributes is "
                    f"reached (mParticle: {said!r}); {self._limit_holders(client, ca)}. Delete unneeded "
                    "active calculated attributes or ask your mParticle account representative to raise the "
                    "limit."
                ) from error
            raise MParticleTaskFailure(f"mParticle refused to activate {_label(ca)}: {said}") from error
        self.log.info("Activated %s.", _label(ca))
        return True

    def execute(self, context: Context) -> dict[str, Any]:
        import time

        with _client(self.mparticle_conn_id) as client:
            ca = self._resolve(context, client)
            result: dict[str, Any] = {
                "ca_id": ca.id,
                "name": ca.name,
                "activated": self._activate(client, ca),
            }
            if not self.wait_for_calculation:
                return result
            deadline = time.time() + self.timeout
            if not self.deferrable or self.check_before_defer:
                status = self._check(client, ca)
                if status is not None:
                    return {**result, **status}
            if self.deferrable:
                from airflow_provider_mparticle.triggers.calculated_attributes import (
                    MParticleCalculationTrigger,
                )

                self.defer(
                    trigger=MParticleCalculationTrigger(
                        ca_id=ca.id,
                        ca_name=ca.name,
                        mparticle_conn_id=self.mparticle_conn_id,
                        deadline=deadline,
                        poll_interval=self.poll_interval,
                    ),
                    method_name="execute_complete",
                    kwargs={"result": result},
                )
            while time.time() < deadline:
                time.sleep(min(self.poll_interval, max(deadline - time.time(), 0)))
                status = self._check(client, ca)
                if status is not None:
                    return {**result, **status}
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        raise MParticleTaskFailure(f"{_label(ca, start=True)} is still calculating after {self.timeout:g} s.")

    def _check(self, client: MParticleClient, ca: CalculatedAttribute) -> dict[str, Any] | None:
        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        try:
            status = client.calculated_attributes.calculation_status(ca.id)
        except MParticleNotFoundError as error:
            raise MParticleTaskFailure(f"{_label(ca, start=True)} is gone: {error}") from error
        progress = status.progress_text()
        if status.is_calculated:
            self.log.info("%s is calculated (%s).", _label(ca, start=True), progress)
            return status.summary()
        if progress != getattr(self, "_last_progress", None):
            self.log.info("%s: calculation %s", _label(ca, start=True), progress)
            self._last_progress = progress
        return None

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume from the trigger: validate the event, then succeed, fail, or retry a transient error."""
        from airflow_provider_mparticle.events import resume
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        event = resume(event, ("ca_id", "is_calculated"), on_timeout=MParticleTaskFailure)
        self.log.info("%s", event["message"])
        payload = {k: v for k, v in event.items() if k not in ("status", "message")}
        return {**(result or {}), **payload}


class MParticleDeleteCalculatedAttributeDraftOperator(_OneCalculatedAttributeOperator):
    """Discard a calculated attribute's draft definition (the active definition, if any, stays).

    :param ca_id: the calculated attribute's id (templated).
    :param ca_name: or its exact name (templated).
    :param missing_ok: succeed (returning None) when the calculated attribute does not exist.
    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    """

    def __init__(self, *, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> int | None:
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        with _client(self.mparticle_conn_id) as client:
            try:
                ca = self._resolve(context, client)
            except MParticleTaskFailure:
                if not self.missing_ok:
                    raise
                self.log.info(
                    "Calculated attribute %s does not exist; nothing to do.", self.ca_id or self.ca_name
                )
                return None
            if ca.draft_definition is None:
                self.log.info("%s has no draft definition; nothing to discard.", _label(ca, start=True))
            else:
                client.calculated_attributes.delete_draft(ca.id)
                self.log.info("Discarded the draft definition of %s.", _label(ca))
        return ca.id
