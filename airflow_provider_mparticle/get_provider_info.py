"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any


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
            }
        ],
        "hooks": [
            {
                "integration-name": "mParticle",
                "python-modules": ["airflow_provider_mparticle.hooks.mparticle"],
            }
        ],
        "operators": [
            {
                "integration-name": "mParticle",
                "python-modules": ["airflow_provider_mparticle.operators.calculated_attributes"],
            }
        ],
        "sensors": [],
        "triggers": [],
        "extra-links": [],
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
            }
        ],
    }
