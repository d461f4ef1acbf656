"""The ``mparticle`` connection and the hook that turns it into configured API clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_mparticle.client import AsyncMParticleClient, ClientSettings, MParticleClient
    from airflow_provider_mparticle.client.core import RetryObserver

# Connection extras and the client setting each one feeds. Secrets are ``format: password`` in the
# connection form (see get_provider_info) and are masked by Airflow.
_TEXT_EXTRAS = ("workspace_id", "account_id", "s2s_url", "api_url", "token_url")
_SECRET_EXTRAS = ("client_id", "client_secret")


def _float_extra(extra: dict[str, Any], name: str, default: float) -> float:
    value = extra.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        from airflow_provider_mparticle.client import MParticleConfigError

        raise MParticleConfigError(f"Connection extra {name!r} must be a number, got {value!r}.") from None


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
            max_attempts=int(_float_extra(extra, "max_attempts", RetrySettings.max_attempts)),
            max_elapsed=_float_extra(extra, "max_elapsed", RetrySettings.max_elapsed),
        )
        verify = extra.get("verify", True)
        return ClientSettings(
            workspace_id=str(extra["workspace_id"]) if extra.get("workspace_id") not in (None, "") else None,
            pod=Pod.parse(extra.get("pod")),
            api_key=conn.login or None,
            api_secret=conn.password or None,
            client_id=extra.get("client_id") or None,
            client_secret=extra.get("client_secret") or None,
            account_id=extra.get("account_id") or None,
            s2s_url=extra.get("s2s_url") or None,
            api_url=extra.get("api_url") or None,
            token_url=extra.get("token_url") or None,
            timeout=_float_extra(extra, "timeout", 30.0),
            retry=retry,
            verify=verify if isinstance(verify, bool | str) else True,
        )
    except MParticleConfigError as error:
        raise MParticleConfigError(f"Connection {conn.conn_id!r}: {error}") from None


class MParticleHook(BaseHook):
    """Interact with mParticle: hands out configured sync and async clients for one workspace.

    The connection holds the workspace API key and secret (login / password, for seeding) and, in its
    extras, the workspace id, pod, Platform OAuth client id and secret, and optional URL overrides.

    :param mparticle_conn_id: the ``mparticle`` connection to use.
    """

    conn_name_attr = "mparticle_conn_id"
    default_conn_name = "mparticle_default"
    conn_type = "mparticle"
    hook_name = "mParticle"

    def __init__(self, mparticle_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mparticle_conn_id = mparticle_conn_id
        self._settings: ClientSettings | None = None

    @property
    def settings(self) -> ClientSettings:
        """Client settings read from the connection (once per hook)."""
        if self._settings is None:
            self._settings = settings_from_connection(self.get_connection(self.mparticle_conn_id))
        return self._settings

    async def aget_settings(self) -> ClientSettings:
        """Client settings, looking the connection up without blocking the event loop (for triggers)."""
        if self._settings is None:
            conn = await self.aget_connection(self.mparticle_conn_id)
            self._settings = settings_from_connection(conn)
        return self._settings

    def get_client(self, pool_size: int = 16, on_retry: RetryObserver | None = None) -> MParticleClient:
        """A synchronous client; the caller closes it (it is a context manager)."""
        from airflow_provider_mparticle.client import MParticleClient

        return MParticleClient(self.settings, pool_size=pool_size, on_retry=on_retry or self._log_retry)

    async def aget_client(self, pool_size: int = 4) -> AsyncMParticleClient:
        """An asynchronous client (for triggers); the caller closes it with ``aclose()``."""
        from airflow_provider_mparticle.client import AsyncMParticleClient

        return AsyncMParticleClient(await self.aget_settings(), pool_size=pool_size, on_retry=self._log_retry)

    def _log_retry(self, error: BaseException, wait: float) -> None:
        self.log.warning("mParticle request failed (%s); retrying in %.1f s", error, wait)

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
        with self.get_client() as client:
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
