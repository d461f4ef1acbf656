"""AEP Real-Time Customer Profile API: computed attributes (``/data/core/ca/attributes``).

Implements https://experienceleague.adobe.com/en/docs/experience-platform/profile/computed-attributes/api
(list with ``limit`` / ``offset`` paging through ``_links``, ``sortBy`` and ``property`` filters; create;
get; update with the per-status rules; delete, drafts only). The documented rules are checked here, before
anything is sent, and raise :class:`ComputedAttributeError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_mparticle.client.answers import Expect, require_field, require_list, require_object
from airflow_provider_mparticle.client.core import ApiRequest, ApiResponse, Call, as_object, path_segment
from airflow_provider_mparticle.client.errors import MParticleError

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.adobe.config import AdobeClientSettings
    from airflow_provider_mparticle.client.transport import AsyncTransport, SyncTransport

BASE_PATH = "/data/core/ca"
MAX_LIMIT = 40
NAME_PATTERN = re.compile(r"[A-Za-z0-9]+")
SORT_FIELDS = ("name", "status", "updateEpoch", "createEpoch")
# DELETE answers the deleted attribute (202 in the documents' example).
DELETED = Expect(frozenset({200, 202}), "object")


class ComputedAttributeError(MParticleError, ValueError):
    """A definition, filter or update that the documented rules refuse; nothing was sent.

    :param field: the offending field (``name``, ``duration.count``, ``status``, ``property``, ...).
    :param message: what is wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"Computed attribute field {field!r}: {message}")


class ComputedAttributeStatus(StrEnum):
    """The documented statuses. A DRAFT is never evaluated; NEW starts the evaluation."""

    DRAFT = "DRAFT"
    NEW = "NEW"
    INITIALIZING = "INITIALIZING"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    DISABLED = "DISABLED"

    @classmethod
    def parse(cls, value: Any) -> ComputedAttributeStatus | None:
        """The status, case-insensitive; None for a value the documents do not list."""
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            return None

    @property
    def is_success(self) -> bool:
        return self is ComputedAttributeStatus.PROCESSED

    @property
    def is_failure(self) -> bool:
        return self in (ComputedAttributeStatus.FAILED, ComputedAttributeStatus.DISABLED)

    @property
    def is_evaluating(self) -> bool:
        """On its way to PROCESSED (or FAILED)."""
        return self in (
            ComputedAttributeStatus.NEW,
            ComputedAttributeStatus.INITIALIZING,
            ComputedAttributeStatus.PROCESSING,
        )


class DurationUnit(StrEnum):
    """Lookback units; ``max_count`` is the documented upper bound of ``duration.count``."""

    HOURS = "HOURS"
    DAYS = "DAYS"
    WEEKS = "WEEKS"
    MONTHS = "MONTHS"

    @property
    def max_count(self) -> int:
        return {"HOURS": 24, "DAYS": 7, "WEEKS": 4, "MONTHS": 6}[self.value]


@dataclass(frozen=True)
class Duration:
    """The lookback period: HOURS 1-24, DAYS 1-7, WEEKS 1-4, MONTHS 1-6."""

    count: int
    unit: DurationUnit

    @classmethod
    def parse(cls, value: Any, field_name: str = "duration") -> Duration:
        """Read and check ``{"count": ..., "unit": ...}``."""
        if isinstance(value, Duration):
            value = value.as_api()
        if not isinstance(value, Mapping):
            raise ComputedAttributeError(
                field_name, f"must be an object with 'count' and 'unit', got {value!r}."
            )
        unit_text = str(value.get("unit", "")).strip().upper()
        try:
            unit = DurationUnit(unit_text)
        except ValueError:
            allowed = ", ".join(u.value for u in DurationUnit)
            raise ComputedAttributeError(
                f"{field_name}.unit", f"must be one of {allowed}, got {value.get('unit')!r}."
            ) from None
        count = value.get("count")
        if isinstance(count, bool) or not isinstance(count, int):
            raise ComputedAttributeError(f"{field_name}.count", f"must be a whole number, got {count!r}.")
        if not 1 <= count <= unit.max_count:
            raise ComputedAttributeError(
                f"{field_name}.count",
                f"must be 1-{unit.max_count} when the unit is {unit.value}, got {count}.",
            )
        return cls(count, unit)

    def as_api(self) -> dict[str, Any]:
        return {"count": self.count, "unit": self.unit.value}


def check_name(name: Any) -> str:
    """The documented name rule: letters and digits only, no spaces or underscores."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ComputedAttributeError(
            "name", f"must be made of letters and digits only (no spaces or underscores), got {name!r}."
        )
    return name


def pql(value: str) -> dict[str, str]:
    """An expression object; PQL in ``pql/text`` is the only documented kind."""
    return {"type": "PQL", "format": "pql/text", "value": value}


def _expression_value(value: Any) -> str:
    if isinstance(value, Mapping):
        kind, fmt = value.get("type", "PQL"), value.get("format", "pql/text")
        if kind != "PQL":
            raise ComputedAttributeError("expression.type", f"only 'PQL' is supported, got {kind!r}.")
        if fmt != "pql/text":
            raise ComputedAttributeError("expression.format", f"only 'pql/text' is supported, got {fmt!r}.")
        value = value.get("value")
    if not isinstance(value, str) or not value.strip():
        raise ComputedAttributeError("expression", "must be a non-empty PQL expression.")
    return value


@dataclass(frozen=True)
class ComputedAttributeDefinition:
    """A computed attribute as code: what the create request sends, checked against the documented rules.

    :param name: unique name, letters and digits only (a camelCase form of the display name).
    :param expression: the PQL expression (``pql/text``).
    :param duration: the lookback period.
    :param display_name: name shown in the AEP UI.
    :param description: description.
    :param keep_current: fast refresh (the documents ask for False for now).
    """

    name: str
    expression: str
    duration: Duration
    display_name: str | None = None
    description: str | None = None
    keep_current: bool = False

    def __post_init__(self) -> None:
        check_name(self.name)
        object.__setattr__(self, "expression", _expression_value(self.expression))
        object.__setattr__(self, "duration", Duration.parse(self.duration))
        for name in ("display_name", "description"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ComputedAttributeError(_API_NAMES[name], f"must be a string, got {value!r}.")
        if not isinstance(self.keep_current, bool):
            raise ComputedAttributeError("keepCurrent", f"must be true or false, got {self.keep_current!r}.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComputedAttributeDefinition:
        """Read a definition in the API's field names (``displayName``, ``keepCurrent``) or in snake_case."""
        if not isinstance(data, Mapping):
            raise ComputedAttributeError("definition", f"must be an object, got {type(data).__name__}.")
        known = {"name", "expression", "duration", "displayName", "display_name", "description"}
        known |= {"keepCurrent", "keep_current", "status"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ComputedAttributeError(unknown[0], "is not a field a definition can set.")
        for required in ("name", "expression", "duration"):
            if data.get(required) in (None, ""):
                raise ComputedAttributeError(required, "is required.")
        return cls(
            name=data["name"],
            expression=_expression_value(data["expression"]),
            duration=Duration.parse(data["duration"]),
            display_name=data.get("displayName", data.get("display_name")),
            description=data.get("description"),
            keep_current=data.get("keepCurrent", data.get("keep_current", False)),
        )

    def create_body(self, status: ComputedAttributeStatus = ComputedAttributeStatus.DRAFT) -> dict[str, Any]:
        if status not in (ComputedAttributeStatus.DRAFT, ComputedAttributeStatus.NEW):
            raise ComputedAttributeError("status", f"a new computed attribute is DRAFT or NEW, not {status}.")
        body: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name if self.display_name is not None else self.name,
            "expression": pql(self.expression),
            "keepCurrent": self.keep_current,
            "duration": self.duration.as_api(),
            "status": status.value,
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    def changes_from(self, current: ComputedAttribute) -> dict[str, Any]:
        """The PATCH body that would make ``current`` match this definition (empty when it already does)."""
        changes: dict[str, Any] = {}
        if current.name != self.name:
            changes["name"] = self.name
        if self.description is not None and current.description != self.description:
            changes["description"] = self.description
        if self.display_name is not None and current.display_name != self.display_name:
            changes["displayName"] = self.display_name
        if current.expression != self.expression:
            changes["expression"] = pql(self.expression)
        if current.duration != self.duration:
            changes["duration"] = self.duration.as_api()
        if current.keep_current != self.keep_current:
            changes["keepCurrent"] = self.keep_current
        return changes


_API_NAMES = {"display_name": "displayName", "description": "description"}

# What a PATCH may change, per current status (the documents' "Update a specific computed attribute").
DRAFT_UPDATABLE = frozenset({"name", "description", "keepCurrent", "expression", "duration", "status"})
# INITIALIZING is not mentioned; it sits between NEW and PROCESSING, which both only accept DISABLED.
DISABLE_ONLY = frozenset(
    {
        ComputedAttributeStatus.NEW,
        ComputedAttributeStatus.INITIALIZING,
        ComputedAttributeStatus.PROCESSING,
        ComputedAttributeStatus.PROCESSED,
    }
)


def check_update(current: ComputedAttributeStatus | None, changes: Mapping[str, Any]) -> None:
    """Refuse a PATCH the documented per-status rules forbid. FAILED, DISABLED and unknown statuses are not
    documented: the server decides.
    """
    if not changes:
        raise ComputedAttributeError("changes", "an update needs at least one field.")
    if "name" in changes:
        check_name(changes["name"])
    if "duration" in changes:
        Duration.parse(changes["duration"])
    if "expression" in changes:
        _expression_value(changes["expression"])
    target = changes.get("status")
    if current is ComputedAttributeStatus.DRAFT:
        locked = sorted(set(changes) - DRAFT_UPDATABLE)
        if locked:
            raise ComputedAttributeError(
                locked[0],
                "cannot be changed; a DRAFT accepts changes to name, description, keepCurrent, expression, "
                "duration and status (to NEW). Delete the draft and create it again to change it.",
            )
        if target is not None and str(target) not in ("DRAFT", "NEW"):
            raise ComputedAttributeError("status", f"a DRAFT can only move to NEW, not {target!r}.")
    elif current in DISABLE_ONLY:
        other = sorted(set(changes) - {"status"})
        if other:
            raise ComputedAttributeError(
                other[0], f"cannot be changed once the computed attribute is {current}; only status DISABLED."
            )
        if str(target) != ComputedAttributeStatus.DISABLED.value:
            raise ComputedAttributeError(
                "status", f"a {current} computed attribute can only move to DISABLED, not {target!r}."
            )


def check_sort_by(sort_by: str) -> str:
    """``name``, ``status``, ``updateEpoch`` or ``createEpoch``, with a leading ``-`` for descending."""
    if sort_by.removeprefix("-") not in SORT_FIELDS:
        allowed = ", ".join(SORT_FIELDS)
        raise ComputedAttributeError("sortBy", f"must be one of {allowed} (prefix '-' to sort descending).")
    return sort_by


_TEXT_OPERATORS = ("=", "!=", "=contains(", "=!contains(")
_EPOCH_OPERATORS = ("<=", ">=")
PROPERTY_OPERATORS: dict[str, tuple[str, ...]] = {
    "name": _TEXT_OPERATORS,
    "mergeFunction.value": _TEXT_OPERATORS,
    "status": _TEXT_OPERATORS,
    "createEpoch": _EPOCH_OPERATORS,
    "updateEpoch": _EPOCH_OPERATORS,
}


def check_property_filter(expression: str) -> str:
    """A ``property`` filter such as ``name!=draft``, ``status=contains(new,processing)`` or
    ``updateEpoch>=1683669114845``, with the operators the documents allow for that property.
    """
    for prop in sorted(PROPERTY_OPERATORS, key=len, reverse=True):
        if not expression.startswith(prop):
            continue
        rest = expression[len(prop) :]
        for operator in ("=!contains(", "=contains(", "!=", "<=", ">=", "="):
            if rest.startswith(operator):
                break
        else:
            continue
        value = rest[len(operator) :]
        if operator not in PROPERTY_OPERATORS[prop]:
            allowed = ", ".join(
                op.rstrip("(") + ("(...)" if op.endswith("(") else "") for op in PROPERTY_OPERATORS[prop]
            )
            raise ComputedAttributeError("property", f"{expression!r}: {prop} supports {allowed}.")
        if operator.endswith("("):
            if not value.endswith(")") or not value[:-1].strip():
                raise ComputedAttributeError("property", f"{expression!r}: expected {operator}v1,v2,...).")
        elif not value:
            raise ComputedAttributeError("property", f"{expression!r}: a value is required.")
        elif prop.endswith("Epoch") and not value.isdigit():
            raise ComputedAttributeError("property", f"{expression!r}: {prop} takes epoch milliseconds.")
        return expression
    allowed = ", ".join(PROPERTY_OPERATORS)
    raise ComputedAttributeError("property", f"{expression!r}: filter on one of {allowed} with an operator.")


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ComputedAttribute:
    """A computed attribute as the API returns it; ``raw`` keeps the whole answer.

    ``status`` is None for a status the documents do not list (its text is in ``status_text``).
    """

    id: str
    name: str
    display_name: str | None
    description: str | None
    status: ComputedAttributeStatus | None
    status_text: str
    expression: str
    merge_function: str | None
    duration: Duration | None
    keep_current: bool
    create_epoch: int | None
    update_epoch: int | None
    last_evaluation_ts: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> ComputedAttribute:
        """Read an attribute; one without an id or a status text is an error (a sensor polls the status)."""
        data = require_object(body, "a computed attribute")
        require_field(data, "id", str, "a computed attribute")
        require_field(data, "status", str, "a computed attribute")
        expression = as_object(data.get("expression")).get("value")
        duration: Duration | None
        try:
            duration = Duration.parse(data["duration"]) if data.get("duration") else None
        except ComputedAttributeError:
            duration = None
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            display_name=data.get("displayName"),
            description=data.get("description"),
            status=ComputedAttributeStatus.parse(data.get("status")),
            status_text=str(data.get("status", "")),
            expression=str(expression) if expression is not None else "",
            merge_function=as_object(data.get("mergeFunction")).get("value"),
            duration=duration,
            keep_current=bool(data.get("keepCurrent", False)),
            create_epoch=_int_or_none(data.get("createEpoch")),
            update_epoch=_int_or_none(data.get("updateEpoch")),
            last_evaluation_ts=data.get("lastEvaluationTs") or None,
            raw=data,
        )


@dataclass(frozen=True)
class ComputedAttributePage:
    """One page of ``GET /attributes``: the items, ``_page`` and the ``next`` link."""

    items: list[ComputedAttribute]
    offset: int | None
    limit: int | None
    count: int | None
    total_count: int | None
    next_href: str | None

    @classmethod
    def from_api(cls, body: Any) -> ComputedAttributePage:
        data = require_object(body, "a page of computed attributes")
        items = require_list(data.get("computedAttributes"), "the 'computedAttributes' of a page")
        page = as_object(data.get("_page"))
        href = as_object(as_object(data.get("_links")).get("next")).get("href")
        return cls(
            items=[ComputedAttribute.from_api(item) for item in items],
            offset=_int_or_none(page.get("offset")),
            limit=_int_or_none(page.get("limit")),
            count=_int_or_none(page.get("count")),
            total_count=_int_or_none(page.get("totalCount")),
            next_href=href if isinstance(href, str) and href else None,
        )


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
        next_offset = _int_or_none(merged.get("offset"))
        current = page.offset if page.offset is not None else (_int_or_none(params.get("offset")) or 0)
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
