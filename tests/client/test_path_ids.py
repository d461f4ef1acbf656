"""Ids are quoted as one URL path segment in every API: they reach the server as the literal id, or are
refused before anything is sent, and never rewrite the request path."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    MParticleAPIError,
    MParticleClient,
    MParticleConfigError,
)
from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeError

HOSTILE_IDS = ("p1#", "p1?x=y", "a/../b", "%2e%2e", "x y")
REFUSED_IDS = (".", "..")
WS = "/platform/v2/workspaces/1"


def _only_request(emulator):
    [entry] = emulator.control.journal()
    return entry["path"], entry["query"]


# Each API: a call that puts an id in the path, and the path the emulator must see for it.
MPARTICLE_CALLS = {
    "pipeline": (lambda c, i: c.warehouse_sync.get_pipeline(i), WS + "/inputs/data-pipelines/{}"),
    "pipeline run": (lambda c, i: c.warehouse_sync.run("p1", i), WS + "/inputs/data-pipelines/p1/runs/{}"),
    "connection": (lambda c, i: c.warehouse_sync.get_connection(i), WS + "/connections/{}"),
    "data model": (lambda c, i: c.warehouse_sync.delete_data_model(i), WS + "/data-models/{}"),
    "data plan": (lambda c, i: c.data_planning.get_plan(i), WS + "/plans/{}"),
    "data plan version": (lambda c, i: c.data_planning.get_version(i, 1), WS + "/plans/{}/versions/1"),
}


@pytest.mark.parametrize("ident", HOSTILE_IDS)
@pytest.mark.parametrize("api", sorted(MPARTICLE_CALLS))
def test_ids_reach_the_server_literally(client, mparticle_emulator, api, ident):
    call, path = MPARTICLE_CALLS[api]
    client.transport.bearer_token()
    mparticle_emulator.control.reset()
    with pytest.raises(MParticleAPIError) as info:
        call(client, ident)
    # The server decodes the one segment back to the literal id; nothing went to another resource.
    assert info.value.status_code in (404, 422)
    assert _only_request(mparticle_emulator) == (path.format(ident), "")


@pytest.mark.parametrize("ident", REFUSED_IDS)
@pytest.mark.parametrize("api", sorted(MPARTICLE_CALLS))
def test_dot_ids_are_refused_before_sending(client, mparticle_emulator, api, ident):
    call, _ = MPARTICLE_CALLS[api]
    with pytest.raises(MParticleConfigError, match="would change the request path"):
        call(client, ident)
    assert mparticle_emulator.control.journal() == []


@pytest.mark.parametrize("ident", [*HOSTILE_IDS, ".."])
async def test_workspace_id_is_one_segment(mparticle_emulator, mparticle_settings, ident):
    settings = mparticle_settings.with_overrides(workspace_id=ident)
    if ident == "..":
        with pytest.raises(MParticleConfigError, match="workspace id"):
            MParticleClient(settings).calculated_attributes.list()
        return
    async with AsyncMParticleClient(settings) as client:
        await client.transport.bearer_token()
        mparticle_emulator.control.reset()
        with pytest.raises(MParticleAPIError):
            await client.calculated_attributes.list()
    path, query = _only_request(mparticle_emulator)
    assert (path, query) == (f"/platform/v2/workspaces/{ident}/calculatedattributes", "")


@pytest.mark.parametrize("ident", [*HOSTILE_IDS, *REFUSED_IDS])
def test_adobe_attribute_ids_are_one_segment(adobe_aep_settings, mparticle_emulator, ident):
    with AdobeClient(adobe_aep_settings) as client:
        client.transport.bearer_token()
        mparticle_emulator.control.reset()
        if ident in REFUSED_IDS:
            with pytest.raises(ComputedAttributeError, match="'id'"):
                client.computed_attributes.get(ident)
            assert mparticle_emulator.control.journal() == []
            return
        with pytest.raises(MParticleAPIError):
            client.computed_attributes.get(ident)
    assert _only_request(mparticle_emulator) == (f"/data/core/ca/attributes/{ident}", "")
