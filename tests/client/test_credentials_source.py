"""Credentials come only from the connection: ``~/.netrc`` never applies, environment proxies still do."""

from __future__ import annotations

import http.server
import threading

import pytest

from airflow_provider_mparticle.client import AsyncMParticleClient, MParticleClient
from tests.conftest import VALID_DEFINITION
from tests.reliability.hostile import SEED_USER


@pytest.fixture
def netrc_home(tmp_path, monkeypatch):
    """A HOME whose ~/.netrc holds other credentials for the emulator's host."""
    netrc = tmp_path / ".netrc"
    netrc.write_text(
        "machine 127.0.0.1 login netrc-user password netrc-password\n"
        "machine localhost login netrc-user password netrc-password\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    return netrc


USER = SEED_USER


def _all_answered_ok(emulator) -> None:
    # With netrc applied, the token and seeding requests go out as netrc-user (401 / 403) and the
    # bearer call with Basic credentials (401).
    statuses = [(e["path"], e["status"]) for e in emulator.control.journal()]
    assert all(status in (200, 202) for _, status in statuses), statuses
    assert list(emulator.control.seeds()) == ['identities:{"customer_id":"c1"}']


def test_netrc_does_not_replace_the_connection_credentials(
    netrc_home, mparticle_emulator, mparticle_settings
):
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
        assert client.seeding.seed_users([USER]).status_code == 202
    _all_answered_ok(mparticle_emulator)


async def test_netrc_does_not_apply_to_the_async_client(netrc_home, mparticle_emulator, mparticle_settings):
    async with AsyncMParticleClient(mparticle_settings) as client:
        await client.calculated_attributes.create("LTV", VALID_DEFINITION)
        assert (await client.seeding.seed_users([USER])).status_code == 202
    _all_answered_ok(mparticle_emulator)


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that refuses everything, remembering the absolute URLs it was asked for."""

    seen: list[str] = []

    def _refuse(self) -> None:
        type(self).seen.append(self.path)
        body = b'{"errors": [{"message": "proxy says no"}]}'
        self.send_response(418)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _refuse

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def proxy_url():
    _Proxy.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _through_proxy(monkeypatch, proxy_url, no_proxy=""):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.delenv("no_proxy", raising=False)


def test_environment_proxy_still_applies(monkeypatch, proxy_url, mparticle_emulator, mparticle_settings):
    from airflow_provider_mparticle.client import MParticleAPIError

    _through_proxy(monkeypatch, proxy_url)
    with MParticleClient(mparticle_settings) as client, pytest.raises(MParticleAPIError, match="418"):
        client.seeding.seed_users([USER])
    assert _Proxy.seen == [mparticle_settings.seeding_base_url + "/v2/bulkcalculatedattributes"]


async def test_environment_proxy_applies_to_the_async_client(
    monkeypatch, proxy_url, mparticle_emulator, mparticle_settings
):
    from airflow_provider_mparticle.client import MParticleAPIError

    _through_proxy(monkeypatch, proxy_url)
    async with AsyncMParticleClient(mparticle_settings) as client:
        with pytest.raises(MParticleAPIError, match="418"):
            await client.seeding.seed_users([USER])
    assert _Proxy.seen == [mparticle_settings.seeding_base_url + "/v2/bulkcalculatedattributes"]


def test_no_proxy_is_honoured(monkeypatch, proxy_url, mparticle_emulator, mparticle_settings):
    _through_proxy(monkeypatch, proxy_url, no_proxy="127.0.0.1,localhost")
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
        assert client.seeding.seed_users([USER]).status_code == 202
    assert _Proxy.seen == []
