"""The ``mparticle`` connection and the hook that turns it into configured API clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.base import BaseApiClientHook, connection_error

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_mparticle.client import AsyncMParticleClient, ClientSettings, MParticleClient
    from airflow_provider_mparticle.client.calculated_attributes.api import CalculatedAttribute


def settings_from_connection(conn: Connection, *, name_connection: bool = True) -> ClientSettings:
    """Build client settings from an ``mparticle`` connection; errors name the offending field.

    :param conn: the connection.
    :param name_connection: start error messages with the connection id (off when testing an unsaved
        connection, whose id Airflow made up).
    """
    from airflow_provider_mparticle.client import ClientSettings, MParticleConfigError, Pod
    from airflow_provider_mparticle.client.core.config import validate_base_url
    from airflow_provider_mparticle.connection_fields import (
        MPARTICLE_FIELDS,
        MPARTICLE_RENAMED,
        read_extras,
        transport_extras,
    )

    try:
        extra = read_extras(conn, "mparticle", MPARTICLE_FIELDS, MPARTICLE_RENAMED)
        oauth_url = extra.get("oauth_url") or None
        return ClientSettings(
            workspace_id=extra.get("workspace_id") or None,
            pod=Pod.parse(extra.get("pod")),
            api_key=conn.login or None,
            api_secret=conn.password or None,
            client_id=extra.get("client_id") or None,
            client_secret=extra.get("client_secret") or None,
            account_id=extra.get("account_id") or None,
            s2s_url=extra.get("s2s_url") or None,
            api_url=extra.get("api_url") or None,
            # Checked here so that an error names the extra the user set.
            token_url=validate_base_url(oauth_url, "oauth_url") if oauth_url else None,
            **transport_extras(extra),
        )
    except MParticleConfigError as error:
        raise connection_error(conn, error, name_connection) from None


class MParticleHook(BaseApiClientHook["ClientSettings", "MParticleClient", "AsyncMParticleClient"]):
    """Interact with mParticle: hands out configured sync and async clients for one workspace.

    The connection holds the workspace API key and secret (login / password, for seeding) and, in its
    extras, the workspace id, pod, Platform OAuth client id and secret, and optional URL overrides.

    :param mparticle_conn_id: the ``mparticle`` connection to use.
    """

    conn_name_attr = "mparticle_conn_id"
    default_conn_name = "mparticle_default"
    conn_type = "mparticle"
    hook_name = "mParticle"

    service_name = "mParticle"
    default_pool_size = 16

    def __init__(self, mparticle_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        self.mparticle_conn_id = mparticle_conn_id
        super().__init__(**kwargs)

    def settings_from_connection(self, conn: Connection, name_connection: bool = True) -> ClientSettings:
        return settings_from_connection(conn, name_connection=name_connection)

    def client_class(self) -> type[MParticleClient]:
        from airflow_provider_mparticle.client import MParticleClient

        return MParticleClient

    def async_client_class(self) -> type[AsyncMParticleClient]:
        from airflow_provider_mparticle.client import AsyncMParticleClient

        return AsyncMParticleClient

    @staticmethod
    def parse_ca_id(ca_id: int | str | None) -> int | None:
        """A rendered ``ca_id`` template field as an int, or None when it is empty (no call is made).

        :raises MParticleTaskFailure: when it is not an integer (so ``soft_fail`` skips).
        """
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        if ca_id in (None, ""):
            return None
        try:
            return int(str(ca_id).strip())
        except ValueError:
            raise MParticleTaskFailure(f"ca_id must be an integer, got {ca_id!r}.") from None

    @staticmethod
    def get_calculated_attribute(
        client: MParticleClient, ca_id: int | str | None = None, ca_name: str | None = None
    ) -> CalculatedAttribute:
        """The calculated attribute with this id (or, without an id, this exact name).

        Shared by the operators and the sensor that take ``ca_id`` / ``ca_name`` template fields, so the
        values are checked here, once rendered.

        :param client: a client of this hook.
        :param ca_id: the calculated attribute's id (an int, or its text).
        :param ca_name: its exact name, used when no id is given.
        :raises MParticleTaskFailure: when neither is given, or it does not exist (so ``soft_fail`` skips).
        """
        from airflow_provider_mparticle.client import MParticleNotFoundError
        from airflow_provider_mparticle.exceptions import MParticleTaskFailure

        workspace = client.settings.workspace_id
        number = MParticleHook.parse_ca_id(ca_id)
        if number is not None:
            try:
                return client.calculated_attributes.get(number)
            except MParticleNotFoundError as error:
                raise MParticleTaskFailure(
                    f"Calculated attribute id {ca_id} does not exist in workspace {workspace}: {error}"
                ) from error
        if not ca_name:
            raise MParticleTaskFailure("Give ca_id or ca_name to find the calculated attribute.")
        found = client.calculated_attributes.find_by_name(ca_name)
        if found is None:
            raise MParticleTaskFailure(f"No calculated attribute named {ca_name!r} in workspace {workspace}.")
        return found

    def test_connection(self) -> tuple[bool, str]:
        """Check every credential set the connection holds; the message says which one failed."""
        from airflow_provider_mparticle.client import MParticleAPIError, MParticleError

        try:
            settings = self.settings_for_test()
        except MParticleError as error:
            return False, str(error)
        if not settings.has_seeding_credentials and not settings.has_platform_credentials:
            return (
                False,
                "No credentials: set the workspace API key/secret and/or the Platform client id/secret.",
            )
        results: list[str] = []
        ok = True
        with self.quick_client() as client:
            if settings.has_platform_credentials:
                try:
                    client.calculated_attributes.exists()
                    results.append("Platform API credentials: OK")
                except MParticleError as error:
                    ok = False
                    results.append(f"Platform API credentials: FAILED ({error})")
            if settings.has_seeding_credentials:
                # An empty bulk request authenticates and is refused as invalid without storing anything.
                try:
                    client.seeding.seed_users(b"[]")
                    results.append("Seeding API credentials: OK")
                except MParticleAPIError as error:
                    if error.status_code in (400, 422):
                        results.append("Seeding API credentials: OK")
                    else:
                        ok = False
                        results.append(f"Seeding API credentials: FAILED ({error})")
                except MParticleError as error:
                    ok = False
                    results.append(f"Seeding API credentials: FAILED ({error})")
        return ok, "; ".join(results)
