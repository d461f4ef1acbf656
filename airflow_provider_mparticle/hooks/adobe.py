"""The ``adobe_aep`` connection and the hook that turns it into Adobe Experience Platform clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.base import ApiClientHook, number_extra

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_mparticle.client.adobe import AdobeClient, AdobeClientSettings, AsyncAdobeClient

# Connection extras (the client id and secret are the login and password, masked by Airflow).
_EXTRAS = frozenset(
    {"org_id", "sandbox_name", "scopes", "platform_url", "ims_token_url", "timeout", "max_attempts"}
    | {"max_elapsed", "verify"}
)


def adobe_settings_from_connection(conn: Connection) -> AdobeClientSettings:
    """Build Adobe client settings from an ``adobe_aep`` connection; errors name the offending field."""
    from airflow_provider_mparticle.client import MParticleConfigError, RetrySettings
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings
    from airflow_provider_mparticle.client.adobe.config import DEFAULT_SANDBOX, DEFAULT_SCOPES

    raw = conn.extra_dejson or {}
    try:
        if not isinstance(raw, dict):
            raise MParticleConfigError("'extra' must be a JSON object.")
        extra = {key.removeprefix("extra__adobe_aep__"): value for key, value in raw.items()}
        unknown = sorted(set(extra) - _EXTRAS)
        if unknown:
            raise MParticleConfigError(f"unknown extra field(s): {', '.join(unknown)}.")
        scopes: Any = extra.get("scopes") or DEFAULT_SCOPES
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.replace(" ", ",").split(",") if s.strip()]
        if not isinstance(scopes, list | tuple) or not all(isinstance(s, str) for s in scopes):
            raise MParticleConfigError(
                "extra 'scopes' must be a comma-separated string or a list of strings."
            )
        verify = extra.get("verify", True)
        return AdobeClientSettings(
            client_id=conn.login or None,
            client_secret=conn.password or None,
            org_id=str(extra["org_id"]).strip() if extra.get("org_id") else None,
            sandbox_name=str(extra.get("sandbox_name") or DEFAULT_SANDBOX).strip(),
            scopes=tuple(scopes),
            platform_url=extra.get("platform_url") or None,
            ims_token_url=extra.get("ims_token_url") or None,
            timeout=number_extra(extra, "timeout", 30.0),
            retry=RetrySettings(
                max_attempts=int(number_extra(extra, "max_attempts", RetrySettings.max_attempts)),
                max_elapsed=number_extra(extra, "max_elapsed", RetrySettings.max_elapsed),
            ),
            verify=verify if isinstance(verify, bool | str) else True,
        )
    except MParticleConfigError as error:
        raise MParticleConfigError(f"Connection {conn.conn_id!r}: {error}") from None


class AdobeExperiencePlatformHook(ApiClientHook["AdobeClientSettings", "AdobeClient", "AsyncAdobeClient"]):
    """Interact with Adobe Experience Platform: hands out configured sync and async clients for one sandbox.

    The connection holds the OAuth server-to-server client id (login, also the ``x-api-key``) and client
    secret (password) and, in its extras, the IMS organisation id, the sandbox name, the OAuth scopes and
    optional platform / IMS URL overrides.

    :param adobe_aep_conn_id: the ``adobe_aep`` connection to use.
    """

    conn_name_attr = "adobe_aep_conn_id"
    default_conn_name = "adobe_aep_default"
    conn_type = "adobe_aep"
    hook_name = "Adobe Experience Platform"

    service_name = "Adobe Experience Platform"

    def __init__(self, adobe_aep_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        self.adobe_aep_conn_id = adobe_aep_conn_id
        super().__init__(**kwargs)

    def settings_from_connection(self, conn: Connection) -> AdobeClientSettings:
        return adobe_settings_from_connection(conn)

    def client_class(self) -> type[AdobeClient]:
        from airflow_provider_mparticle.client.adobe import AdobeClient

        return AdobeClient

    def async_client_class(self) -> type[AsyncAdobeClient]:
        from airflow_provider_mparticle.client.adobe import AsyncAdobeClient

        return AsyncAdobeClient

    def test_connection(self) -> tuple[bool, str]:
        """Fetch an IMS token and list one computed attribute of the sandbox."""
        from airflow_provider_mparticle.client import MParticleError

        try:
            settings = self.settings
            with self.quick_client() as client:
                client.computed_attributes.list_page(limit=1)
        except MParticleError as error:
            return False, str(error)
        return True, f"Connected to sandbox {settings.sandbox_name!r} of {settings.org_id}."
