"""Apply a Warehouse Sync file to a workspace: read what is live, plan, then write in dependency order.

:func:`read_live` lists the connections, data models and pipelines (and which pipelines are running);
:func:`~airflow_provider_mparticle.client.warehouse_sync.documents.plan_document` compares the file
with them; :func:`check_before_writing` refuses, before anything is sent, a plan that would change a
running pipeline (or what it uses) or leave more pipelines active than the workspace allows;
:func:`apply_plan` sends the writes: creates and updates in the order connection, data model,
pipeline, then deletes in reverse.

An object's id is the file's ``id_prefix`` + its key, chosen by the client, so nothing has to be
recorded between a create and the next apply: an apply killed after a create finds the object again by
its id and never creates it twice. A create answered with an error although the object now exists (an
answer lost and the request retried, or another apply at the same time) is taken as created, then
updated if it differs from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.errors import (
    MParticleAPIError,
    MParticleError,
    MParticleNotFoundError,
    MParticleTransportError,
)
from airflow_provider_mparticle.client.warehouse_sync.documents import (
    CONNECTION,
    CREATE,
    DATA_MODEL,
    DELETE,
    PIPELINE,
    UPDATE,
    ResourceChange,
    WarehouseSyncPlan,
    plan_resource,
    with_secret,
)
from airflow_provider_mparticle.client.warehouse_sync.models import PipelineStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_mparticle.client.warehouse_sync.api import WarehouseSyncApi

# mParticle's limit on active pipelines per workspace (the v2 reference).
ACTIVE_PIPELINE_LIMIT = 5
# kind -> the client's (list, get, create, update, delete) method names.
CALLS = {
    CONNECTION: ("list_connections", "get_connection", "create_connection", "update_connection",
                 "delete_connection"),
    DATA_MODEL: ("list_data_models", "get_data_model", "create_data_model", "update_data_model",
                 "delete_data_model"),
    PIPELINE: ("list_pipelines", "get_pipeline", "create_pipeline", "update_pipeline", "delete_pipeline"),
}  # fmt: skip
DONE = {CREATE: "created", UPDATE: "updated", DELETE: "deleted"}


class WarehouseSyncApplyError(MParticleError):
    """An apply stopped: what was refused or failed, and what had been written before.

    :param message: what happened, naming the object.
    :param applied: the writes done before it (``kind key (id): created``...).
    :param retryable: whether trying again later may succeed (a running pipeline, a transient error).
    """

    def __init__(self, message: str, applied: list[str] | None = None, retryable: bool = False) -> None:
        self.applied = list(applied or [])
        self.retryable = retryable
        done = "; ".join(self.applied) if self.applied else "nothing"
        super().__init__(f"{message} Written before this: {done}.")


@dataclass(frozen=True)
class AppliedChange:
    """One object after an apply: ``created``, ``updated``, ``deleted``, ``unchanged`` or ``kept`` (live,
    absent from the file, no prune); ``adopted`` when a create found it already made by an earlier try."""

    kind: str
    key: str | None
    id: str
    outcome: str

    def text(self) -> str:
        return f"{self.kind} {self.key or '(not in the file)'} ({self.id}): {self.outcome}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "id": self.id, "outcome": self.outcome}


def read_live(api: WarehouseSyncApi) -> tuple[dict[str, list[dict[str, Any]]], set[str]]:
    """Every live connection, data model and pipeline (the API's bodies, secrets masked by it), and the
    ids of the pipelines running now."""
    live: dict[str, list[dict[str, Any]]] = {}
    running: set[str] = set()
    for kind, names in CALLS.items():
        items = getattr(api, names[0])()
        live[kind] = [item.raw for item in items]
        if kind == PIPELINE:
            running = {p.id for p in items if p.status is PipelineStatus.RUNNING}
    return live, running


def active_pipelines_after(plan: WarehouseSyncPlan, live: Mapping[str, Any]) -> list[str]:
    """The ids of the pipelines that would be active once the plan is applied."""
    state = {str(p.get("id")): p.get("state") for p in live.get(PIPELINE, ())}
    for change in plan.changes:
        if change.kind != PIPELINE:
            continue
        if change.change == DELETE:
            state.pop(change.id, None)
        elif change.spec is not None:
            state[change.id] = change.spec.body.get("state")
    return sorted(item_id for item_id, value in state.items() if value == "active")


def check_before_writing(
    plan: WarehouseSyncPlan, live: Mapping[str, Any], active_limit: int | None = ACTIVE_PIPELINE_LIMIT
) -> None:
    """Refuse, before anything is sent, an apply that cannot go through whole.

    :param plan: the plan.
    :param live: what :func:`read_live` read.
    :param active_limit: the workspace's limit on active pipelines (None: not checked).
    :raises WarehouseSyncApplyError: retryable when a running pipeline is in the way (its run ends),
        not when the file asks for more active pipelines than the limit.
    """
    if plan.refusals:
        lines = "; ".join(plan.refusals)
        raise WarehouseSyncApplyError(
            f"Not applying {plan.source}: {lines}. Nothing was sent; a later try applies it once the run "
            "has ended.",
            retryable=True,
        )
    if active_limit is None or not plan.has_changes:
        return
    active = active_pipelines_after(plan, live)
    if len(active) > active_limit:
        raise WarehouseSyncApplyError(
            f"Not applying {plan.source}: {len(active)} pipelines would be active ({', '.join(active)}), "
            f"more than the workspace's limit of {active_limit}. Nothing was sent; pause some "
            "(state: paused) or delete them."
        )


def _exists(api: WarehouseSyncApi, change: ResourceChange) -> dict[str, Any] | None:
    try:
        return getattr(api, CALLS[change.kind][1])(change.id).raw  # type: ignore[no-any-return]
    except MParticleNotFoundError:
        return None


def apply_plan(
    api: WarehouseSyncApi,
    plan: WarehouseSyncPlan,
    secrets: Mapping[str, str | None],
    log: Callable[[str], None] = lambda _: None,
) -> list[AppliedChange]:
    """Send the plan's writes, in its order; returns every object's outcome.

    :param api: the Warehouse Sync API of a client.
    :param plan: a plan that passed :func:`check_before_writing`.
    :param secrets: connection key -> its secret, for the connections created or updated that take one.
    :param log: called with one line per write (never a secret).
    :raises WarehouseSyncApplyError: naming the object mParticle refused, with its messages and what was
        written before.
    """
    applied: list[AppliedChange] = []

    def written() -> list[str]:
        return [a.text() for a in applied if a.outcome not in ("unchanged", "kept")]

    for change in plan.changes:
        if not change.writes:
            outcome = "kept" if change.spec is None else "unchanged"
            applied.append(AppliedChange(change.kind, change.key, change.id, outcome))
            continue
        try:
            outcome = _write(api, change, secrets)
        except MParticleAPIError as error:
            said = "; ".join(error.messages) or str(error)
            raise WarehouseSyncApplyError(
                f"mParticle refused to {'create' if change.change == CREATE else change.change} "
                f"{change.plan.subject}: {said}.",
                written(),
                retryable=error.status_code >= 500 or error.status_code == 429,
            ) from error
        except MParticleError as error:
            # No answer after the client's retries: trying again later is safe (ids are the file's).
            retryable = isinstance(error, MParticleTransportError)
            message = f"Could not write {change.plan.subject}: {error}"
            raise WarehouseSyncApplyError(message, written(), retryable) from error
        applied.append(AppliedChange(change.kind, change.key, change.id, outcome))
        log(f"{change.plan.subject}: {outcome}" + "".join(f"\n  {w}" for w in change.plan.writes))
    return applied


def _write(api: WarehouseSyncApi, change: ResourceChange, secrets: Mapping[str, str | None]) -> str:
    _, _, create, update, delete = CALLS[change.kind]
    if change.change == DELETE:
        getattr(api, delete)(change.id)
        return DONE[DELETE]

    def body(of: ResourceChange) -> dict[str, Any]:
        request = of.request_body()  # raises for an object absent from the file
        spec = of.spec
        return with_secret(spec, request, secrets.get(spec.key)) if spec is not None else request

    if change.change == UPDATE:
        getattr(api, update)(change.id, body(change))
        return DONE[UPDATE]
    try:
        getattr(api, create)(body(change))
    except MParticleAPIError as error:
        if error.status_code >= 500 or error.status_code == 404:
            raise
        live = _exists(api, change)
        if live is None:
            raise
        # Made by an earlier try whose answer never came back: taken as created, updated if it differs.
        again = plan_resource(change.spec, live)
        if again.change == UPDATE:
            getattr(api, update)(change.id, body(again))
        return "adopted"
    return DONE[CREATE]
