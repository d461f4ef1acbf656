"""Assets for mParticle objects, to schedule downstream DAGs on them.

URI scheme: ``mparticle://<workspace id>/calculated-attributes/<name>`` (the name URL-quoted). A task
that declares it in ``outlets`` (the activate operator or the calculation sensor, typically) emits an
asset event when it succeeds, and DAGs with ``schedule=[calculated_attribute_asset(...)]`` run then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from airflow.sdk import Asset


def calculated_attribute_uri(workspace_id: str | int, name: str) -> str:
    """``mparticle://<workspace id>/calculated-attributes/<quoted name>``."""
    return f"mparticle://{quote(str(workspace_id), safe='')}/calculated-attributes/{quote(name, safe='')}"


def calculated_attribute_asset(workspace_id: str | int, name: str) -> Asset:
    """The Airflow asset of one calculated attribute (named ``mparticle_ca_<workspace>_<name>``)."""
    from airflow.sdk import Asset

    return Asset(
        uri=calculated_attribute_uri(workspace_id, name),
        name=f"mparticle_ca_{workspace_id}_{name}",
        group="mparticle",
        extra={"workspace_id": str(workspace_id), "calculated_attribute": name},
    )
