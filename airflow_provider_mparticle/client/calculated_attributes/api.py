"""Platform API: calculated attributes (definitions, drafts, activation, calculation progress).

Implements https://docs.mparticle.com/developers/platform/#calculated-attributes
(``/platform/v2/workspaces/{workspace_id}/calculatedattributes``), OAuth bearer auth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.answers import (
    AnswerShapeError,
    require_field,
    require_list,
    require_object,
)
from airflow_provider_mparticle.client.core.messages import (
    LIST,
    NO_CONTENT,
    ApiRequest,
    ApiResponse,
    Call,
    Expect,
    ignore_body,
    path_segment,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport


@dataclass(frozen=True)
class CalculatedAttribute:
    """A calculated attribute as the Platform API returns it; ``raw`` keeps the whole answer."""

    id: int
    name: str
    description: str | None
    draft_definition: dict[str, Any] | None
    active_definition: dict[str, Any] | None
    activated_on: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> CalculatedAttribute:
        data = require_object(body, "a calculated attribute")
        return cls(
            id=require_field(data, "id", int, "a calculated attribute"),
            name=str(data.get("name", "")),
            description=data.get("description"),
            draft_definition=data.get("draft_definition") or None,
            active_definition=data.get("active_definition") or None,
            activated_on=data.get("activated_on"),
            raw=data,
        )

    @property
    def is_active(self) -> bool:
        return self.active_definition is not None


@dataclass(frozen=True)
class ActivationStatus:
    """``GET .../{id}/activation``."""

    calculated_attribute_id: int
    is_active: bool
    activated_on: str | None
    activated_by: str | None

    @classmethod
    def from_api(cls, body: Any) -> ActivationStatus:
        data = require_object(body, "an activation status")
        return cls(
            calculated_attribute_id=int(data.get("calculated_attribute_id") or 0),
            is_active=require_field(data, "is_active", bool, "an activation status"),
            activated_on=data.get("activated_on"),
            activated_by=data.get("activated_by"),
        )


@dataclass(frozen=True)
class CalculationStatus:
    """``GET .../{id}/calculation``: progress of the (initial) calculation."""

    id: int
    name: str
    revision_id: int | None
    is_calculated: bool
    calculation_percent_complete: float | None
    estimated_completion_time: str | None

    @classmethod
    def from_api(cls, body: Any) -> CalculationStatus:
        """Read a calculation status; one whose ``is_calculated`` cannot be read is an error, never
        "not calculated yet" (a sensor would wait for it until its timeout)."""
        data = require_object(body, "a calculation status")
        percent = data.get("calculation_percent_complete")
        if percent is not None:
            percent = require_field(
                data, "calculation_percent_complete", (int, float), "a calculation status"
            )
        return cls(
            id=int(data.get("id") or 0),
            name=str(data.get("name", "")),
            revision_id=data.get("revision_id"),
            is_calculated=require_field(data, "is_calculated", bool, "a calculation status"),
            calculation_percent_complete=float(percent) if percent is not None else None,
            estimated_completion_time=data.get("estimated_completion_time"),
        )

    def progress_text(self) -> str:
        """``42% complete, estimated completion 2026-...`` (for logs)."""
        percent = self.calculation_percent_complete
        text = f"{percent:g}% complete" if percent is not None else "progress unknown"
        if self.estimated_completion_time:
            text += f", estimated completion {self.estimated_completion_time}"
        return text

    def summary(self) -> dict[str, Any]:
        """JSON primitives describing the calculation (trigger events, XCom)."""
        return {
            "ca_id": self.id,
            "name": self.name,
            "revision_id": self.revision_id,
            "is_calculated": self.is_calculated,
            "calculation_percent_complete": self.calculation_percent_complete,
            "estimated_completion_time": self.estimated_completion_time,
        }


# ``HEAD`` answers 200 or 204 when the attribute exists (404, accepted, when it does not).
EXISTS = Expect(frozenset({200, 204}), "empty")
CREATED_ID = Expect(frozenset({200, 201}), "json")


class CalculatedAttributeCalls:
    """The calls of the calculated-attributes API for one workspace, shared by both clients."""

    def __init__(self, settings: ClientSettings) -> None:
        workspace = path_segment(settings.require_workspace(), "workspace id")
        self.base = f"{settings.api_base_url}/platform/v2/workspaces/{workspace}/calculatedattributes"

    def _request(self, method: str, suffix: str = "", **kwargs: Any) -> ApiRequest:
        return ApiRequest(method, self.base + suffix, "bearer", **kwargs)

    def list(self, name: str | None = None) -> Call[list[CalculatedAttribute]]:
        params = {"name": name} if name is not None else None

        def parse(response: ApiResponse) -> list[CalculatedAttribute]:
            items = require_list(response.body, "the calculated attribute list")
            return [CalculatedAttribute.from_api(item) for item in items]

        return Call(self._request("GET", params=params, expect=LIST), parse)

    def exists(self, name: str | None = None) -> Call[bool]:
        params = {"name": name} if name is not None else None
        request = self._request("HEAD", params=params, accept=frozenset({404}), expect=EXISTS)
        return Call(request, lambda response: response.status_code != 404)

    def create(
        self, name: str, draft_definition: Mapping[str, Any], description: str | None = None
    ) -> Call[int]:
        body: dict[str, Any] = {"name": name, "draft_definition": dict(draft_definition)}
        if description is not None:
            body["description"] = description

        def parse(response: ApiResponse) -> int:
            # The documents show the bare id; an object carrying it is accepted too.
            value = response.body
            if isinstance(value, dict):
                value = require_field(value, "id", int, "the created calculated attribute")
            if isinstance(value, bool) or not isinstance(value, int):
                raise AnswerShapeError(
                    f"the created calculated attribute's id is {value!r}; expected an integer"
                )
            return value

        return Call(self._request("POST", json=body, expect=CREATED_ID), parse)

    def get(self, ca_id: int) -> Call[CalculatedAttribute]:
        return Call(self._request("GET", f"/{int(ca_id)}"), lambda r: CalculatedAttribute.from_api(r.body))

    def update(
        self,
        ca_id: int,
        *,
        name: str,
        draft_definition: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> Call[None]:
        body: dict[str, Any] = {"name": name}
        if draft_definition is not None:
            body["draft_definition"] = dict(draft_definition)
        if description is not None:
            body["description"] = description
        return Call(self._request("PUT", f"/{int(ca_id)}", json=body, expect=NO_CONTENT), ignore_body)

    def delete(self, ca_id: int) -> Call[None]:
        return Call(self._request("DELETE", f"/{int(ca_id)}", expect=NO_CONTENT), ignore_body)

    def delete_draft(self, ca_id: int) -> Call[None]:
        return Call(self._request("DELETE", f"/{int(ca_id)}/draft", expect=NO_CONTENT), ignore_body)

    def activate(self, ca_id: int) -> Call[None]:
        return Call(self._request("POST", f"/{int(ca_id)}/activation", expect=NO_CONTENT), ignore_body)

    def activation_status(self, ca_id: int) -> Call[ActivationStatus]:
        return Call(
            self._request("GET", f"/{int(ca_id)}/activation"), lambda r: ActivationStatus.from_api(r.body)
        )

    def calculation_status(self, ca_id: int) -> Call[CalculationStatus]:
        return Call(
            self._request("GET", f"/{int(ca_id)}/calculation"), lambda r: CalculationStatus.from_api(r.body)
        )


class CalculatedAttributesApi:
    """Calculated-attributes API over the sync transport."""

    def __init__(self, transport: SyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = CalculatedAttributeCalls(settings)

    def list(self, name: str | None = None) -> list[CalculatedAttribute]:
        """All calculated attributes of the workspace, or those named ``name``."""
        return self._transport.execute(self.calls.list(name))

    def exists(self, name: str | None = None) -> bool:
        """Whether a calculated attribute (named ``name``) exists (``HEAD``)."""
        return self._transport.execute(self.calls.exists(name))

    def find_by_name(self, name: str) -> CalculatedAttribute | None:
        """The calculated attribute with exactly this name, or None."""
        return next((ca for ca in self.list(name) if ca.name == name), None)

    def create(self, name: str, draft_definition: Mapping[str, Any], description: str | None = None) -> int:
        """Create a calculated attribute with a draft definition; returns its id."""
        return self._transport.execute(self.calls.create(name, draft_definition, description))

    def get(self, ca_id: int) -> CalculatedAttribute:
        return self._transport.execute(self.calls.get(ca_id))

    def update(
        self,
        ca_id: int,
        *,
        name: str,
        draft_definition: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        """Create or replace the draft definition (and, before activation, the name)."""
        self._transport.execute(
            self.calls.update(ca_id, name=name, draft_definition=draft_definition, description=description)
        )

    def delete(self, ca_id: int) -> None:
        self._transport.execute(self.calls.delete(ca_id))

    def delete_draft(self, ca_id: int) -> None:
        """Discard the draft definition."""
        self._transport.execute(self.calls.delete_draft(ca_id))

    def activate(self, ca_id: int) -> None:
        """Move the draft definition to active and start calculating."""
        self._transport.execute(self.calls.activate(ca_id))

    def activation_status(self, ca_id: int) -> ActivationStatus:
        return self._transport.execute(self.calls.activation_status(ca_id))

    def calculation_status(self, ca_id: int) -> CalculationStatus:
        return self._transport.execute(self.calls.calculation_status(ca_id))


class AsyncCalculatedAttributesApi:
    """Calculated-attributes API over the async transport; same methods as the sync one."""

    def __init__(self, transport: AsyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = CalculatedAttributeCalls(settings)

    async def list(self, name: str | None = None) -> list[CalculatedAttribute]:
        return await self._transport.execute(self.calls.list(name))

    async def exists(self, name: str | None = None) -> bool:
        return await self._transport.execute(self.calls.exists(name))

    async def find_by_name(self, name: str) -> CalculatedAttribute | None:
        return next((ca for ca in await self.list(name) if ca.name == name), None)

    async def create(
        self, name: str, draft_definition: Mapping[str, Any], description: str | None = None
    ) -> int:
        return await self._transport.execute(self.calls.create(name, draft_definition, description))

    async def update(
        self,
        ca_id: int,
        *,
        name: str,
        draft_definition: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        await self._transport.execute(
            self.calls.update(ca_id, name=name, draft_definition=draft_definition, description=description)
        )

    async def delete(self, ca_id: int) -> None:
        await self._transport.execute(self.calls.delete(ca_id))

    async def delete_draft(self, ca_id: int) -> None:
        await self._transport.execute(self.calls.delete_draft(ca_id))

    async def activate(self, ca_id: int) -> None:
        await self._transport.execute(self.calls.activate(ca_id))

    async def get(self, ca_id: int) -> CalculatedAttribute:
        return await self._transport.execute(self.calls.get(ca_id))

    async def activation_status(self, ca_id: int) -> ActivationStatus:
        return await self._transport.execute(self.calls.activation_status(ca_id))

    async def calculation_status(self, ca_id: int) -> CalculationStatus:
        return await self._transport.execute(self.calls.calculation_status(ca_id))


def active_limit_holders(attributes: Iterable[CalculatedAttribute], ca_id: int) -> list[CalculatedAttribute]:
    """The active calculated attributes other than ``ca_id``: those that count against the account limit.

    :param attributes: every calculated attribute of the workspace (``list()``).
    :param ca_id: the one about to be activated (re-activating it does not take another slot).
    """
    return sorted((ca for ca in attributes if ca.is_active and ca.id != ca_id), key=lambda ca: ca.name)


def active_limit_message(holders: list[CalculatedAttribute], limit: int | None) -> str:
    """Which calculated attributes hold the account's active limit, in words.

    :param holders: from :func:`active_limit_holders`.
    :param limit: the account's limit, when known (mParticle does not publish it through the API).
    """
    names = ", ".join(f"{ca.name!r} (id {ca.id})" for ca in holders) or "none"
    of = f" of the limit of {limit}" if limit is not None else ""
    return f"{len(holders)} active calculated attribute(s){of} hold it: {names}"
