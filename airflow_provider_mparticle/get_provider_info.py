"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

MPARTICLE = "mParticle"
ADOBE = "Adobe Experience Platform"
_PACKAGE = "airflow_provider_mparticle"

# One line per module, so that adding one is a one-line change.
HOOKS = [
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
    (MPARTICLE, f"{_PACKAGE}.sensors.calculated_attributes"),
    (MPARTICLE, f"{_PACKAGE}.sensors.warehouse_sync"),
    (ADOBE, f"{_PACKAGE}.sensors.adobe"),
]
TRIGGERS = [
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


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-mparticle",
        "name": "mParticle",
        "description": "Drive mParticle from Airflow: calculated attributes, seeding, Warehouse Sync, data plans.",
        "versions": ["0.1.0"],
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
                "hook-class-name": "airflow_provider_mparticle.hooks.mparticle.MParticleHook",
                "hook-name": "mParticle",
                "connection-type": "mparticle",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Workspace API key", "password": "Workspace API secret"},
                    "placeholders": {},
                },
                "conn-fields": {
                    "workspace_id": {
                        "label": "Workspace ID",
                        "description": "Workspace id used in Platform API paths.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "pod": {
                        "label": "Pod",
                        "description": "Data centre of the workspace.",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["us1", "us2", "eu1", "au1"],
                            "default": "us1",
                        },
                    },
                    "client_id": {
                        "label": "Platform API client ID",
                        "description": "OAuth client id for the Platform, Warehouse Sync and Data Planning APIs.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "client_secret": {
                        "label": "Platform API client secret",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "s2s_url": {
                        "label": "Seeding API base URL override",
                        "description": "Default: the pod's s2s host. Plain http:// only to loopback.",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                    "api_url": {
                        "label": "Platform API base URL override",
                        "description": "Default: https://api.mparticle.com.",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                    "token_url": {
                        "label": "OAuth token URL override",
                        "description": "Default: https://sso.auth.mparticle.com/oauth/token.",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_attempts": {
                        "label": "Attempts per request (429 / 5xx / dropped connections)",
                        "schema": {"type": ["integer", "null"], "default": 8},
                    },
                },
            },
            {
                "hook-class-name": "airflow_provider_mparticle.hooks.adobe.AdobeExperiencePlatformHook",
                "hook-name": "Adobe Experience Platform",
                "connection-type": "adobe_aep",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Client ID (API key)", "password": "Client secret"},
                    "placeholders": {},
                },
                "conn-fields": {
                    "org_id": {
                        "label": "IMS organisation ID",
                        "description": "Sent as x-gw-ims-org-id, e.g. 1234ABCD5678@AdobeOrg.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "sandbox_name": {
                        "label": "Sandbox name",
                        "description": "Sent as x-sandbox-name.",
                        "schema": {"type": ["string", "null"], "default": "prod"},
                    },
                    "scopes": {
                        "label": "OAuth scopes",
                        "description": "Comma-separated; default: openid,AdobeID,read_organizations,"
                        "additional_info.projectedProductContext.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "platform_url": {
                        "label": "Platform URL override",
                        "description": "Default: https://platform.adobe.io. Plain http:// only to loopback.",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                    "ims_token_url": {
                        "label": "IMS token URL override",
                        "description": "Default: https://ims-na1.adobelogin.com/ims/token/v3.",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_attempts": {
                        "label": "Attempts per request (429 / 5xx / dropped connections)",
                        "schema": {"type": ["integer", "null"], "default": 8},
                    },
                },
            },
        ],
    }
