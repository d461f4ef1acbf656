"""The ``mparticle`` connection and the hook that turns it into configured API clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.hooks.base import ApiClientHook, number_extra

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_mparticle.client import AsyncMParticleClient, ClientSettings, MParticleClient

# Connection extras and the client setting each one feeds. Secrets are ``format: password`` in the
# connection form (see get_provider_info) and are masked by Airflow.
# ``account_id`` is accepted (connections made with earlier forms carry it) but no API call needs it.
_TEXT_EXTRAS = ("workspace_id", "account_id", "s2s_url", "api_url", "token_url")
_SECRET_EXTRAS = ("client_id", "client_secret")


def settings_from_connection(conn: Connection) -> ClientSettings:
    """Build client settings from an ``mparticle`` connection; errors name the offending field."""
    from airflow_provider_mparticle.client import ClientSettings, MParticleConfigError, Pod, RetrySettings

    raw = conn.extra_dejson or {}
    if not isinstance(raw, dict):
        raise MParticleConfigError(f"Connection {conn.conn_id!r}: 'extra' must be a JSON object.")
    # Older connection forms stored fields as ``extra__mparticle__<name>``.
    extra = {key.removeprefix("extra__mparticle__"): value for key, value in raw.items()}
    unknown = set(extra) - {
        *_TEXT_EXTRAS,
        *_SECRET_EXTRAS,
        "pod",
        "timeout",
        "max_attempts",
        "max_elapsed",
        "verify",
    }
    if unknown:
        names = ", ".join(sorted(unknown))
        raise MParticleConfigError(f"Connection {conn.conn_id!r} has unknown extra field(s): {names}.")
    for name in (*_TEXT_EXTRAS, *_SECRET_EXTRAS, "pod"):
        value = extra.get(name)
        numeric_id = (
            name in ("workspace_id", "account_id") and isinstance(value, int) and not isinstance(value, bool)
        )
        if value is not None and not isinstance(value, str) and not numeric_id:
            # The type only: the value may be a secret.
            raise MParticleConfigError(
                f"Connection {conn.conn_id!r}: extra {name!r} must be a string, got {type(value).__name__}."
            )
    try:
        retry = RetrySettings(
            max_attempts=int(number_extra(extra, "max_attempts", RetrySettings.max_attempts)),
            max_elapsed=number_extra(extra, "max_elapsed", RetrySettings.max_elapsed),
        )
        verify = extra.get("verify", True)
        return ClientSettings(
            workspace_id=str(extra["workspace_id"]) if extra.get("workspace_id") not in (None, "") else None,
            pod=Pod.parse(extra.get("pod")),
            api_key=conn.login or None,
            api_secret=conn.password or None,
            client_id=extra.get("client_id") or None,
            client_secret=extra.get("client_secret") or None,
            s2s_url=extra.get("s2s_url") or None,
            api_url=extra.get("api_url") or None,
            token_url=extra.get("token_url") or None,
            timeout=number_extra(extra, "timeout", 30.0),
            retry=retry,
            verify=verify if isinstance(verify, bool | str) else True,
        )
    except MParticleConfigError as error:
        raise MParticleConfigError(f"Connection {conn.conn_id!r}: {error}") from None


class MParticleHook(ApiClientHook["ClientSettings", "MParticleClient", "AsyncMParticleClient"]):
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

    def settings_from_connection(self, conn: Connection) -> ClientSettings:
        return settings_from_connection(conn)

    def client_class(self) -> type[MParticleClient]:
        from airflow_provider_mparticle.client import MParticleClient

        return MParticleClient

    def async_client_class(self) -> type[AsyncMParticleClient]:
        from airflow_provider_mparticle.client import AsyncMParticleClient

        return AsyncMParticleClient

    def test_connection(self) -> tuple[bool, str]:
        """Check every credential set the connection holds; the message says which one failed."""
        from airflow_provider_mparticle.client import MParticleAPIError, MParticleError

        try:
            settings = self.settings
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
