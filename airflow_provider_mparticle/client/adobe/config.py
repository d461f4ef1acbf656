"""Settings and IMS authentication of the Adobe Experience Platform (AEP) clients.

AEP APIs take an Adobe IMS access token obtained with OAuth server-to-server client credentials
(https://developer.adobe.com/developer-console/docs/guides/authentication/ServerToServerAuthentication/)
and, on every request, the ``x-api-key`` (the client id), ``x-gw-ims-org-id`` and ``x-sandbox-name`` headers
(https://experienceleague.adobe.com/en/docs/experience-platform/landing/platform-apis/api-guide).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from airflow_provider_mparticle.client.core.config import RetrySettings, TransportSettings, validate_base_url
from airflow_provider_mparticle.client.core.errors import MParticleConfigError
from airflow_provider_mparticle.client.core.flow import base_headers
from airflow_provider_mparticle.client.core.messages import ApiRequest

PLATFORM_URL = "https://platform.adobe.io"
IMS_TOKEN_URL = "https://ims-na1.adobelogin.com/ims/token/v3"
DEFAULT_SCOPES = ("openid", "AdobeID", "read_organizations", "additional_info.projectedProductContext")
DEFAULT_SANDBOX = "prod"


@dataclass(frozen=True)
class AdobeClientSettings:
    """Everything a client needs to reach one AEP sandbox of one IMS organisation.

    :param client_id: OAuth server-to-server client id; also sent as ``x-api-key``.
    :param client_secret: OAuth client secret.
    :param org_id: IMS organisation id (``...@AdobeOrg``), sent as ``x-gw-ims-org-id``.
    :param sandbox_name: sandbox, sent as ``x-sandbox-name`` (default ``prod``).
    :param scopes: OAuth scopes asked for with the token.
    :param platform_url: override of ``https://platform.adobe.io`` (a proxy or the emulator).
    :param ims_token_url: override of the IMS token endpoint.
    :param timeout: seconds for connecting and for reading one answer.
    :param retry: retry settings (429 / 5xx / dropped connections).
    :param verify: TLS certificate verification (a CA bundle path, or False to disable; on by default).
    """

    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    org_id: str | None = None
    sandbox_name: str = DEFAULT_SANDBOX
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    platform_url: str | None = None
    ims_token_url: str | None = None
    timeout: float = 30.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    verify: bool | str = True

    def __post_init__(self) -> None:
        for name in ("platform_url", "ims_token_url"):
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, validate_base_url(value, name))
        if not str(self.sandbox_name or "").strip():
            raise MParticleConfigError("Setting 'sandbox_name' must not be empty.")
        if self.timeout <= 0:
            raise MParticleConfigError("Setting 'timeout' must be a positive number of seconds.")

    @property
    def platform_base_url(self) -> str:
        return self.platform_url or PLATFORM_URL

    @property
    def token_url(self) -> str:
        return self.ims_token_url or IMS_TOKEN_URL

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret and self.org_id)

    def transport_settings(self, pool_size: int = 16) -> TransportSettings:
        """The transport options (timeout, retries, TLS, pool) of these settings."""
        return TransportSettings(
            timeout=self.timeout, retry=self.retry, verify=self.verify, pool_size=pool_size
        )

    def with_overrides(self, **changes: object) -> AdobeClientSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AdobeImsAuth:
    """The shared transports' auth provider for AEP: IMS client-credentials token plus AEP headers."""

    settings: AdobeClientSettings

    @property
    def client_id(self) -> str | None:
        return self.settings.client_id

    def _require(self) -> None:
        missing = [n for n in ("client_id", "client_secret", "org_id") if not getattr(self.settings, n)]
        if missing:
            raise MParticleConfigError(
                "Adobe Experience Platform needs "
                + ", ".join(repr(n) for n in missing)
                + " (OAuth server-to-server credentials and IMS organisation); not set on this connection."
            )

    def token_request(self) -> ApiRequest:
        """``POST`` to the IMS token URL, form-encoded as IMS requires."""
        self._require()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "scope": ",".join(self.settings.scopes),
        }
        return ApiRequest(
            method="POST",
            url=self.settings.token_url,
            auth="none",
            content=urlencode(form).encode("ascii"),
            content_type="application/x-www-form-urlencoded",
        )

    def headers(self, request: ApiRequest, token: str | None) -> dict[str, str]:
        if request.auth == "none":
            return base_headers(request)
        if request.auth != "bearer":
            raise MParticleConfigError(f"Adobe Experience Platform has no {request.auth!r} authentication.")
        self._require()
        headers = base_headers(request)
        headers["Authorization"] = f"Bearer {token}"
        headers["x-api-key"] = str(self.settings.client_id)
        headers["x-gw-ims-org-id"] = str(self.settings.org_id)
        headers["x-sandbox-name"] = self.settings.sandbox_name
        return headers
