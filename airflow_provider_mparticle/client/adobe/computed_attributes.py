"""AEP Real-Time Customer Profile API: computed attributes (``/data/core/ca/attributes``).

Implements https://experienceleague.adobe.com/en/docs/experience-platform/profile/computed-attributes/api
(list with ``limit`` / ``offset`` paging through ``_links``, ``sortBy`` and ``property`` filters; create;
get; update with the per-status rules; delete, drafts only). The documented rules, checked before anything
is sent (raising :class:`ComputedAttributeError` naming the field), and the typed answers are in
:mod:`~airflow_provider_mparticle.client.adobe.computed_attribute_models`, importable from here as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_mparticle.client.adobe.computed_attribute_models import (
    DISABLE_ONLY,
    DRAFT_UPDATABLE,
    NAME_PATTERN,
    SORT_FIELDS,
    ComputedAttribute,
    ComputedAttributeDefinition,
    ComputedAttributeError,
    ComputedAttributePage,
    ComputedAttributeStatus,
    Duration,
    DurationUnit,
    check_name,
    check_property_filter,
    check_sort_by,
    check_update,
    int_or_none,
    plan_computed_attribute,
    pql,
)
from airflow_provider_mparticle.client.core.messages import (
    ApiRequest,
    ApiResponse,
    Call,
    Expect,
    path_segment,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

    from airflow_provider_mparticle.client.adobe.config import AdobeClientSettings
    from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport

__all__ = [
    "BASE_PATH",
    "DELETED",
    "DISABLE_ONLY",
    "DRAFT_UPDATABLE",
    "MAX_LIMIT",
    "NAME_PATTERN",
    "SORT_FIELDS",
    "AsyncComputedAttributesApi",
    "ComputedAttribute",
    "ComputedAttributeCalls",
    "ComputedAttributeDefinition",
    "ComputedAttributeError",
    "ComputedAttributePage",
    "ComputedAttributeStatus",
    "ComputedAttributesApi",
    "Duration",
    "DurationUnit",
    "check_name",
    "check_property_filter",
    "check_sort_by",
    "check_update",
    "plan_computed_attribute",
    "pql",
]

BASE_PATH = "/data/core/ca"
MAX_LIMIT = 40
# DELETE answers the deleted attribute (202 in the documents' example).
DELETED = Expect(frozenset({200, 202}), "object")


class ComputedAttributeCalls:
    """The calls of the computed-attributes API for one sandbox, shared by both clients."""

    def __init__(self, settings: AdobeClientSettings) -> None:
        self.base = f"{settings.platform_base_url}{BASE_PATH}/attributes"

    def _request(self, method: str, attribute_id: str | None = None, **kwargs: Any) -> ApiRequest:
        url = self.base
        if attribute_id is not None:
            if not str(attribute_id).strip() or str(attribute_id) in (".", ".."):
                raise ComputedAttributeError("id", f"must be a computed attribute id, got {attribute_id!r}.")
            url += "/" + path_segment(attribute_id, "computed attribute id")
        return ApiRequest(method, url, "bearer", **kwargs)

    @staticmethod
    def list_params(
        limit: int | None = None,
        offset: int | None = None,
        sort_by: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Checked query parameters of ``GET /attributes``."""
        params: dict[str, Any] = {}
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
                raise ComputedAttributeError("limit", f"must be 1-{MAX_LIMIT}, got {limit!r}.")
            params["limit"] = limit
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise ComputedAttributeError("offset", f"must be a whole number >= 0, got {offset!r}.")
            params["offset"] = offset
        if sort_by is not None:
            params["sortBy"] = check_sort_by(sort_by)
        if isinstance(properties, str):
            properties = [properties]
        checked = [check_property_filter(p) for p in properties]
        if checked:
            params["property"] = checked
        return params

    def list_page(self, params: Mapping[str, Any]) -> Call[ComputedAttributePage]:
        return Call(
            self._request("GET", params=dict(params)), lambda r: ComputedAttributePage.from_api(r.body)
        )

    @staticmethod
    def next_params(page: ComputedAttributePage, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Query parameters of the page after ``page``, read from its ``next`` link; None on the last page.

        The documented links carry only ``offset`` and ``limit``: the filters and sort order of the first
        request are kept, and what the link carries wins. Only the link's query is used, never its host.
        A link that does not move forward, or past ``totalCount``, ends the listing.
        """
        if not page.items or not page.next_href:
            return None
        query = parse_qs(urlsplit(page.next_href).query, keep_blank_values=True)
        merged = dict(params)
        for key, values in query.items():
            merged[key] = values if len(values) > 1 else values[0]
        next_offset = int_or_none(merged.get("offset"))
        current = page.offset if page.offset is not None else (int_or_none(params.get("offset")) or 0)
        if next_offset is None or next_offset <= current:
            return None
        if page.total_count is not None and next_offset >= page.total_count:
            return None
        return merged

    def create(
        self,
        definition: ComputedAttributeDefinition,
        status: ComputedAttributeStatus = ComputedAttributeStatus.DRAFT,
    ) -> Call[ComputedAttribute]:
        body = definition.create_body(ComputedAttributeStatus(status))
        return Call(self._request("POST", json=body), lambda r: ComputedAttribute.from_api(r.body))

    def get(self, attribute_id: str) -> Call[ComputedAttribute]:
        return Call(self._request("GET", attribute_id), lambda r: ComputedAttribute.from_api(r.body))

    def update(
        self,
        attribute_id: str,
        changes: Mapping[str, Any],
        current_status: ComputedAttributeStatus | None = None,
    ) -> Call[ComputedAttribute]:
        body = dict(changes)
        if isinstance(body.get("status"), ComputedAttributeStatus):
            body["status"] = body["status"].value
        check_update(current_status, body)
        return Call(
            self._request("PATCH", attribute_id, json=body), lambda r: ComputedAttribute.from_api(r.body)
        )

    def delete(
        self, attribute_id: str, current_status: ComputedAttributeStatus | None = None
    ) -> Call[ComputedAttribute]:
        if current_status is not None and current_status is not ComputedAttributeStatus.DRAFT:
            raise ComputedAttributeError(
                "status", f"only a DRAFT can be deleted; this one is {current_status}. Disable it instead."
            )
        return Call(self._request("DELETE", attribute_id, expect=DELETED), _parse_deleted)


def _parse_deleted(response: ApiResponse) -> ComputedAttribute:
    return ComputedAttribute.from_api(response.body)


class ComputedAttributesApi:
    """Computed-attributes API over the sync transport."""

    def __init__(self, transport: SyncTransport, settings: AdobeClientSettings) -> None:
        self._transport = transport
        self.calls = ComputedAttributeCalls(settings)

    def list_page(
        self,
        limit: int | None = None,
        offset: int | None = None,
        sort_by: str | None = None,
        properties: Sequence[str] = (),
    ) -> ComputedAttributePage:
        """One page of computed attributes.

        :param limit: items per page, 1-40 (the API's default is 20).
        :param offset: items to skip.
        :param sort_by: ``name``, ``status``, ``updateEpoch`` or ``createEpoch``; ``-`` first for descending.
        :param properties: ``property`` filters, e.g. ``["status=contains(new,processing)"]``.
        """
        params = self.calls.list_params(limit, offset, sort_by, properties)
        return self._transport.execute(self.calls.list_page(params))

    def iter_pages(
        self, limit: int | None = None, sort_by: str | None = None, properties: Sequence[str] = ()
    ) -> Iterator[ComputedAttributePage]:
        """Every page, following the ``next`` links (parameters as :meth:`list_page`)."""
        params: dict[str, Any] | None = self.calls.list_params(limit, None, sort_by, properties)
        while params is not None:
            page = self._transport.execute(self.calls.list_page(params))
            yield page
            params = self.calls.next_params(page, params)

    def list(
        self, limit: int | None = None, sort_by: str | None = None, properties: Sequence[str] = ()
    ) -> Iterator[ComputedAttribute]:
        """Every computed attribute matching the filters, page after page."""
        for page in self.iter_pages(limit, sort_by, properties):
            yield from page.items

    def find_by_name(self, name: str) -> ComputedAttribute | None:
        """The computed attribute with exactly this name (names are unique), or None."""
        check_name(name)
        return next((ca for ca in self.list(properties=[f"name={name}"]) if ca.name == name), None)

    def create(
        self,
        definition: ComputedAttributeDefinition,
        status: ComputedAttributeStatus = ComputedAttributeStatus.DRAFT,
    ) -> ComputedAttribute:
        """Create a computed attribute as a DRAFT (or NEW, which starts its evaluation)."""
        return self._transport.execute(self.calls.create(definition, status))

    def get(self, attribute_id: str) -> ComputedAttribute:
        return self._transport.execute(self.calls.get(attribute_id))

    def update(
        self,
        attribute_id: str,
        changes: Mapping[str, Any],
        current_status: ComputedAttributeStatus | None = None,
    ) -> ComputedAttribute:
        """PATCH fields. With ``current_status`` the documented per-status rules are checked first."""
        return self._transport.execute(self.calls.update(attribute_id, changes, current_status))

    def delete(
        self, attribute_id: str, current_status: ComputedAttributeStatus | None = None
    ) -> ComputedAttribute:
        """Delete a DRAFT (the API refuses other statuses); returns the deleted attribute."""
        return self._transport.execute(self.calls.delete(attribute_id, current_status))


class AsyncComputedAttributesApi:
    """Computed-attributes API over the async transport; same methods as :class:`ComputedAttributesApi`."""

    def __init__(self, transport: AsyncTransport, settings: AdobeClientSettings) -> None:
        self._transport = transport
        self.calls = ComputedAttributeCalls(settings)

    async def list_page(
        self,
        limit: int | None = None,
        offset: int | None = None,
        sort_by: str | None = None,
        properties: Sequence[str] = (),
    ) -> ComputedAttributePage:
        params = self.calls.list_params(limit, offset, sort_by, properties)
        return await self._transport.execute(self.calls.list_page(params))

    async def iter_pages(
        self, limit: int | None = None, sort_by: str | None = None, properties: Sequence[str] = ()
    ) -> AsyncIterator[ComputedAttributePage]:
        params: dict[str, Any] | None = self.calls.list_params(limit, None, sort_by, properties)
        while params is not None:
            page = await self._transport.execute(self.calls.list_page(params))
            yield page
            params = self.calls.next_params(page, params)

    async def list(
        self, limit: int | None = None, sort_by: str | None = None, properties: Sequence[str] = ()
    ) -> AsyncIterator[ComputedAttribute]:
        async for page in self.iter_pages(limit, sort_by, properties):
            for item in page.items:
                yield item

    async def find_by_name(self, name: str) -> ComputedAttribute | None:
        check_name(name)
        async for attribute in self.list(properties=[f"name={name}"]):
            if attribute.name == name:
                return attribute
        return None

    async def create(
        self,
        definition: ComputedAttributeDefinition,
        status: ComputedAttributeStatus = ComputedAttributeStatus.DRAFT,
    ) -> ComputedAttribute:
        return await self._transport.execute(self.calls.create(definition, status))

    async def get(self, attribute_id: str) -> ComputedAttribute:
        return await self._transport.execute(self.calls.get(attribute_id))

    async def update(
        self,
        attribute_id: str,
        changes: Mapping[str, Any],
        current_status: ComputedAttributeStatus | None = None,
    ) -> ComputedAttribute:
        return await self._transport.execute(self.calls.update(attribute_id, changes, current_status))

    async def delete(
        self, attribute_id: str, current_status: ComputedAttributeStatus | None = None
    ) -> ComputedAttribute:
        return await self._transport.execute(self.calls.delete(attribute_id, current_status))
