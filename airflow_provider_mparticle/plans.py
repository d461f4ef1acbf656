"""Plan, then apply: the ``mode`` parameter shared by the operators that deploy definitions kept as code.

``mode="apply"`` (the default) makes the change; ``"plan"`` logs the change against the live and the draft
definition as a diff, returns it (XCom) and writes nothing; ``"check"`` does the same and fails the task,
without retries, when the live definition differs from code (a DAG repository's CI, a nightly drift
check). In every mode the plan is pushed to XCom under ``change_plan``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_provider_mparticle.client.plans import ChangeMode, Plan

# XCom key of the plan (as JSON), pushed in every mode.
PLAN_XCOM_KEY = "change_plan"
MODES = ("apply", "plan", "check")


def parse_mode(value: Any) -> ChangeMode:
    """The rendered ``mode``; a typo fails the task without retries, naming the accepted values.

    :param value: ``apply``, ``plan`` or ``check``.
    """
    from airflow_provider_mparticle.client.core.errors import MParticleError
    from airflow_provider_mparticle.client.plans import ChangeMode
    from airflow_provider_mparticle.exceptions import MParticleTaskFailure

    try:
        return ChangeMode.parse(value)
    except MParticleError as error:
        raise MParticleTaskFailure(str(error)) from error


def publish_plan(context: Context | dict[str, Any], plan: Plan) -> None:
    """Push the plan to XCom (``change_plan``) when there is a task instance to push to.

    :param context: the task's context.
    :param plan: the plan computed.
    """
    ti = context.get("ti")
    if ti is not None:
        ti.xcom_push(key=PLAN_XCOM_KEY, value=plan.as_dict())


def finish_without_apply(log: Any, plan: Plan, mode: ChangeMode) -> dict[str, Any]:
    """Log the plan; in ``check`` mode fail when live differs from code. Returns the plan as JSON.

    :param log: the operator's logger.
    :param plan: the plan computed.
    :param mode: ``plan`` or ``check``.
    """
    from airflow_provider_mparticle.client.plans import ChangeMode
    from airflow_provider_mparticle.exceptions import MParticleTaskFailure

    log.info("[%s] %s", mode.value, plan.text())
    if mode is ChangeMode.CHECK and plan.live_differs:
        drift = "\n".join(f"  - {line}" for line in plan.drift())
        raise MParticleTaskFailure(f"Live differs from code:\n{drift}\n{plan.text()}")
    return plan.as_dict()


def resolve_file(operator: BaseOperator, value: str) -> str:
    """Where a definition file named by an operator is: an absolute path as given, else the first of the
    DAG file's folder and the DAG's ``template_searchpath`` that holds it (else ``value`` unchanged).

    :param operator: the operator (its DAG gives the folders).
    :param value: the path given.
    """
    import os

    if os.path.isabs(value):
        return value
    folders: list[str] = []
    if operator.has_dag():
        folders.append(operator.dag.folder)
        searchpath = operator.dag.template_searchpath
        folders += [searchpath] if isinstance(searchpath, str) else list(searchpath or [])
    for folder in folders:
        candidate = os.path.join(folder, value)
        if os.path.isfile(candidate):
            return candidate
    return value
