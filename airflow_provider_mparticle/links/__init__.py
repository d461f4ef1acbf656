"""Extra links from tasks to mParticle's UI, or to the emulator's console when the connection points there."""

from __future__ import annotations

from urllib.parse import urlsplit

# Every host of the real APIs (api.mparticle.com, api.eu1.mparticle.com, ...) is under this domain.
MPARTICLE_DOMAIN = "mparticle.com"
CONSOLE_PATH = "/_emulator/ui"


def emulator_console_url(api_url: str | None) -> str | None:
    """The emulator console's base URL when ``api_url`` (a connection's Platform API override) is not an
    mParticle host, else None (links go to mParticle's UI).

    Only the emulator stands in for the Platform API under another host name: a corporate proxy is
    configured through the environment, not as the API URL.

    :param api_url: the connection's ``api_url`` override, or None for the default host.
    """
    if not api_url:
        return None
    host = (urlsplit(api_url).hostname or "").lower()
    if not host or host == MPARTICLE_DOMAIN or host.endswith("." + MPARTICLE_DOMAIN):
        return None
    return api_url.rstrip("/") + CONSOLE_PATH
