"""The ``adobe_aep`` connection and the hook that turns it into Adobe Experience Platform clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.base import BaseApiClientHook, connection_error

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_mparticle.client.adobe import (
        AdobeClient,
        AdobeClientSettings,
        AsyncAdobeClient,
        ComputedAttribute,
    )


def adobe_settings_from_connection(conn: Connection, *, name_connection: bool = True) -> AdobeClientSettings:
    """Build Adobe client settings from an ``adobe_aep`` connection; errors name the offending field.

    :param conn: the connection.
    :param name_connection: start error messages with the connection id (off when testing an unsaved
        connection, whose id Airflow made up).
    """
    from airflow_provider_mparticle.client import MParticleConfigError
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings
    from airflow_provider_mparticle.client.adobe.config import DEFAULT_SANDBOX, DEFAULT_SCOPES
    from airflow_provider_mparticle.client.core.config import validate_base_url
    from airflow_provider_mparticle.connection_fields import (
        ADOBE_FIELDS,
        ADOBE_RENAMED,
        read_extras,
        transport_extras,
    )

    try:
        extra = read_extras(conn, "adobe_aep", ADOBE_FIELDS, ADOBE_RENAMED)
        scopes: Any = extra.get("scopes") or DEFAULT_SCOPES
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.replace(" ", ",").split(",") if s.strip()]
        if not isinstance(scopes, list | tuple) or not all(isinstance(s, str) for s in scopes):
            raise MParticleConfigError(
                "extra 'scopes' must be a comma-separated string or a list of strings."
            )
        ims_url = extra.get("ims_url") or None
        return AdobeClientSettings(
            client_id=conn.login or None,
            client_secret=conn.password or None,
            org_id=str(extra["org_id"]).strip() if extra.get("org_id") else None,
            sandbox_name=str(extra.get("sandbox_name") or DEFAULT_SANDBOX).strip(),
            scopes=tuple(scopes),
            platform_url=extra.get("platform_url") or None,
            # Checked here so that an error names the extra the user set.
            ims_token_url=validate_base_url(ims_url, "ims_url") if ims_url else None,
            **transport_extras(extra),
        )
    except MParticleConfigError as error:
        raise connection_error(conn, error, name_connection) from None


class AdobeExperiencePlatformHook(
    BaseApiClientHook["AdobeClientSettings", "AdobeClient", "AsyncAdobeClient"]
):
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

    def settings_from_connection(self, conn: Connection, name_connection: bool = True) -> AdobeClientSettings:
        return adobe_settings_from_connection(conn, name_connection=name_connection)

    def client_class(self) -> type[AdobeClient]:
        from airflow_provider_mparticle.client.adobe import AdobeClient

        return AdobeClient

    def async_client_class(self) -> type[AsyncAdobeClient]:
        from airflow_provider_mparticle.client.adobe import AsyncAdobeClient

        return AsyncAdobeClient

    @staticmethod
    def evaluation_failure(attribute: ComputedAttribute) -> str | None:
        """Why waiting for this computed attribute to be PROCESSED is pointless, or None.

        FAILED and DISABLED are final; a DRAFT is never evaluated. Shared by the sensor and its trigger.

        :param attribute: the computed attribute as last read.
        """
        from airflow_provider_mparticle.client.adobe import ComputedAttributeStatus

        status, text = attribute.status, attribute.status_text
        if status is not None and status.is_failure:
            return f"Computed attribute {attribute.name!r} is {text}."
        if status is ComputedAttributeStatus.DRAFT:
            return f"Computed attribute {attribute.name!r} is a DRAFT: it is never evaluated; set its status to NEW."
        return None

    def test_connection(self) -> tuple[bool, str]:
        """Fetch an IMS token and list one computed attribute of the sandbox."""
        from airflow_provider_mparticle.client import MParticleError

        try:
            settings = self.settings_for_test()
            with self.quick_client() as client:
                client.computed_attributes.list_page(limit=1)
        except MParticleError as error:
            return False, str(error)
        return True, f"Connected to sandbox {settings.sandbox_name!r} of {settings.org_id}."
