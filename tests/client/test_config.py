from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import ClientSettings, MParticleConfigError, Pod


@pytest.mark.parametrize(
    ("pod", "host"),
    [
        ("us1", "https://s2s.mparticle.com"),
        ("US2", "https://s2s.us2.mparticle.com"),
        ("eu1", "https://s2s.eu1.mparticle.com"),
        ("au1", "https://s2s.au1.mparticle.com"),
        (None, "https://s2s.mparticle.com"),
    ],
)
def test_pod_selects_the_seeding_host(pod, host):
    assert ClientSettings(pod=Pod.parse(pod)).seeding_base_url == host


def test_unknown_pod_is_named():
    with pytest.raises(MParticleConfigError, match=r"'pod' is 'eu9'.*us1, us2, eu1, au1"):
        Pod.parse("eu9")


@pytest.mark.parametrize("url", ["http://s2s.example.com", "http://10.0.0.5:8080"])
def test_plain_http_is_refused_except_to_loopback(url):
    with pytest.raises(MParticleConfigError, match=r"s2s_url.*only loopback"):
        ClientSettings(s2s_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/", "http://localhost:1", "http://[::1]:80", "https://proxy"]
)
def test_loopback_and_https_are_accepted(url):
    assert not ClientSettings(api_url=url).api_base_url.endswith("/")


def test_credentials_in_url_are_refused():
    with pytest.raises(MParticleConfigError, match=r"token_url.*credentials"):
        ClientSettings(token_url="https://user:pw@sso.example.com/oauth/token")


def test_settings_repr_hides_secrets():
    text = repr(
        ClientSettings(api_key="k-123", api_secret="s-456", client_id="c-789", client_secret="cs-000")
    )
    for secret in ("k-123", "s-456", "c-789", "cs-000"):
        assert secret not in text
