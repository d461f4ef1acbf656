"""AEP computed attributes: the documented rules (names, durations, PQL expressions, per-status
updates, sort and filter syntax), checked before anything is sent, and the typed answers. Pure logic, no
HTTP: the calls are in :mod:`~airflow_provider_mparticle.client.adobe.computed_attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from airflow_provider_mparticle.client.core.answers import require_field, require_list, require_object
from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.core.messages import as_object
from airflow_provider_mparticle.client.plans import DRAFT, LIVE, ChangePlan, Comparison, json_diff

NAME_PATTERN = re.compile(r"[A-Za-z0-9]+")
SORT_FIELDS = ("name", "status", "updateEpoch", "createEpoch")


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


def int_or_none(value: Any) -> int | None:
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
            create_epoch=int_or_none(data.get("createEpoch")),
            update_epoch=int_or_none(data.get("updateEpoch")),
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
            offset=int_or_none(page.get("offset")),
            limit=int_or_none(page.get("limit")),
            count=int_or_none(page.get("count")),
            total_count=int_or_none(page.get("totalCount")),
            next_href=href if isinstance(href, str) and href else None,
        )


def _view(attribute: ComputedAttribute) -> dict[str, Any]:
    return {
        "name": attribute.name,
        "displayName": attribute.display_name,
        "description": attribute.description,
        "expression": attribute.expression,
        "duration": attribute.duration.as_api() if attribute.duration else None,
        "keepCurrent": attribute.keep_current,
    }


def plan_computed_attribute(
    current: ComputedAttribute | None, definition: ComputedAttributeDefinition, activate: bool = False
) -> ChangePlan:
    """What ensuring ``definition`` would change; nothing is sent.

    AEP keeps one object per attribute: a DRAFT is compared as the *draft*, an attribute whose evaluation
    has started (NEW and later) as *live*. A change to a live attribute is refused (AEP accepts no change
    but DISABLED), and so is the plan's apply.

    :param current: the attribute found by name (None: none has it).
    :param definition: the attribute as code.
    :param activate: whether an apply creates it as NEW, or moves a DRAFT to NEW.
    """
    if current is None:
        status = ComputedAttributeStatus.NEW if activate else ComputedAttributeStatus.DRAFT
        return ChangePlan(
            f"computed attribute {definition.name!r}",
            "create",
            (f"create computed attribute {definition.name!r} as {status.value}",),
            (
                Comparison(LIVE, "evaluating attribute", present=False),
                Comparison(DRAFT, "DRAFT", present=False),
            ),
            request={"status": status.value},
        )
    subject = f"computed attribute {current.name!r} ({current.id}, {current.status_text})"
    changes = definition.changes_from(current)
    before = _view(current)
    after = {**before, **{k: (v.get("value") if k == "expression" else v) for k, v in changes.items()}}
    lines = tuple(json_diff(before, after, current.status_text))
    is_draft = current.status is ComputedAttributeStatus.DRAFT
    comparisons = (
        Comparison(LIVE, "evaluating attribute", () if is_draft else lines, present=not is_draft),
        Comparison(DRAFT, "DRAFT", lines if is_draft else (), present=is_draft),
    )
    if activate and is_draft:
        changes["status"] = ComputedAttributeStatus.NEW.value
    if not changes:
        return ChangePlan(subject, "none", comparisons=comparisons)
    writes = tuple(f"{key} -> {value!r}" for key, value in sorted(changes.items()))
    refusal = None
    if not is_draft:
        refusal = (
            f"it is {current.status_text}; AEP accepts no change to it but status DISABLED. Fields that "
            f"differ from the definition: {', '.join(sorted(changes))}."
        )
    return ChangePlan(subject, "update", writes, comparisons, refusal=refusal, request=changes)
