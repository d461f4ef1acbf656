"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_mparticle import __version__
from airflow_provider_mparticle.connection_fields import (
    ADOBE_FIELDS,
    ADOBE_STANDARD_PLACEHOLDERS,
    MPARTICLE_FIELDS,
    MPARTICLE_STANDARD_PLACEHOLDERS,
    form,
    placeholders,
)

MPARTICLE = "mParticle"
ADOBE = "Adobe Experience Platform"
_PACKAGE = "airflow_provider_mparticle"

# One line per module, so that adding one is a one-line change.
HOOKS = [
    (MPARTICLE, f"{_PACKAGE}.hooks.base"),
    (MPARTICLE, f"{_PACKAGE}.hooks.mparticle"),
    (ADOBE, f"{_PACKAGE}.hooks.adobe"),
]
OPERATORS = [
    (MPARTICLE, f"{_PACKAGE}.operators.calculated_attributes"),
    (MPARTICLE, f"{_PACKAGE}.operators.seeding"),
    (MPARTICLE, f"{_PACKAGE}.operators.warehouse_sync"),
    (MPARTICLE, f"{_PACKAGE}.operators.data_planning"),
    (ADOBE, f"{_PACKAGE}.operators.adobe"),
]
SENSORS = [
    (MPARTICLE, f"{_PACKAGE}.sensors.base"),
    (MPARTICLE, f"{_PACKAGE}.sensors.calculated_attributes"),
    (MPARTICLE, f"{_PACKAGE}.sensors.warehouse_sync"),
    (ADOBE, f"{_PACKAGE}.sensors.adobe"),
]
TRIGGERS = [
    (MPARTICLE, f"{_PACKAGE}.triggers.base"),
    (MPARTICLE, f"{_PACKAGE}.triggers.calculated_attributes"),
    (MPARTICLE, f"{_PACKAGE}.triggers.warehouse_sync"),
    (ADOBE, f"{_PACKAGE}.triggers.adobe"),
]
EXTRA_LINKS = [
    f"{_PACKAGE}.links.calculated_attributes.MParticleCalculatedAttributeLink",
    f"{_PACKAGE}.links.warehouse_sync.MParticlePipelineLink",
]


def _modules(entries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for integration, module in entries:
        grouped.setdefault(integration, []).append(module)
    return [{"integration-name": name, "python-modules": modules} for name, modules in grouped.items()]


# The ``[mparticle]`` section of airflow.cfg (AIRFLOW__MPARTICLE__<OPTION> in the environment).
CONFIG = {
    "mparticle": {
        "description": "Settings of the mParticle provider.",
        "options": {
            "calculated_attribute_url_template": {
                "description": "Address of a calculated attribute in the mParticle UI, used by the "
                "'mParticle calculated attribute' extra link. The UI's addresses are not part of the "
                "documented API: change this if mParticle moves them. Fields: {workspace_id}, {ca_id}, "
                "{name} (URL-quoted).",
                "version_added": "0.1.0",
                "type": "string",
                "example": "https://app.mparticle.com/audiences/calculated-attributes/{ca_id}"
                "?workspaceId={workspace_id}",
                # Kept equal to links.calculated_attributes.DEFAULT_URL_TEMPLATE by a test.
                "default": "https://app.mparticle.com/audiences/calculated-attributes/{ca_id}"
                "?workspaceId={workspace_id}",
            },
            "trigger_pool_size": {
                "description": "Connections a triggerer process keeps open to one API per connection's "
                "settings, shared by all the waits (deferred tasks) of the process; waits beyond it take "
                "turns. It also bounds how long one turn of the triggerer's event loop takes (all the "
                "answers that arrive together are handled in one turn): raise it only if the polls of "
                "many waits cannot keep up (a pool polls about size / latency times per second).",
                "version_added": "0.2.0",
                "type": "integer",
                "example": "50",
                # Kept equal to hooks.base.DEFAULT_TRIGGER_POOL_SIZE by a test.
                "default": "20",
            },
        },
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-mparticle",
        "name": "mParticle",
        "description": "Drive mParticle from Airflow: calculated attributes, seeding, Warehouse Sync, data plans.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "mParticle",
                "external-doc-url": "https://docs.mparticle.com/developers/",
                "tags": ["service"],
            },
            {
                "integration-name": "Adobe Experience Platform",
                "external-doc-url": "https://experienceleague.adobe.com/en/docs/experience-platform/profile/computed-attributes/api",
                "tags": ["service"],
            },
        ],
        "hooks": _modules(HOOKS),
        "operators": _modules(OPERATORS),
        "sensors": _modules(SENSORS),
        "triggers": _modules(TRIGGERS),
        "extra-links": EXTRA_LINKS,
        "config": CONFIG,
        # Airflow checks and normalises mparticle:// asset URIs with the handler; OpenLineage maps them
        # to datasets in the workspace's namespace with the converter.
        "asset-uris": [
            {
                "schemes": ["mparticle"],
                "handler": f"{_PACKAGE}.assets.sanitize_uri",
                "factory": f"{_PACKAGE}.assets.create_asset",
                "to_openlineage_converter": f"{_PACKAGE}.openlineage.convert_asset_to_openlineage",
            }
        ],
        "connection-types": [
            {
                "hook-class-name": f"{_PACKAGE}.hooks.mparticle.MParticleHook",
                "hook-name": "mParticle",
                "connection-type": "mparticle",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Workspace API key", "password": "Workspace API secret"},
                    "placeholders": placeholders(MPARTICLE_FIELDS, MPARTICLE_STANDARD_PLACEHOLDERS),
                },
                "conn-fields": form(MPARTICLE_FIELDS),
            },
            {
                "hook-class-name": f"{_PACKAGE}.hooks.adobe.AdobeExperiencePlatformHook",
                "hook-name": "Adobe Experience Platform",
                "connection-type": "adobe_aep",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Client ID (API key)", "password": "Client secret"},
                    "placeholders": placeholders(ADOBE_FIELDS, ADOBE_STANDARD_PLACEHOLDERS),
                },
                "conn-fields": form(ADOBE_FIELDS),
            },
        ],
    }
