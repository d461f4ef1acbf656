"""The AEP computed-attributes client against the emulator: IMS auth, paging, filters, PATCH rules."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_mparticle.client import (
    MParticleAuthError,
    MParticleConfigError,
    MParticleValidationError,
    RetrySettings,
)
from airflow_provider_mparticle.client.adobe import (
    AdobeClient,
    AdobeClientSettings,
    AsyncAdobeClient,
    ComputedAttributeDefinition,
    ComputedAttributeError,
    ComputedAttributeStatus,
)
from airflow_provider_mparticle.client.core.flow import MParticleAuth
from tests.adobe_helpers import EXPRESSION, definition

ATTRIBUTES = "/data/core/ca/attributes"
S = ComputedAttributeStatus


@pytest.fixture
def adobe(adobe_aep_settings):
    with AdobeClient(adobe_aep_settings) as client:
        yield client


def test_ims_token_is_form_encoded_cached_and_headers_accepted(adobe, mparticle_emulator):
    api = adobe.computed_attributes
    created = api.create(definition())
    for _ in range(3):
        assert api.get(created.id).name == "lifetimeValue"
    assert mparticle_emulator.control.adobe_stats()["tokens_issued"] == 1
    token_calls = mparticle_emulator.control.journal(path="/ims/token/v3")
    assert [e["status"] for e in token_calls] == [200]
    # The emulator answers 200 only when x-api-key, x-gw-ims-org-id and x-sandbox-name are right.
    assert all(e["status"] == 200 for e in mparticle_emulator.control.journal(path=ATTRIBUTES))


async def test_ims_token_shared_by_sync_and_async_clients(adobe_aep_settings, mparticle_emulator):
    for _ in range(2):
        with AdobeClient(adobe_aep_settings) as client:
            client.computed_attributes.list_page()
    async with AsyncAdobeClient(adobe_aep_settings) as client:
        await client.computed_attributes.list_page()
    assert mparticle_emulator.control.adobe_stats()["tokens_issued"] == 1
    # Another sandbox of the same credentials uses the same IMS token.
    with AdobeClient(adobe_aep_settings.with_overrides(sandbox_name="dev")) as dev:
        dev.computed_attributes.list_page()
    assert len(mparticle_emulator.control.journal(path="/ims/token/v3")) == 1


def test_token_refreshed_once_after_a_401(adobe, mparticle_emulator):
    adobe.computed_attributes.list_page()
    mparticle_emulator.control.expire_tokens()
    adobe.computed_attributes.list_page()
    assert [e["status"] for e in mparticle_emulator.control.journal(path=ATTRIBUTES)] == [200, 401, 200]
    assert mparticle_emulator.control.adobe_stats()["tokens_issued"] == 2


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"client_secret": "very-secret-value"}, 401, "invalid client_secret"),
        ({"org_id": "OTHER@AdobeOrg"}, 403, "not authorized for this IMS organization"),
        ({"sandbox_name": "staging"}, 403, "Sandbox 'staging' does not exist"),
    ],
)
def test_credential_errors_carry_adobe_message_not_secret(adobe_aep_settings, change, status, message):
    with (
        AdobeClient(adobe_aep_settings.with_overrides(**change)) as client,
        pytest.raises(MParticleAuthError) as info,
    ):
        client.computed_attributes.list_page()
    assert info.value.status_code == status
    assert message in str(info.value)
    assert "very-secret-value" not in str(info.value)
    assert "very-secret-value" not in repr(adobe_aep_settings.with_overrides(**change))


def test_missing_org_is_a_config_error_naming_it(adobe_aep_settings, mparticle_emulator):
    settings = adobe_aep_settings.with_overrides(org_id=None)
    with AdobeClient(settings) as client, pytest.raises(MParticleConfigError, match="'org_id'"):
        client.computed_attributes.list_page()
    assert mparticle_emulator.control.journal() == []


def test_plain_http_only_to_loopback():
    with pytest.raises(MParticleConfigError, match="'platform_url' uses plain http://"):
        AdobeClientSettings(platform_url="http://platform.example.com")


def test_sandboxes_are_separate(adobe, adobe_aep_settings):
    adobe.computed_attributes.create(definition())
    with AdobeClient(adobe_aep_settings.with_overrides(sandbox_name="dev")) as dev:
        assert list(dev.computed_attributes.list()) == []


def test_5xx_retried_through_the_shared_policy(adobe, mparticle_emulator):
    mparticle_emulator.control.add_fault(path=ATTRIBUTES, status=503, times=2)
    assert adobe.computed_attributes.list_page().items == []
    assert adobe.transport.stats.retries == 2


def test_paging_follows_next_links_and_keeps_filters(adobe, mparticle_emulator):
    api = adobe.computed_attributes
    for i in range(7):
        api.create(definition(f"metric{i}"))
    api.create(definition("skipMe"))
    pages = list(api.iter_pages(limit=2, sort_by="name", properties=["name=contains(metric)"]))
    assert [page.count for page in pages] == [2, 2, 2, 1]
    assert [ca.name for page in pages for ca in page.items] == [f"metric{i}" for i in range(7)]
    queries = [e["query"] for e in mparticle_emulator.control.journal(path=ATTRIBUTES, method="GET")]
    # The documented next links carry only offset and limit; the filter and sort must survive.
    assert all("sortBy=name" in q and "property=name%3Dcontains%28metric%29" in q for q in queries)
    assert [q.split("offset=")[1].split("&")[0] for q in queries[1:]] == ["2", "4", "6"]


def test_list_all_sorted_and_filtered(adobe):
    api = adobe.computed_attributes
    first = api.create(definition("alpha"))
    api.create(definition("beta"))
    api.update(first.id, {"status": "NEW"}, first.status)
    assert [ca.name for ca in api.list(sort_by="-name")] == ["beta", "alpha"]
    assert [ca.name for ca in api.list(properties=["status!=DRAFT"])] == ["alpha"]
    assert api.find_by_name("beta").name == "beta"
    assert api.find_by_name("gamma") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 41}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sort_by": "id"}, "sortBy"),
        ({"properties": ["createEpoch=5"]}, "property"),
        ({"properties": ["name>=x"]}, "property"),
        ({"properties": ["displayName=x"]}, "property"),
    ],
)
def test_bad_list_parameters_are_refused_before_sending(adobe, mparticle_emulator, kwargs, field):
    with pytest.raises(ComputedAttributeError) as info:
        adobe.computed_attributes.list_page(**kwargs)
    assert info.value.field == field
    assert mparticle_emulator.control.journal() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "life_time"}, "name"),
        ({"name": "life time"}, "name"),
        ({"duration": {"count": 8, "unit": "DAYS"}}, "duration.count"),
        ({"duration": {"count": 25, "unit": "HOURS"}}, "duration.count"),
        ({"duration": {"count": 5, "unit": "WEEKS"}}, "duration.count"),
        ({"duration": {"count": 7, "unit": "MONTHS"}}, "duration.count"),
        ({"duration": {"count": 1, "unit": "YEARS"}}, "duration.unit"),
        ({"expression": ""}, "expression"),
        ({"expression": {"type": "SQL", "value": "x"}}, "expression.type"),
        ({"keepCurrent": "yes"}, "keepCurrent"),
        ({"mergeFunction": {"value": "SUM"}}, "mergeFunction"),
    ],
)
def test_definition_rules_name_the_field(changes, field):
    data = {"name": "lifetimeValue", "expression": EXPRESSION, "duration": {"count": 7, "unit": "DAYS"}}
    with pytest.raises(ComputedAttributeError) as info:
        ComputedAttributeDefinition.from_dict({**data, **changes})
    assert info.value.field == field
    assert repr(field) in str(info.value)


@pytest.mark.parametrize(("unit", "top"), [("HOURS", 24), ("DAYS", 7), ("WEEKS", 4), ("MONTHS", 6)])
def test_duration_bounds_are_accepted_by_client_and_emulator(adobe, unit, top):
    created = adobe.computed_attributes.create(definition(duration={"count": top, "unit": unit}))
    assert created.duration is not None
    assert created.duration.count == top


def test_emulator_enforces_the_same_rules(adobe_aep_settings):
    # Send what the client would refuse, to check the emulator on its own.
    with AdobeClient(adobe_aep_settings) as client:
        body = definition().create_body()
        body["duration"] = {"count": 8, "unit": "DAYS"}
        call = client.computed_attributes.calls.create(definition())
        bad = dataclasses.replace(call, request=dataclasses.replace(call.request, json=body))
        with pytest.raises(MParticleValidationError, match=r"duration.count 8"):
            client.transport.execute(bad)


def test_patch_rules_per_status(adobe, mparticle_emulator):
    api = adobe.computed_attributes
    draft = api.create(definition())
    assert draft.status is S.DRAFT
    assert draft.merge_function == "SUM"
    # DRAFT: the documented fields change; system fields and DISABLED do not.
    updated = api.update(
        draft.id, {"description": "d", "duration": {"count": 3, "unit": "DAYS"}}, draft.status
    )
    assert updated.description == "d"
    assert updated.duration.count == 3
    with pytest.raises(ComputedAttributeError, match="'displayName'"):
        api.update(draft.id, {"displayName": "Other"}, S.DRAFT)
    with pytest.raises(ComputedAttributeError, match="only move to NEW"):
        api.update(draft.id, {"status": "DISABLED"}, S.DRAFT)
    sent = len(mparticle_emulator.control.journal(method="PATCH"))
    assert sent == 1
    # The emulator refuses the same without the client's check.
    with pytest.raises(MParticleValidationError, match="cannot be updated for a computed attribute in DRAFT"):
        api.update(draft.id, {"mergeFunction": {"value": "MAX"}})
    new = api.update(draft.id, {"status": "NEW"}, S.DRAFT)
    assert new.status is S.NEW
    # NEW / PROCESSING / PROCESSED: only status DISABLED.
    with pytest.raises(ComputedAttributeError, match="'description'"):
        api.update(new.id, {"description": "x"}, S.NEW)
    with pytest.raises(MParticleValidationError, match="in NEW status"):
        api.update(new.id, {"description": "x"})
    assert [api.get(new.id).status for _ in range(3)] == [S.INITIALIZING, S.PROCESSING, S.PROCESSED]
    with pytest.raises(ComputedAttributeError, match="only move to DISABLED"):
        api.update(new.id, {"status": "NEW"}, S.PROCESSED)
    assert api.update(new.id, {"status": "DISABLED"}, S.PROCESSED).status is S.DISABLED
    with pytest.raises(MParticleValidationError, match="in DISABLED status cannot be updated"):
        api.update(new.id, {"status": "NEW"})


def test_delete_only_drafts(adobe, mparticle_emulator):
    api = adobe.computed_attributes
    draft = api.create(definition("draftOne"))
    live = api.create(definition("liveOne"), S.NEW)
    assert live.status is S.NEW
    assert api.delete(draft.id, S.DRAFT).id == draft.id
    assert [e["status"] for e in mparticle_emulator.control.journal(method="DELETE")] == [202]
    with pytest.raises(ComputedAttributeError, match="only a DRAFT can be deleted"):
        api.delete(live.id, S.NEW)
    with pytest.raises(MParticleValidationError, match="Only computed attributes in DRAFT"):
        api.delete(live.id)
    assert [ca.name for ca in api.list()] == ["liveOne"]


def test_duplicate_name_refused(adobe):
    adobe.computed_attributes.create(definition())
    with pytest.raises(MParticleValidationError, match="already exists"):
        adobe.computed_attributes.create(definition())


def test_next_link_that_does_not_advance_ends_listing():
    from airflow_provider_mparticle.client.adobe.computed_attributes import (
        ComputedAttributeCalls,
        ComputedAttributePage,
    )

    body = {
        "_links": {"next": {"href": "/attributes?offset=20&limit=20"}},
        "computedAttributes": [{"id": "a", "name": "x", "status": "DRAFT"}] * 3,
        "_page": {"offset": 0, "limit": 20, "count": 3, "totalCount": 3},
    }
    # The documented sample itself: a next link past totalCount.
    assert ComputedAttributeCalls.next_params(ComputedAttributePage.from_api(body), {}) is None
    body["_page"] = {"offset": 20, "limit": 20, "count": 3}
    assert ComputedAttributeCalls.next_params(ComputedAttributePage.from_api(body), {"offset": 20}) is None


def test_mparticle_auth_is_the_transports_default(mparticle_settings):
    from airflow_provider_mparticle.client import MParticleClient

    with MParticleClient(mparticle_settings) as client:
        assert client.transport.auth == MParticleAuth(mparticle_settings)


async def test_async_client_pages_and_reads(adobe_aep_settings, mparticle_emulator):
    async with AsyncAdobeClient(
        adobe_aep_settings.with_overrides(retry=RetrySettings(initial_backoff=0.01))
    ) as client:
        api = client.computed_attributes
        with AdobeClient(adobe_aep_settings) as sync:
            ids = [sync.computed_attributes.create(definition(f"m{i}")).id for i in range(3)]
        mparticle_emulator.control.add_fault(path=ATTRIBUTES, status=429, retry_after="0", times=1)
        names = [ca.name async for ca in api.list(limit=2, sort_by="name")]
        assert names == ["m0", "m1", "m2"]
        assert (await api.get(ids[0])).status is S.DRAFT
        assert (await api.update(ids[0], {"status": "NEW"}, S.DRAFT)).status is S.NEW


def test_adobe_client_imports_without_airflow():
    import subprocess
    import sys

    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError("airflow is blocked")
sys.meta_path.insert(0, Block())
import airflow_provider_mparticle.client.adobe, airflow_provider_mparticle.client.adobe.computed_attributes
print(sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow.")))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
