"""The ``mparticle`` and ``adobe_aep`` connections' extra fields: declared once, read through one function.

``get_provider_info()`` publishes these declarations as Airflow's connection form (``conn-fields`` and
``ui-field-behaviour``); the hooks read a connection's extras with :func:`read_extras`, which accepts the
declared fields and nothing else (renamed fields are still read, with a deprecation warning). A test
checks that every declared field reaches the client settings, so the form and the hooks cannot drift.

This module is imported by ``get_provider_info`` and must stay cheap: standard library only at the top.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Connection


def _field(
    label: str,
    description: str,
    *,
    example: str | None = None,
    kind: str = "string",
    also: tuple[str, ...] = (),
    secret: bool = False,
    url: bool = False,
    default: Any = None,
    enum: list[str] | None = None,
) -> dict[str, Any]:
    """One ``conn-fields`` entry; ``example`` becomes the form's suggestion and the field's placeholder."""
    schema: dict[str, Any] = {"type": [kind, *also, "null"]}
    if secret:
        # Airflow masks ``format: password`` fields in the form, the API and the task logs.
        schema["format"] = "password"
    elif url:
        schema["format"] = "url"
    if enum is not None:
        schema["enum"] = enum
    if default is not None:
        schema["default"] = default
    if example is not None and not secret and kind != "boolean":
        # The form offers examples as suggestions under the field ("start typing to see options").
        schema["examples"] = [example]
    field: dict[str, Any] = {"label": label, "description": description, "schema": schema}
    if example is not None:
        field["placeholder"] = example
    return field


def _url(label: str, default_url: str) -> dict[str, Any]:
    return _field(
        label,
        f"Default: {default_url}. Plain http:// only to loopback (127.0.0.1, localhost, ::1).",
        example=default_url,
        url=True,
    )


# The client's defaults, repeated here for the form (the client package is too heavy to import for
# provider discovery); a test keeps them equal to ClientSettings / RetrySettings.
DEFAULT_TIMEOUT = 30
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_MAX_ELAPSED = 600

# Request behaviour, the same for both connection types.
TRANSPORT_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": _field(
        "Request timeout (seconds)",
        "Seconds for connecting and for reading one answer.",
        example=str(DEFAULT_TIMEOUT),
        kind="number",
        default=DEFAULT_TIMEOUT,
    ),
    "max_attempts": _field(
        "Attempts per request",
        "Attempts in all, the first included, for 429 / 5xx answers and dropped connections.",
        example=str(DEFAULT_MAX_ATTEMPTS),
        kind="integer",
        default=DEFAULT_MAX_ATTEMPTS,
    ),
    "max_elapsed": _field(
        "Retry time budget (seconds)",
        "Stop retrying a request once this many seconds have passed since its first attempt.",
        example=str(DEFAULT_MAX_ELAPSED),
        kind="number",
        default=DEFAULT_MAX_ELAPSED,
    ),
    "verify": _field(
        "Verify TLS certificates",
        "On by default. To trust a private CA instead, set 'verify' to the CA bundle's path in the extra JSON.",
        kind="boolean",
        default=True,
        example="true",
    ),
}

MPARTICLE_FIELDS: dict[str, dict[str, Any]] = {
    "workspace_id": _field(
        "Workspace ID", "Workspace id used in Platform API paths (Settings > Workspaces).", example="12345"
    ),
    "pod": _field(
        "Pod",
        "Data centre of the workspace; picks the seeding host.",
        enum=["us1", "us2", "eu1", "au1"],
        default="us1",
        example="us1",
    ),
    "client_id": _field(
        "Platform API client ID",
        "OAuth client id for the Platform, Warehouse Sync and Data Planning APIs (not a secret).",
        example="a1b2c3d4e5f6",
    ),
    "client_secret": _field(
        "Platform API client secret",
        "OAuth client secret that goes with the client id.",
        example="Platform API client secret",
        secret=True,
    ),
    "account_id": _field(
        "Account ID",
        "Optional, for reference: the mParticle account the workspace belongs to. No API call needs it.",
        example="9876",
    ),
    "s2s_url": _field(
        "Seeding API base URL override",
        "Default: the pod's host (https://s2s.mparticle.com for us1, https://s2s.<pod>.mparticle.com "
        "otherwise). Plain http:// only to loopback (127.0.0.1, localhost, ::1).",
        example="https://s2s.mparticle.com",
        url=True,
    ),
    "api_url": _url("Platform API base URL override", "https://api.mparticle.com"),
    "oauth_url": _url("OAuth token URL override", "https://sso.auth.mparticle.com/oauth/token"),
    **TRANSPORT_FIELDS,
}

ADOBE_FIELDS: dict[str, dict[str, Any]] = {
    "org_id": _field(
        "IMS organisation ID", "Sent as x-gw-ims-org-id.", example="1234ABCD5678ABCD90123456@AdobeOrg"
    ),
    "sandbox_name": _field("Sandbox name", "Sent as x-sandbox-name.", example="prod", default="prod"),
    "scopes": _field(
        "OAuth scopes",
        "Comma-separated; default: openid,AdobeID,read_organizations,additional_info.projectedProductContext.",
        example="openid,AdobeID,read_organizations,additional_info.projectedProductContext",
        also=("array",),
    ),
    "platform_url": _url("Platform URL override", "https://platform.adobe.io"),
    "ims_url": _url("IMS token URL override", "https://ims-na1.adobelogin.com/ims/token/v3"),
    **TRANSPORT_FIELDS,
}

# Old extra name -> new name. Airflow masks every extra whose name contains "token", so a URL kept under
# such a name read back as "***" in the form, the extra JSON and the REST API.
MPARTICLE_RENAMED = {"token_url": "oauth_url"}
ADOBE_RENAMED = {"ims_token_url": "ims_url"}

# Placeholders of the standard fields the forms show (login and password).
MPARTICLE_STANDARD_PLACEHOLDERS = {
    "login": "us1-0123456789abcdef0123456789abcdef",
    "password": "Workspace API secret",
}
ADOBE_STANDARD_PLACEHOLDERS = {"login": "0123456789abcdef0123456789abcdef", "password": "Client secret"}


def form(fields: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``conn-fields`` of a connection type (Airflow's schema has no ``placeholder`` key there)."""
    return {
        name: {key: value for key, value in field.items() if key != "placeholder"}
        for name, field in fields.items()
    }


def placeholders(fields: Mapping[str, Mapping[str, Any]], standard: Mapping[str, str]) -> dict[str, str]:
    """``ui-field-behaviour`` placeholders: the standard fields' and one per extra field."""
    return {**standard, **{name: str(field["placeholder"]) for name, field in fields.items()}}


def is_secret(fields: Mapping[str, Mapping[str, Any]], name: str) -> bool:
    """Whether the declared field ``name`` is a secret (masked in the form, the API and the logs)."""
    return bool(fields[name]["schema"].get("format") == "password")


def read_extras(
    conn: Connection,
    conn_type: str,
    fields: Mapping[str, Mapping[str, Any]],
    renamed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The connection's extras by declared field name; errors name the offending field.

    Accepts the unprefixed names and the ``extra__<conn_type>__<name>`` form older connection forms
    stored. Renamed fields are read under their new name with an ``AirflowProviderDeprecationWarning``.
    Only secret fields are registered with Airflow's secrets masker: the other values (ids, URLs, the
    pod) stay readable in logs, and short ones no longer draw Airflow's "too short to mask" warning.

    :param conn: the connection.
    :param conn_type: its type, for the prefixed form of the names.
    :param fields: the declared fields (``MPARTICLE_FIELDS`` or ``ADOBE_FIELDS``).
    :param renamed: old name -> new name of renamed fields.
    """
    from airflow_provider_mparticle.client.core.errors import MParticleConfigError

    renamed = renamed or {}
    raw: Any = conn.extra
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise MParticleConfigError("'extra' must be a JSON object; it is not valid JSON.") from None
    elif not raw:
        raw = {}
    if not isinstance(raw, Mapping):
        raise MParticleConfigError("'extra' must be a JSON object.")
    prefix = f"extra__{conn_type}__"
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).removeprefix(prefix)
        if name in renamed:
            new = renamed[name]
            if new in extra or new in raw or prefix + new in raw:
                raise MParticleConfigError(f"extra {name!r} was renamed {new!r}; set only {new!r}.")
            _warn_renamed(name, new)
            name = new
        extra[name] = value
    unknown = sorted(set(extra) - set(fields))
    if unknown:
        raise MParticleConfigError(f"unknown extra field(s): {', '.join(unknown)}.")
    for name, value in extra.items():
        extra[name] = _check_type(name, value, fields[name]["schema"]["type"])
    secrets = {name: value for name, value in extra.items() if is_secret(fields, name) and value}
    if secrets:
        from airflow.sdk.log import mask_secret

        for name, value in secrets.items():
            mask_secret(value, name)
    return extra


def _check_type(name: str, value: Any, types: list[str]) -> Any:
    """A text field's value, ids also given as JSON numbers as text; numbers and booleans are read later."""
    from airflow_provider_mparticle.client.core.errors import MParticleConfigError

    if value is None or not {"string", "array"} & set(types):
        return value
    if isinstance(value, str) or ("array" in types and isinstance(value, list)):
        return value
    if name.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    # The type only: the value may be a secret.
    raise MParticleConfigError(f"extra {name!r} must be a string, got {type(value).__name__}.")


def _warn_renamed(old: str, new: str) -> None:
    import warnings

    from airflow.exceptions import AirflowProviderDeprecationWarning

    warnings.warn(
        f"Connection extra {old!r} is deprecated: rename it {new!r} (Airflow masks extra names "
        "containing 'token', which hid the URL).",
        AirflowProviderDeprecationWarning,
        stacklevel=4,
    )


def transport_extras(extra: dict[str, Any]) -> dict[str, Any]:
    """The ``timeout``, ``retry`` and ``verify`` client settings from the shared transport extras."""
    from airflow_provider_mparticle.client.core.config import RetrySettings
    from airflow_provider_mparticle.hooks.base import number_extra

    return {
        "timeout": number_extra(extra, "timeout", DEFAULT_TIMEOUT),
        "retry": RetrySettings(
            max_attempts=int(number_extra(extra, "max_attempts", RetrySettings.max_attempts)),
            max_elapsed=number_extra(extra, "max_elapsed", RetrySettings.max_elapsed),
        ),
        "verify": verify_extra(extra.get("verify")),
    }


def verify_extra(value: Any) -> bool | str:
    """The ``verify`` extra: a boolean (also as text, as the URI form gives it) or a CA bundle path."""
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        return value.strip()
    from airflow_provider_mparticle.client.core.errors import MParticleConfigError

    raise MParticleConfigError(
        f"extra 'verify' must be true, false or the path of a CA bundle, got {type(value).__name__}."
    )
