"""What both hooks get from the shared base: cached settings, clients, and the retry warning."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
from airflow_provider_mparticle.hooks.mparticle import MParticleHook


def test_settings_are_read_once_per_hook(mparticle_conn_id):
    hook = MParticleHook(mparticle_conn_id)
    assert hook.settings is hook.settings
    assert MParticleHook(mparticle_conn_id).settings is not hook.settings


async def test_async_settings_share_the_cache(adobe_aep_conn_id):
    hook = AdobeExperiencePlatformHook(adobe_aep_conn_id)
    assert await hook.aget_settings() is hook.settings


@pytest.mark.parametrize(
    ("make_hook", "path", "call", "service"),
    [
        (
            lambda: MParticleHook(),
            "calculatedattributes",
            lambda client: client.calculated_attributes.list(),
            "mParticle",
        ),
        (
            lambda: AdobeExperiencePlatformHook(),
            "/data/core/ca/attributes",
            lambda client: client.computed_attributes.list_page(limit=1),
            "Adobe Experience Platform",
        ),
    ],
)
def test_retries_are_logged_by_the_hook_naming_the_service(
    mparticle_conn_id, adobe_aep_conn_id, mparticle_emulator, make_hook, path, call, service
):
    mparticle_emulator.control.add_fault(path=path, status=503, retry_after="0", times=1)
    hook = make_hook()
    with capture_logs() as logs, hook.get_client() as client:
        call(client)
    warnings = [entry for entry in logs if "retrying in" in str(entry.get("event"))]
    assert len(warnings) == 1, logs
    assert warnings[0]["log_level"] == "warning"
    assert str(warnings[0]["event"]).startswith(f"{service} request failed (")
