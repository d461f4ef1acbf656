"""Operators for AEP computed attributes: keep a definition in code, and move it DRAFT -> NEW or to DISABLED."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context


class AdobeComputedAttributeError(AirflowFailException):
    """A definition or status change the documented rules refuse; retrying cannot help."""


class AdobeEnsureComputedAttributeOperator(BaseOperator):
    """Create a computed attribute, or bring an existing DRAFT of the same name up to date (idempotent).

    The definition is checked against the documented rules (name of letters and digits only; duration
    HOURS 1-24, DAYS 1-7, WEEKS 1-4, MONTHS 1-6; PQL expression) before any request. An attribute found by
    name that already matches is left alone. A DRAFT that differs is patched. An attribute whose evaluation
    has started (NEW and later) accepts no change but DISABLED, so a difference fails the task and names the
    fields. Returns the attribute id (XCom ``return_value``); pushes its ``status`` too.

    :param name: unique name, letters and digits only.
    :param expression: the PQL expression (templated).
    :param duration: the lookback period, ``{"count": 7, "unit": "DAYS"}`` (templated).
    :param display_name: name shown in the AEP UI (default: ``name``).
    :param description: description (templated).
    :param keep_current: fast refresh (the documents ask for False for now).
    :param activate: create as NEW (or move a DRAFT to NEW), which starts the evaluation.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection (templated).
    """

    template_fields = ("name", "expression", "duration", "display_name", "description", "adobe_aep_conn_id")

    def __init__(
        self,
        *,
        name: str,
        expression: str,
        duration: Mapping[str, Any],
        display_name: str | None = None,
        description: str | None = None,
        keep_current: bool = False,
        activate: bool = False,
        adobe_aep_conn_id: str = AdobeExperiencePlatformHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.expression = expression
        self.duration = duration
        self.display_name = display_name
        self.description = description
        self.keep_current = keep_current
        self.activate = activate
        self.adobe_aep_conn_id = adobe_aep_conn_id

    def execute(self, context: Context) -> str:
        from airflow_provider_mparticle.client.adobe import (
            ComputedAttributeDefinition,
            ComputedAttributeError,
            ComputedAttributeStatus,
        )

        try:
            definition = ComputedAttributeDefinition.from_dict(
                {
                    "name": self.name,
                    "expression": self.expression,
                    "duration": self.duration,
                    "displayName": self.display_name,
                    "description": self.description,
                    "keepCurrent": self.keep_current,
                }
            )
        except ComputedAttributeError as error:
            raise AdobeComputedAttributeError(str(error)) from error
        hook = AdobeExperiencePlatformHook(self.adobe_aep_conn_id)
        with hook.get_client() as client:
            api = client.computed_attributes
            current = api.find_by_name(definition.name)
            if current is None:
                status = ComputedAttributeStatus.NEW if self.activate else ComputedAttributeStatus.DRAFT
                attribute = api.create(definition, status)
                self.log.info(
                    "Created computed attribute %r (%s) as %s", attribute.name, attribute.id, status
                )
            else:
                changes = definition.changes_from(current)
                if self.activate and current.status is ComputedAttributeStatus.DRAFT:
                    changes["status"] = ComputedAttributeStatus.NEW.value
                if not changes:
                    attribute = current
                    self.log.info("Computed attribute %r (%s) is up to date", current.name, current.id)
                elif current.status is not ComputedAttributeStatus.DRAFT:
                    raise AdobeComputedAttributeError(
                        f"Computed attribute {current.name!r} ({current.id}) is {current.status_text}; AEP accepts "
                        f"no change to it but status DISABLED. Fields that differ from the definition: "
                        f"{', '.join(sorted(changes))}."
                    )
                else:
                    try:
                        attribute = api.update(current.id, changes, current.status)
                    except ComputedAttributeError as error:
                        raise AdobeComputedAttributeError(f"{current.name!r}: {error}") from error
                    self.log.info(
                        "Updated computed attribute %r (%s): %s", current.name, current.id, sorted(changes)
                    )
        context["ti"].xcom_push(key="status", value=attribute.status_text)
        return attribute.id


class AdobeSetComputedAttributeStatusOperator(BaseOperator):
    """Move a computed attribute from DRAFT to NEW (start its evaluation) or to DISABLED; idempotent.

    Asking NEW of an attribute already evaluating or PROCESSED, or DISABLED of a disabled one, does nothing.
    Transitions the documents forbid (a DRAFT to DISABLED, anything out of FAILED or DISABLED to NEW) fail
    the task before any change is sent. Returns the resulting status.

    :param attribute_id: the computed attribute's id (templated).
    :param status: ``NEW`` or ``DISABLED``.
    :param adobe_aep_conn_id: the ``adobe_aep`` connection (templated).
    """

    template_fields = ("attribute_id", "adobe_aep_conn_id")

    def __init__(
        self,
        *,
        attribute_id: str,
        status: str,
        adobe_aep_conn_id: str = AdobeExperiencePlatformHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if str(status).upper() not in ("NEW", "DISABLED"):
            raise ValueError(f"Argument 'status' must be NEW or DISABLED, got {status!r}.")
        self.attribute_id = attribute_id
        self.status = str(status).upper()
        self.adobe_aep_conn_id = adobe_aep_conn_id

    def execute(self, context: Context) -> str:
        from airflow_provider_mparticle.client import MParticleValidationError
        from airflow_provider_mparticle.client.adobe import ComputedAttributeError, ComputedAttributeStatus

        target = ComputedAttributeStatus(self.status)
        with AdobeExperiencePlatformHook(self.adobe_aep_conn_id).get_client() as client:
            api = client.computed_attributes
            current = api.get(str(self.attribute_id))
            already = current.status is target or (
                target is ComputedAttributeStatus.NEW
                and current.status is not None
                and (current.status.is_evaluating or current.status.is_success)
            )
            if already:
                self.log.info("Computed attribute %r is already %s", current.name, current.status_text)
                return current.status_text
            try:
                updated = api.update(current.id, {"status": target.value}, current.status)
            except (ComputedAttributeError, MParticleValidationError) as error:
                # Refused by the documented rules, here or by AEP (undocumented statuses): retrying won't help.
                raise AdobeComputedAttributeError(
                    f"Computed attribute {current.name!r} is {current.status_text}: {error}"
                ) from error
        self.log.info(
            "Computed attribute %r: %s -> %s", updated.name, current.status_text, updated.status_text
        )
        return updated.status_text
