"""Assets for mParticle objects, to schedule downstream DAGs on them.

URI scheme: ``mparticle://<workspace id>/calculated-attributes/<name>`` (the name URL-quoted) for a
calculated attribute; ``mparticle://<workspace id>/user-attributes`` and ``.../events`` for what Warehouse
Sync pipelines write. The provider registers the ``mparticle`` scheme under ``asset-uris``, so Airflow
checks and normalises such URIs with :func:`sanitize_uri` wherever an ``Asset`` is built, and the
OpenLineage integration maps them to datasets in the ``mparticle://<workspace id>`` namespace (the same
datasets the seeding and pipeline operators report, see :mod:`airflow_provider_mparticle.openlineage`).

A task that declares the assets in ``outlets`` emits an asset event for each when it succeeds, and DAGs
with ``schedule=[calculated_attribute_asset(...)]`` run then. The seeding, ensure and activate
operators write calculated attributes; :func:`calculated_attribute_assets` gives their outlets from the
same list the seeding operator takes, and :func:`workspace_asset` the pipeline operator's::

    MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=ATTRIBUTES,
        outlets=calculated_attribute_assets(WORKSPACE_ID, ATTRIBUTES),
        ...,
    )
    MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id="crm-users", outlets=[workspace_asset(WORKSPACE_ID, "user-attributes")]
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.sdk import Asset

SCHEME = "mparticle"
CALCULATED_ATTRIBUTES = "calculated-attributes"
USER_ATTRIBUTES = "user-attributes"
# Workspace-wide datasets, written by Warehouse Sync pipelines (and user attributes sent with seeds).
WORKSPACE_DATASETS = (USER_ATTRIBUTES, "events")


def calculated_attribute_uri(workspace_id: str | int, name: str) -> str:
    """``mparticle://<workspace id>/calculated-attributes/<quoted name>``."""
    return f"{SCHEME}://{quote(str(workspace_id), safe='')}/{CALCULATED_ATTRIBUTES}/{quote(name, safe='')}"


def calculated_attribute_asset(workspace_id: str | int, name: str) -> Asset:
    """The Airflow asset of one calculated attribute (named ``mparticle_ca_<workspace>_<name>``).

    :param workspace_id: the mParticle workspace id.
    :param name: the calculated attribute's exact name.
    """
    from airflow.sdk import Asset

    return Asset(
        uri=calculated_attribute_uri(workspace_id, name),
        name=f"mparticle_ca_{workspace_id}_{name}",
        group="mparticle",
        extra={"workspace_id": str(workspace_id), "calculated_attribute": name},
    )


def calculated_attribute_assets(
    workspace_id: str | int, calculated_attributes: Iterable[str | Mapping[str, Any]]
) -> list[Asset]:
    """The assets of several calculated attributes, for an operator's ``outlets``.

    :param workspace_id: the mParticle workspace id.
    :param calculated_attributes: names, or the mapping dicts given to the seeding operator (their
        ``name`` is used).
    """
    names: list[str] = []
    for item in calculated_attributes:
        name = item.get("name") if isinstance(item, Mapping) else item
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A calculated attribute needs a non-empty name; got {item!r}.")
        if name not in names:
            names.append(name)
    return [calculated_attribute_asset(workspace_id, name) for name in names]


def workspace_asset(workspace_id: str | int, dataset: str = USER_ATTRIBUTES) -> Asset:
    """The asset of a workspace's user attributes or events, which Warehouse Sync pipelines write.

    For the ``outlets`` of :class:`~airflow_provider_mparticle.operators.warehouse_sync.MParticleTriggerPipelineOperator`
    (``user-attributes`` for a ``user_attributes`` pipeline, ``events`` for an ``events`` one).

    :param workspace_id: the mParticle workspace id.
    :param dataset: ``user-attributes`` (default) or ``events``.
    """
    from airflow.sdk import Asset

    if dataset not in WORKSPACE_DATASETS:
        raise ValueError(f"dataset is {dataset!r}; expected one of {', '.join(WORKSPACE_DATASETS)}.")
    return Asset(
        uri=f"{SCHEME}://{quote(str(workspace_id), safe='')}/{dataset}",
        name=f"mparticle_{dataset.replace('-', '_')}_{workspace_id}",
        group="mparticle",
        extra={"workspace_id": str(workspace_id)},
    )


def parse_uri(uri: str | SplitResult) -> tuple[str, str, str | None]:
    """``(workspace id, dataset, calculated attribute name or None)`` of an ``mparticle://`` URI.

    ValueError if malformed.

    :param uri: the URI, as a string or already split.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(uri) if isinstance(uri, str) else uri
    expected = f"expected {SCHEME}://<workspace id>/{CALCULATED_ATTRIBUTES}/<name>, " + " or ".join(
        f"{SCHEME}://<workspace id>/{d}" for d in WORKSPACE_DATASETS
    )
    if parts.scheme.lower() != SCHEME:
        raise ValueError(f"Asset URI {parts.geturl()!r} is not an {SCHEME}:// URI; {expected}.")
    workspace = unquote(parts.netloc)
    if not workspace or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            f"Asset URI {parts.geturl()!r} must name the workspace id as its host (no user or port); "
            f"{expected}."
        )
    dataset, slash, name = parts.path.lstrip("/").partition("/")
    if dataset in WORKSPACE_DATASETS and not slash:
        return workspace, dataset, None
    if dataset != CALCULATED_ATTRIBUTES or not unquote(name).strip() or "/" in name:
        raise ValueError(f"Asset URI {parts.geturl()!r} names no mParticle dataset; {expected}.")
    return workspace, dataset, unquote(name)


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Check and normalise an ``mparticle://`` asset URI (Airflow's ``asset-uris`` handler).

    The workspace id and the name are quoted one canonical way, so ``Lifetime value`` written with a
    space or with ``%20`` is one asset; a query string is refused (it would make two URIs for one
    calculated attribute).

    :param uri: the URI as Airflow splits it (scheme lower-cased, fragment and trailing slashes dropped).
    """
    if uri.query:
        raise ValueError(f"Asset URI {uri.geturl()!r} must not carry a query string.")
    workspace, dataset, name = parse_uri(uri)
    path = f"/{dataset}/{quote(name, safe='')}" if name is not None else f"/{dataset}"
    return uri._replace(scheme=SCHEME, netloc=quote(workspace, safe=""), path=path)


def create_asset(*, workspace_id: str | int, name: str, **_: Any) -> Asset:
    """Airflow's ``asset-uris`` factory: the asset of one calculated attribute.

    :param workspace_id: the mParticle workspace id.
    :param name: the calculated attribute's exact name.
    """
    return calculated_attribute_asset(workspace_id, name)
