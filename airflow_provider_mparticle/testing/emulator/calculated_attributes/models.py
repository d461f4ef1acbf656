"""Platform API calculated attributes: definitions, drafts, activation and calculation progress.

Implements the documented rules: the validation messages of create / update, renaming only before
activation, the active-CA limit, "No draft definition was found to activate", seeds deleted when the
name, calculation type or cutoff date changes, and the propagation delay before seeds are accepted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.testing.emulator.errors import (
    bad_request,
    not_found,
)
from airflow_provider_mparticle.testing.emulator.state import Progress, iso

if TYPE_CHECKING:
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState


CALCULATION_TYPES = {
    "count", "sum", "min", "max", "minimum", "maximum", "average", "first_occurrence", "last_occurrence",
    "first_occurrence_timestamp", "last_occurrence_timestamp", "unique_list", "unique_values_count",
    "most_frequent",
}  # fmt: skip


ALIASES = {"minimum": "min", "maximum": "max"}


OPERATORS = {
    "string": {"exists", "not_exists", "empty", "in_list", "contains", "not_contains", "pattern", "equals", "not_equals"},
    "number": {
        "exists", "not_exists", "empty", "in_list", "equals", "not_equals", "greater_than", "greater_or_equal",
        "less_than", "less_than_or_equal", "between",
    },
    "boolean": {"exists", "not_exists", "empty", "equals"},
    "date": {"exists", "not_exists", "empty", "equals", "before", "after", "between_dates"},
}  # fmt: skip


NO_VALUE_OPERATORS = {"exists", "not_exists", "empty"}


RANGE_OPERATORS = {"between", "between_dates"}


TYPE_WORD = {"string": "string", "number": "numeric", "boolean": "boolean", "date": "date"}


ACTOR = "airflow@emulator.local"


RETENTION_DAYS = 730


def normalize_type(value: Any) -> str:
    return ALIASES.get(str(value), str(value))


def parse_iso(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _condition_errors(condition: Any) -> list[str]:
    if not isinstance(condition, dict):
        return ["Invalid condition definition"]
    kind = condition.get("type")
    if kind not in OPERATORS:
        return ["Invalid condition definition type"]
    word = TYPE_WORD[kind]
    errors = []
    if not condition.get("attribute_name"):
        errors.append("Condition attribute name must be specified")
    operator = condition.get("operator")
    if operator not in OPERATORS[kind]:
        return [*errors, f"Invalid {word} condition operator"]
    value, values = condition.get("value"), condition.get("values")
    low, high = condition.get("min_value"), condition.get("max_value")
    if operator == "in_list":
        if not isinstance(values, list) or not values:
            errors.append(
                {
                    "string": "In-list condition values must be specified",
                    "number": "Invalid numeric in-list condition values",
                }.get(kind, "Invalid datetime in-list condition values")
            )
        elif kind == "number" and not all(_is_number(v) for v in values):
            errors.append("Invalid numeric in-list condition values")
    elif values not in (None, []):
        errors.append("Condition values must be empty")
    if operator in RANGE_OPERATORS:
        if value not in (None, ""):
            errors.append("Condition value must be empty")
        check = _is_number if kind == "number" else (lambda v: parse_iso(v) is not None)
        if low is None or not check(low):
            errors.append(f"Invalid {word} condition minimum value")
        if high is None or not check(high):
            errors.append(f"Invalid {word} condition maximum value")
    else:
        if low is not None:
            errors.append("Condition minimum value must be empty")
        if high is not None:
            errors.append("Condition maximum value must be empty")
    if operator not in NO_VALUE_OPERATORS | RANGE_OPERATORS | {"in_list"}:
        if kind == "string" and (value is None or value == ""):
            errors.append("String condition value must be specified")
        elif kind == "number" and not _is_number(value):
            errors.append("Invalid numeric condition value")
        elif kind == "boolean" and str(value).lower() not in ("true", "false"):
            errors.append("Invalid boolean condition value")
        elif kind == "date" and parse_iso(value) is None:
            errors.append("Invalid date condition value")
    return errors


def validate_definition(definition: Any, now: float) -> list[str]:
    """The documented validation messages for a draft definition (empty when valid)."""
    if not isinstance(definition, dict):
        return ["Field 'draft_definition' is required."]
    errors: list[str] = []
    if definition.get("recipe_type") != "event":
        errors.append("Invalid recipe type")
    if definition.get("calculation_type") not in CALCULATION_TYPES:
        errors.append("Invalid calculation type")
    period = definition.get("time_period")
    if not isinstance(period, dict):
        errors.append("Invalid time period specification")
    elif period.get("type") == "all":
        errors.append("Field 'time_period.type' = 'all' is not supported.")
    elif period.get("type") == "since":
        date = parse_iso(period.get("date"))
        earliest = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=RETENTION_DAYS)
        if date is None:
            errors.append("Invalid time period specification")
        elif date < earliest:
            errors.append(
                f"'time_period.date' must be on or after the earliest date available of {earliest.date()}"
            )
    elif period.get("type") == "within":
        within, unit = period.get("within"), period.get("within_unit")
        if not isinstance(within, int) or isinstance(within, bool) or within <= 0:
            errors.append("Invalid 'within' time period specification")
        if unit not in ("days", "weeks"):
            errors.append("Invalid 'within_unit' time period specification")
        elif isinstance(within, int) and within * (7 if unit == "weeks" else 1) > RETENTION_DAYS:
            errors.append(
                "The within time period cannot exceed your configured retention period of "
                f"{RETENTION_DAYS} days for Calculated Attributes"
            )
    else:
        errors.append("Invalid 'type' time period specification")
    # The documents use both spellings.
    point = definition.get("data_point", definition.get("datapoint"))
    if not isinstance(point, dict):
        errors.append("Invalid data point")
    else:
        event_type = point.get("event_type")
        if event_type == "custom_event" and not point.get("event_name"):
            errors.append("Invalid data point custom event name")
        if point.get("custom_event_type") and event_type not in ("custom_event", "commerce_event"):
            errors.append("Invalid data point custom event type")
    conditions = definition.get("conditions")
    if conditions is not None:
        if not isinstance(conditions, list):
            errors.append("Invalid condition definition")
        else:
            for condition in conditions:
                errors.extend(_condition_errors(condition))
    seeding = definition.get("seeding")
    if seeding is not None and (
        not isinstance(seeding, dict) or parse_iso(seeding.get("cutoff_date")) is None
    ):
        errors.append("Invalid seeding cutoff date")
    return errors


def seed_key(definition: dict[str, Any] | None) -> tuple[str, str] | None:
    """What seeds are bound to besides the name: (calculation type, cutoff date yyyy-MM-dd)."""
    if not definition:
        return None
    seeding = definition.get("seeding") or {}
    cutoff = parse_iso(seeding.get("cutoff_date"))
    return normalize_type(definition.get("calculation_type")), cutoff.date().isoformat() if cutoff else ""


@dataclass
class StoredCA:
    id: int
    name: str
    description: str | None
    draft_definition: dict[str, Any] | None
    created_on: float
    last_modified_on: float
    definition_changed_at: float
    active_definition: dict[str, Any] | None = None
    activated_on: float | None = None
    revision_id: int = 0
    calculation: Progress | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_by": ACTOR,
            "created_on": iso(self.created_on),
            "last_modified_on": iso(self.last_modified_on),
            "last_modified_by": ACTOR,
            "active_definition": self.active_definition,
            "draft_definition": self.draft_definition,
            "audience_count": 0,
            "activated_on": iso(self.activated_on) if self.activated_on else None,
            "activated_by": ACTOR if self.activated_on else None,
        }

    def seedable_definitions(self) -> list[dict[str, Any]]:
        return [d for d in (self.draft_definition, self.active_definition) if d]


class CalculatedAttributesBackend:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.items: dict[int, StoredCA] = {}
        self.next_id = 1

    def reset(self) -> None:
        self.items.clear()
        self.next_id = 1

    def snapshot(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "items": [asdict(ca) for ca in self.items.values()]}

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()
        for item in data.get("items") or []:
            progress = item.pop("calculation", None)
            ca = StoredCA(**item, calculation=Progress(**progress) if progress else None)
            self.items[ca.id] = ca
        self.next_id = int(data.get("next_id") or max(self.items, default=0) + 1)

    def by_name(self, name: str) -> StoredCA | None:
        return next((ca for ca in self.items.values() if ca.name == name), None)

    def get(self, ca_id: int) -> StoredCA:
        ca = self.items.get(ca_id)
        if ca is None:
            raise not_found(f"Calculated attribute {ca_id} does not exist.")
        return ca

    def _drop_seeds(self, name: str) -> None:
        seeding = self.state.backends.get("seeding")
        if seeding is not None:
            seeding.drop_attribute(name)  # type: ignore[attr-defined]

    def create(self, body: Any) -> StoredCA:
        if not isinstance(body, dict) or not body.get("name"):
            raise bad_request("Field 'name' is required.")
        name = str(body["name"])
        if self.by_name(name) is not None:
            raise bad_request("Field 'name' must be unique.")
        if body.get("draft_definition") is None:
            raise bad_request("Field 'draft_definition' is required.")
        now = self.state.clock.now()
        errors = validate_definition(body["draft_definition"], now)
        if errors:
            raise bad_request(errors)
        ca = StoredCA(self.next_id, name, body.get("description"), body["draft_definition"], now, now, now)
        self.items[ca.id] = ca
        self.next_id += 1
        return ca

    def update(self, ca_id: int, body: Any) -> None:
        ca = self.get(ca_id)
        if not isinstance(body, dict):
            raise bad_request("The request JSON was malformed.")
        now = self.state.clock.now()
        name = body.get("name", ca.name)
        if not name:
            raise bad_request("Field 'name' is required.")
        if name != ca.name:
            if ca.active_definition is not None:
                raise bad_request(
                    "Calculated attribute name cannot be changed once the calculated attribute has been activated."
                )
            other = self.by_name(name)
            if other is not None and other.id != ca.id:
                raise bad_request("Field 'name' must be unique.")
        draft = body.get("draft_definition")
        if draft is not None:
            errors = validate_definition(draft, now)
            if errors:
                raise bad_request(errors)
        previous = seed_key(ca.draft_definition or ca.active_definition)
        if name != ca.name or (draft is not None and seed_key(draft) != previous):
            # mParticle deletes the seeds of a CA renamed or re-typed, or whose cutoff moved.
            self._drop_seeds(ca.name)
        if draft is not None:
            ca.draft_definition = draft
            ca.definition_changed_at = now
        if name != ca.name:
            ca.definition_changed_at = now
        ca.name = name
        if "description" in body:
            ca.description = body.get("description")
        ca.last_modified_on = now

    def delete(self, ca_id: int) -> None:
        ca = self.get(ca_id)
        self._drop_seeds(ca.name)
        del self.items[ca_id]

    def delete_draft(self, ca_id: int) -> None:
        ca = self.get(ca_id)
        ca.draft_definition = None
        ca.last_modified_on = self.state.clock.now()

    def activate(self, ca_id: int) -> None:
        ca = self.get(ca_id)
        if ca.draft_definition is None:
            raise bad_request("No draft definition was found to activate.")
        active = sum(
            1 for other in self.items.values() if other.active_definition is not None and other.id != ca.id
        )
        if active >= self.state.settings.active_ca_limit:
            raise bad_request(
                "You have reached the account limit on active calculated attributes. To increase limit, "
                "contact your account representative or delete unneeded active calculated attributes."
            )
        now = self.state.clock.now()
        ca.active_definition, ca.draft_definition = ca.draft_definition, None
        ca.activated_on = now
        ca.last_modified_on = now
        ca.revision_id += 1
        ca.calculation = self.state.progress()

    def calculation(self, ca_id: int) -> dict[str, Any]:
        ca = self.get(ca_id)
        now = self.state.clock.now()
        progress = ca.calculation
        fraction = progress.read(now) if progress is not None else 0.0
        estimate = None
        if progress is not None and fraction < 1.0:
            remaining = (
                progress.steps * (1 - fraction)
                if progress.mode == "seconds"
                else progress.steps - progress.reads
            )
            estimate = iso(now + max(remaining, 1))
        return {
            "id": ca.id,
            "name": ca.name,
            "revision_id": ca.revision_id,
            "is_calculated": progress is not None and fraction >= 1.0,
            "calculation_percent_complete": round(fraction * 100),
            "estimated_completion_time": estimate,
        }

    def seedable(
        self, name: str, calculation_type: str, cutoff_date: str
    ) -> tuple[StoredCA | None, str | None]:
        """The CA a seed targets, or the reason it cannot be seeded."""
        ca = self.by_name(name)
        now = self.state.clock.now()
        if ca is None or ca.definition_changed_at + self.state.settings.propagation_seconds > now:
            return None, "No matching calculated attribute definition found"
        wanted = (normalize_type(calculation_type), cutoff_date)
        for definition in ca.seedable_definitions():
            if seed_key(definition) == wanted:
                if (definition.get("time_period") or {}).get("type") == "within":
                    return None, "Calculated attributes with a rolling 'within' time period cannot be seeded"
                return ca, None
        return None, "No matching calculated attribute definition found"
