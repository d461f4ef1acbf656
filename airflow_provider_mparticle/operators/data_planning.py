"""Data plans as code: deploy a plan kept in the repository, and validate event batches against it."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_mparticle.hooks.mparticle import MParticleHook

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from airflow_provider_mparticle.client.data_planning.models import BatchValidationResult


class ValidationPolicy(StrEnum):
    """What a batch that breaks the plan does to the task."""

    FAIL = "fail"
    WARN = "warn"
    PASS = "pass"

    @classmethod
    def parse(cls, value: Any) -> ValidationPolicy:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise AirflowFailException(
                f"policy is {value!r}; expected one of: {', '.join(p.value for p in cls)}."
            ) from None


def _resolve_path(path: str, operator: BaseOperator) -> str:
    if os.path.isabs(path):
        return path
    # Relative paths are read from the DAG file's folder, so a plan can sit next to the DAG in the repo.
    dag = getattr(operator, "dag", None)
    fileloc = getattr(dag, "fileloc", None) if dag is not None else None
    if fileloc:
        candidate = os.path.join(os.path.dirname(fileloc), path)
        if os.path.exists(candidate):
            return candidate
    return os.path.abspath(path)


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise AirflowFailException(f"{what} {path!r} does not exist.") from None
    except ValueError as error:
        raise AirflowFailException(f"{what} {path!r} is not valid JSON: {error}") from None


class MParticleDeployDataPlanOperator(BaseOperator):
    """Make a data plan in the workspace match a JSON file kept in the repository.

    Creates the plan when it is missing, otherwise creates the versions it lacks and updates those that
    differ; a version that already matches is left alone, so the task can run on every deploy. The
    changes are logged as a diff. Fields the file leaves out (a version's ``activated_environment`` or
    ``version_description``) are left as they are, and versions missing from the file are not deleted.

    The file has the shape of the Data Planning API's "create data plan" body: ``data_plan_id``,
    ``data_plan_name``, ``data_plan_description`` and ``data_plan_versions`` (each with ``version``,
    ``version_document`` and optionally ``version_description`` and ``activated_environment``).

    :param plan_file: path of the plan's JSON file; a relative path is read from the DAG file's folder.
    :param plan: the plan itself (instead of ``plan_file``).
    :param activated_environment: override every version's ``activated_environment`` (``none``,
        ``development`` or ``production``), e.g. to promote the same file per environment.
    :param mode: ``apply`` (default); ``plan`` logs the change as a diff against the live versions
        (activated in development or production) and the draft ones (``activated_environment: none``),
        returns it and writes nothing; ``check`` also fails the task, without retries, when a live version
        or the plan differs from the file (templated). The plan goes to XCom as ``change_plan``.
    :param check_only: the same as ``mode="plan"`` (kept for existing DAGs).
    :param mparticle_conn_id: the ``mparticle`` connection (Platform API client id and secret).
    :return: ``{"data_plan_id", "plan": "created" | "updated" | "unchanged", "versions": {number: action}}``,
        plus the plan's fields (``action``, ``comparisons``, ``text``, ...) in ``plan`` and ``check`` modes.
    """

    template_fields: Sequence[str] = (
        "plan_file",
        "plan",
        "activated_environment",
        "mode",
        "mparticle_conn_id",
    )
    template_fields_renderers = {"plan": "json"}
    ui_color = "#d5e8f7"

    def __init__(
        self,
        *,
        plan_file: str | None = None,
        plan: dict[str, Any] | None = None,
        activated_environment: str | None = None,
        mode: str = "apply",
        check_only: bool = False,
        mparticle_conn_id: str = MParticleHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (plan_file is None) == (plan is None):
            raise ValueError("Give exactly one of 'plan_file' and 'plan'.")
        self.mode = mode
        self.check_only = check_only
        self.plan_file = plan_file
        self.plan = plan
        self.activated_environment = activated_environment
        self.check_only = check_only
        self.mparticle_conn_id = mparticle_conn_id

    def _load(self) -> Any:
        from dataclasses import replace

        from airflow_provider_mparticle.client.data_planning.documents import (
            ActivatedEnvironment,
            DataPlanDocumentError,
            load_plan_document,
        )

        if self.plan_file is not None:
            path = _resolve_path(self.plan_file, self)
            raw, source = _read_json(path, "plan_file"), os.path.basename(path)
        else:
            raw, source = self.plan, "plan"
        try:
            document = load_plan_document(raw, source)
            if self.activated_environment:
                environment = ActivatedEnvironment.parse(self.activated_environment)
                versions = [replace(v, activated_environment=environment) for v in document.versions]
                document = replace(document, versions=versions)
        except DataPlanDocumentError as error:
            # A bad plan does not get better on retry.
            raise AirflowFailException(str(error)) from None
        return document

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_mparticle.client.data_planning.api import plan_data_plan
        from airflow_provider_mparticle.client.plans import ChangeMode
        from airflow_provider_mparticle.plans import (
            finish_without_apply,
            parse_mode,
            publish_plan,
        )

        mode = parse_mode("plan" if self.check_only else self.mode)
        document = self._load()
        plan_id = document.data_plan_id
        hook = MParticleHook(mparticle_conn_id=self.mparticle_conn_id)
        with hook.get_client() as client:
            api = client.data_planning
            current = api.find_plan(plan_id)
            # Plan answers may leave the documents out: read each version itself to compare.
            remote = {
                v.version: api.get_version(plan_id, v.version)
                if current and current.version(v.version)
                else None
                for v in document.versions
            }
            plan = plan_data_plan(current, remote, document)
            publish_plan(context, plan)
            actions = {"create": "created", "update": "updated"}
            outcome: dict[str, Any] = {
                "data_plan_id": plan_id,
                "plan": "created"
                if current is None
                else "updated"
                if plan.request["plan_changes"]
                else "unchanged",
                "versions": {
                    str(v.version): actions.get(plan.request["versions"].get(str(v.version), ""), "unchanged")
                    for v in document.versions
                },
            }
            if mode is not ChangeMode.APPLY:
                return {**outcome, **finish_without_apply(self.log, plan, mode)}
            self.log.info("%s", plan.text())
            if current is None:
                api.create_plan(document)
                return outcome
            if plan.request["plan_changes"]:
                api.update_plan(plan_id, **plan.request["plan_changes"])
            for version in document.versions:
                action = plan.request["versions"].get(str(version.version))
                if action == "create":
                    api.create_version(plan_id, version)
                elif action == "update":
                    api.update_version(
                        plan_id,
                        version.version,
                        version_document=version.version_document,
                        version_description=version.version_description,
                        activated_environment=version.activated_environment,
                    )
        return outcome


class MParticleValidateBatchOperator(BaseOperator):
    """Validate event batches against a data plan version and fail, warn or pass per ``policy``.

    The version's document is read once, then each batch is sent to the Data Planning API's
    ``/plans/validate``; every validation error is listed in the log.

    :param data_plan_id: the plan.
    :param version: the plan version.
    :param batches: one batch or a list of batches (Events API batch objects), or their JSON text.
    :param batches_file: a JSON file holding one batch or a list (relative: from the DAG file's folder).
    :param policy: ``fail`` (the task fails when any error is found; default), ``warn`` (log them as
        warnings and succeed) or ``pass`` (log them and succeed).
    :param max_errors_listed: errors written to the log and returned, at most.
    :param mparticle_conn_id: the ``mparticle`` connection (Platform API client id and secret).
    :return: ``{"data_plan_id", "version", "batches", "events_validated", "error_count", "errors"}``.
    """

    template_fields: Sequence[str] = (
        "data_plan_id",
        "version",
        "batches",
        "batches_file",
        "policy",
        "mparticle_conn_id",
    )
    template_fields_renderers = {"batches": "json"}
    ui_color = "#d5e8f7"

    def __init__(
        self,
        *,
        data_plan_id: str,
        version: int | str,
        batches: dict[str, Any] | list[dict[str, Any]] | str | None = None,
        batches_file: str | None = None,
        policy: str = ValidationPolicy.FAIL.value,
        max_errors_listed: int = 100,
        mparticle_conn_id: str = MParticleHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (batches is None) == (batches_file is None):
            raise ValueError("Give exactly one of 'batches' and 'batches_file'.")
        self.data_plan_id = data_plan_id
        self.version = version
        self.batches = batches
        self.batches_file = batches_file
        self.policy = policy
        self.max_errors_listed = max_errors_listed
        self.mparticle_conn_id = mparticle_conn_id

    def _batches(self) -> list[dict[str, Any]]:
        if self.batches_file is not None:
            raw: Any = _read_json(_resolve_path(self.batches_file, self), "batches_file")
        elif isinstance(self.batches, str):
            try:
                raw = json.loads(self.batches)
            except ValueError as error:
                raise AirflowFailException(f"batches is not valid JSON: {error}") from None
        else:
            raw = self.batches
        items = raw if isinstance(raw, list) else [raw]
        for index, batch in enumerate(items):
            if not isinstance(batch, dict):
                raise AirflowFailException(f"batches[{index}] must be a JSON object (an Events API batch).")
            if not isinstance(batch.get("events", []), list):
                raise AirflowFailException(f"batches[{index}].events must be a list.")
            if batch.get("environment") not in ("development", "production", "unknown"):
                raise AirflowFailException(
                    f"batches[{index}].environment must be 'development' or 'production', "
                    f"got {batch.get('environment')!r}."
                )
        return items

    def execute(self, context: Context) -> dict[str, Any]:
        policy = ValidationPolicy.parse(self.policy)
        try:
            version = int(self.version)
        except (TypeError, ValueError):
            raise AirflowFailException(f"version must be an integer, got {self.version!r}.") from None
        batches = self._batches()
        hook = MParticleHook(mparticle_conn_id=self.mparticle_conn_id)
        with hook.get_client() as client:
            results: list[BatchValidationResult] = client.data_planning.validate_batches(
                batches, self.data_plan_id, version
            )
        errors = [
            f"batch {index}: {line}" for index, result in enumerate(results) for line in result.messages()
        ]
        summary = {
            "data_plan_id": self.data_plan_id,
            "version": version,
            "batches": len(batches),
            "events_validated": sum(len(r.results) for r in results),
            "error_count": len(errors),
            "errors": errors[: self.max_errors_listed],
        }
        where = f"data plan {self.data_plan_id} version {version}"
        if not errors:
            self.log.info("%d batch(es) conform to %s.", len(batches), where)
            return summary
        listed = "\n".join(errors[: self.max_errors_listed])
        more = len(errors) - self.max_errors_listed
        if more > 0:
            listed += f"\n... and {more} more"
        message = f"{len(errors)} validation error(s) against {where}:\n{listed}"
        if policy is ValidationPolicy.FAIL:
            raise AirflowFailException(message)
        if policy is ValidationPolicy.WARN:
            self.log.warning("%s", message)
        else:
            self.log.info("%s", message)
        return summary
