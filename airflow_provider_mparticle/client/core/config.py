"""Settings shared by the sync and async clients: credentials, pods, hosts, timeouts and retries.

Hosts per pod follow https://docs.mparticle.com/developers/data-localization/ .
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from airflow_provider_mparticle.client.core.errors import MParticleConfigError

TOKEN_URL = "https://sso.auth.mparticle.com/oauth/token"
# mParticle issues every token for the US1 API host, whatever the pod.
TOKEN_AUDIENCE = "https://api.mparticle.com"
API_URL = "https://api.mparticle.com"


class Pod(StrEnum):
    """The mParticle data centres (pods)."""

    US1 = "us1"
    US2 = "us2"
    EU1 = "eu1"
    AU1 = "au1"

    @property
    def s2s_url(self) -> str:
        """Base URL of the Events and Calculated Attributes Seeding APIs of this pod."""
        if self is Pod.US1:
            return "https://s2s.mparticle.com"
        return f"https://s2s.{self.value}.mparticle.com"

    @classmethod
    def parse(cls, value: str | None) -> Pod:
        """Read a pod name (case-insensitive); an empty value means US1."""
        if value is None or str(value).strip() == "":
            return cls.US1
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise MParticleConfigError(f"Setting 'pod' is {value!r}; expected one of: {allowed}.") from None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str, setting: str) -> str:
    """Check a base URL: https anywhere, plain http only to a loopback host. Returns it without a trailing /."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MParticleConfigError(f"Setting {setting!r} must be an http(s) URL with a host, got {url!r}.")
    if parts.username or parts.password:
        raise MParticleConfigError(f"Setting {setting!r} must not carry credentials in the URL.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise MParticleConfigError(
            f"Setting {setting!r} uses plain http:// to {parts.hostname!r}; "
            "only loopback hosts (127.0.0.1, localhost, ::1) may be reached without TLS."
        )
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class RetrySettings:
    """How transient failures (429, 5xx, timeouts, dropped connections) are retried.

    :param max_attempts: attempts in all, the first included.
    :param initial_backoff: first wait in seconds when the server gives no ``Retry-After``.
    :param max_backoff: ceiling of one wait in seconds (also caps ``Retry-After``).
    :param max_elapsed: give up once this many seconds have passed since the first attempt.
    """

    max_attempts: int = 8
    initial_backoff: float = 0.5
    max_backoff: float = 60.0
    max_elapsed: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise MParticleConfigError("Setting 'max_attempts' must be at least 1.")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_elapsed < 0:
            raise MParticleConfigError(
                "Retry settings 'initial_backoff', 'max_backoff', 'max_elapsed' must be >= 0."
            )


@dataclass(frozen=True)
class TransportSettings:
    """How a transport moves bytes, whatever the vendor.

    :param timeout: seconds for connecting and for reading one answer (cut to what remains of the
        call's ``retry.max_elapsed``).
    :param retry: the retry budget of one call.
    :param verify: TLS certificate verification (a CA bundle path, or False to disable).
    :param pool_size: connections kept per host; match the number of threads or tasks sharing it.
    """

    timeout: float = 30.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    verify: bool | str = True
    pool_size: int = 16

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise MParticleConfigError("Setting 'timeout' must be a positive number of seconds.")
        if self.pool_size < 1:
            raise MParticleConfigError("Setting 'pool_size' must be at least 1.")


@dataclass(frozen=True)
class ClientSettings:
    """Everything a client needs to reach one mParticle workspace.

    :param workspace_id: the workspace id (Platform API paths).
    :param pod: the data centre, which picks the seeding host.
    :param api_key: workspace API key (HTTP Basic user for the seeding API).
    :param api_secret: workspace API secret.
    :param client_id: Platform API OAuth client id.
    :param client_secret: Platform API OAuth client secret.
    :param account_id: the account the workspace belongs to, for reference (no API call needs it).
    :param s2s_url: override of the seeding host (a proxy or the emulator).
    :param api_url: override of the Platform / Warehouse Sync / Data Planning host.
    :param token_url: override of the OAuth token endpoint.
    :param timeout: seconds for connecting and for reading one answer.
    :param retry: retry settings.
    :param verify: TLS certificate verification (a CA bundle path, or False to disable; on by default).
    """

    workspace_id: str | None = None
    pod: Pod = Pod.US1
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    account_id: str | None = None
    s2s_url: str | None = None
    api_url: str | None = None
    token_url: str | None = None
    timeout: float = 30.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    verify: bool | str = True

    def __post_init__(self) -> None:
        for name in ("s2s_url", "api_url", "token_url"):
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, validate_base_url(value, name))
        if self.timeout <= 0:
            raise MParticleConfigError("Setting 'timeout' must be a positive number of seconds.")

    @property
    def seeding_base_url(self) -> str:
        return self.s2s_url or self.pod.s2s_url

    @property
    def api_base_url(self) -> str:
        return self.api_url or API_URL

    @property
    def oauth_token_url(self) -> str:
        return self.token_url or TOKEN_URL

    @property
    def has_seeding_credentials(self) -> bool:
        return bool(self.api_key and self.api_secret)

    @property
    def has_platform_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def transport_settings(self, pool_size: int = 16) -> TransportSettings:
        """The transport options (timeout, retries, TLS, pool) of these settings."""
        return TransportSettings(
            timeout=self.timeout, retry=self.retry, verify=self.verify, pool_size=pool_size
        )

    def require_workspace(self) -> str:
        if not self.workspace_id:
            raise MParticleConfigError("Setting 'workspace_id' is required for the Platform API.")
        return str(self.workspace_id)

    def with_overrides(self, **changes: object) -> ClientSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
