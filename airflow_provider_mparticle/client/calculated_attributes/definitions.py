"""Calculated-attribute definitions as code: parse, check, compare, before anything is sent.

Implements the rules documented at https://docs.mparticle.com/developers/platform/#calculated-attributes
(required fields, calculation types, time periods, the operator / type support map and the validation
messages of create and update) and, from the seeding guide, which changes make mParticle delete a
calculated attribute's seeds (rename, calculation type, cutoff date) and that rolling ``within`` windows
cannot be seeded.

Where the documents disagree with each other both forms are accepted: ``datapoint`` / ``data_point``,
``min`` / ``minimum`` and ``max`` / ``maximum``, timestamps with and without a zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.calculated_attributes.models import CalculationType
from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.plans import DRAFT, LIVE, ChangePlan, Comparison, json_diff

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_mparticle.client.calculated_attributes.api import CalculatedAttribute

DATA_POINT_TYPES = ("event", "event_attribute", "user_attribute")
ATTRIBUTE_CATEGORIES = ("event_attribute", "product_attribute", "promotion_attribute")
TIME_PERIOD_TYPES = ("since", "within")
WITHIN_UNITS = ("days", "weeks")
# The documented "Operator - Type Support Map".
OPERATORS: dict[str, tuple[str, ...]] = {
    "string": ("exists", "not_exists", "empty", "in_list", "contains", "not_contains", "pattern", "equals", "not_equals"),
    "number": (
        "exists", "not_exists", "empty", "in_list", "equals", "not_equals", "greater_than", "greater_or_equal",
        "less_than", "less_than_or_equal", "between",
    ),
    "boolean": ("exists", "not_exists", "empty", "equals"),
    "date": ("exists", "not_exists", "empty", "equals", "before", "after", "between_dates"),
}  # fmt: skip
NO_VALUE_OPERATORS = frozenset({"exists", "not_exists", "empty"})
RANGE_OPERATORS = frozenset({"between", "between_dates"})
_TYPE_WORD = {"string": "string", "number": "numeric", "boolean": "boolean", "date": "date"}


class CalculatedAttributeDefinitionError(MParticleError):
    """A calculated-attribute definition breaks the documented rules; nothing was sent.

    :param problems: one ``<field>: <problem>`` line per problem.
    """

    def __init__(self, problems: list[str], source: str = "calculated attribute definition") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid {source} ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class CalculatedAttributeSpec:
    """The wanted state of one calculated attribute: its name, description and draft definition.

    :param name: the calculated attribute's name (seeds refer to it).
    :param draft_definition: the definition as it is sent (the user's spelling is kept).
    :param description: optional; None leaves the current description alone.
    """

    name: str
    draft_definition: dict[str, Any]
    description: str | None = None

    @property
    def calculation_type(self) -> CalculationType:
        return CalculationType.parse(self.draft_definition["calculation_type"])

    @property
    def cutoff_date(self) -> str | None:
        """The seeding cutoff as the seeding API wants it (``yyyy-MM-dd``), or None without seeding."""
        return cutoff_day(self.draft_definition)


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 date or timestamp, with or without zone (naive means UTC); None if it is not one."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def cutoff_day(definition: Mapping[str, Any] | None) -> str | None:
    """The ``seeding.cutoff_date`` of a definition as ``yyyy-MM-dd`` (UTC), or None."""
    seeding = (definition or {}).get("seeding")
    if not isinstance(seeding, dict):
        return None
    parsed = parse_time(seeding.get("cutoff_date"))
    return parsed.astimezone(dt.UTC).date().isoformat() if parsed else None


def seed_target_problem(
    name: str,
    calculation_type: CalculationType,
    cutoff_date: str,
    definitions: Mapping[str, Mapping[str, Any] | None],
) -> str | None:
    """Why seeds for ``name`` (of this type and cutoff) would be useless, or None when one definition fits.

    A seed is kept only by a definition of the same calculation type and seeding cutoff date that is not
    a rolling ``within`` window; a seed for another type or cutoff is silently dropped by mParticle.

    :param name: the calculated attribute's name (for the message).
    :param calculation_type: the type the seeds are built for.
    :param cutoff_date: the cutoff the seeds carry (``yyyy-MM-dd``).
    :param definitions: label -> definition, e.g. ``{"draft": ..., "active": ...}``; None entries are absent.
    """
    seen = []
    for label, definition in definitions.items():
        if not definition:
            continue
        try:
            kind: CalculationType | None = CalculationType.parse(str(definition.get("calculation_type")))
        except ValueError:
            kind = None
        cutoff = cutoff_day(definition)
        rolling = (definition.get("time_period") or {}).get("type") == "within"
        if kind is calculation_type and cutoff == cutoff_date and not rolling:
            return None
        seen.append(
            f"{label}: {getattr(kind, 'value', definition.get('calculation_type'))}, cutoff {cutoff}"
            + (", rolling 'within' window (cannot be seeded)" if rolling else "")
        )
    return (
        f"{name!r} is mapped as {calculation_type.value} with cutoff {cutoff_date}, "
        f"but its definition is {'; '.join(seen) or 'missing'}"
    )


def data_point_of(definition: Mapping[str, Any]) -> Any:
    """The data point, under either documented spelling."""
    return definition.get("data_point", definition.get("datapoint"))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _check_value(kind: str, value: Any) -> bool:
    if kind == "string":
        return not _empty(value)
    if kind == "number":
        return _is_number(value)
    if kind == "boolean":
        return str(value).lower() in ("true", "false") and not _empty(value)
    return parse_time(value) is not None


def _condition_problems(index: int, condition: Any) -> list[str]:
    at = f"draft_definition.conditions[{index}]"
    if not isinstance(condition, dict):
        return [f"{at}: must be an object (mParticle: 'Invalid condition definition')."]
    kind = condition.get("type")
    if kind not in OPERATORS:
        return [f"{at}.type: {kind!r} is not one of {', '.join(OPERATORS)}."]
    word = _TYPE_WORD[kind]
    problems = []
    if _empty(condition.get("attribute_name")):
        problems.append(f"{at}.attribute_name: required.")
    operator = condition.get("operator")
    if operator not in OPERATORS[kind]:
        return [
            *problems,
            (
                f"{at}.operator: {operator!r} is not an operator for a {kind!r} condition "
                f"(mParticle: 'Invalid {word} condition operator'); use one of: {', '.join(OPERATORS[kind])}."
            ),
        ]
    value, values = condition.get("value"), condition.get("values")
    low, high = condition.get("min_value"), condition.get("max_value")
    if operator == "in_list":
        if not isinstance(values, list) or not values:
            problems.append(f"{at}.values: a non-empty list is required for 'in_list'.")
        elif not all(_check_value(kind, v) for v in values):
            problems.append(f"{at}.values: every value must be a valid {word} value.")
    elif not _empty(values):
        problems.append(f"{at}.values: must be empty for {operator!r} (only 'in_list' takes a list).")
    if operator in RANGE_OPERATORS:
        if not _empty(value):
            problems.append(f"{at}.value: must be empty for the range operator {operator!r}.")
        if not _check_value(kind, low):
            problems.append(f"{at}.min_value: a valid {word} value is required for {operator!r}.")
        if not _check_value(kind, high):
            problems.append(f"{at}.max_value: a valid {word} value is required for {operator!r}.")
    else:
        if not _empty(low):
            problems.append(f"{at}.min_value: must be empty for {operator!r} (only range operators).")
        if not _empty(high):
            problems.append(f"{at}.max_value: must be empty for {operator!r} (only range operators).")
    if operator not in NO_VALUE_OPERATORS | RANGE_OPERATORS | {"in_list"} and not _check_value(kind, value):
        problems.append(f"{at}.value: a valid {word} value is required for {operator!r}, got {value!r}.")
    return problems


def _data_point_problems(definition: Mapping[str, Any]) -> list[str]:
    both = "data_point" in definition and "datapoint" in definition
    if both and definition["data_point"] != definition["datapoint"]:
        return ["draft_definition.data_point: given twice (data_point and datapoint) with different values."]
    point = data_point_of(definition)
    at = "draft_definition.data_point"
    if not isinstance(point, dict):
        return [f"{at}: required (an object; 'datapoint' is accepted too)."]
    problems = []
    if point.get("type") not in DATA_POINT_TYPES:
        problems.append(f"{at}.type: {point.get('type')!r} is not one of {', '.join(DATA_POINT_TYPES)}.")
    event_type = point.get("event_type")
    if _empty(event_type):
        problems.append(f"{at}.event_type: required (see event_type in the Events API).")
    if event_type == "custom_event" and _empty(point.get("event_name")):
        problems.append(f"{at}.event_name: required when event_type is 'custom_event'.")
    if not _empty(point.get("custom_event_type")) and event_type not in ("custom_event", "commerce_event"):
        problems.append(
            f"{at}.custom_event_type: only allowed when event_type is 'custom_event' or 'commerce_event'."
        )
    if point.get("type") in ("event_attribute", "user_attribute") and _empty(point.get("attribute_name")):
        problems.append(f"{at}.attribute_name: required when type is {point.get('type')!r}.")
    category = point.get("attribute_category")
    if not _empty(category):
        if category not in ATTRIBUTE_CATEGORIES:
            problems.append(
                f"{at}.attribute_category: {category!r} is not one of {', '.join(ATTRIBUTE_CATEGORIES)}."
            )
        elif _empty(point.get("attribute_name")):
            problems.append(f"{at}.attribute_category: only applies when attribute_name is set.")
    return problems


def _time_period_problems(period: Any) -> list[str]:
    at = "draft_definition.time_period"
    if not isinstance(period, dict):
        return [f"{at}: required (an object with type 'since' or 'within')."]
    kind = period.get("type")
    if kind == "all":
        return [f"{at}.type: 'all' is not supported (use 'since' with a date, or 'within')."]
    if kind not in TIME_PERIOD_TYPES:
        return [f"{at}.type: {kind!r} is not one of {', '.join(TIME_PERIOD_TYPES)}."]
    if kind == "since":
        if parse_time(period.get("date")) is None:
            return [f"{at}.date: an ISO 8601 date is required for 'since', got {period.get('date')!r}."]
        return []
    problems = []
    within = period.get("within")
    if not isinstance(within, int) or isinstance(within, bool) or within <= 0:
        problems.append(f"{at}.within: a positive integer is required for 'within', got {within!r}.")
    if period.get("within_unit") not in WITHIN_UNITS:
        problems.append(
            f"{at}.within_unit: {period.get('within_unit')!r} is not one of {', '.join(WITHIN_UNITS)}."
        )
    return problems


def validate_draft_definition(definition: Any) -> list[str]:
    """Every problem of a draft definition, each as ``<field>: <problem>``; empty when it is valid."""
    if not isinstance(definition, dict):
        return ["draft_definition: required (an object)."]
    problems = []
    if definition.get("recipe_type") != "event":
        problems.append(
            f"draft_definition.recipe_type: must be 'event' (the only one supported), "
            f"got {definition.get('recipe_type')!r}."
        )
    problems += _data_point_problems(definition)
    calculation_type = definition.get("calculation_type")
    try:
        CalculationType.parse(str(calculation_type))
    except ValueError:
        names = ", ".join(t.value for t in CalculationType)
        problems.append(f"draft_definition.calculation_type: {calculation_type!r} is not one of {names}.")
    period = definition.get("time_period")
    problems += _time_period_problems(period)
    conditions = definition.get("conditions")
    if conditions is not None:
        if not isinstance(conditions, list):
            problems.append("draft_definition.conditions: must be a list.")
        else:
            for index, condition in enumerate(conditions):
                problems += _condition_problems(index, condition)
    seeding = definition.get("seeding")
    if seeding is not None:
        if not isinstance(seeding, dict) or parse_time(seeding.get("cutoff_date")) is None:
            problems.append("draft_definition.seeding.cutoff_date: an ISO 8601 date is required.")
        elif isinstance(period, dict) and period.get("type") == "within":
            problems.append(
                "draft_definition.seeding: a rolling 'within' time period cannot be seeded; "
                "remove 'seeding' or use a 'since' time period."
            )
    return problems


def parse_spec(raw: Any, name: str | None = None, description: str | None = None) -> CalculatedAttributeSpec:
    """Read and check a calculated attribute as code.

    ``raw`` is either ``{"name", "description", "draft_definition"}`` (``definition`` is accepted for
    ``draft_definition``) or a bare draft definition, with the name given separately.

    :param raw: the parsed JSON / YAML document or dict.
    :param name: the name, when ``raw`` does not carry one (must match it when both do).
    :param description: the description, likewise.
    :raises CalculatedAttributeDefinitionError: naming every offending field.
    """
    if not isinstance(raw, dict):
        raise CalculatedAttributeDefinitionError(
            [f"definition: must be an object, got {type(raw).__name__}."]
        )
    problems: list[str] = []
    if "draft_definition" in raw or "definition" in raw:
        unknown = set(raw) - {"name", "description", "draft_definition", "definition"}
        if unknown:
            problems.append(f"definition: unknown field(s) {', '.join(sorted(unknown))}.")
        draft = raw.get("draft_definition", raw.get("definition"))
        for key, given in (("name", name), ("description", description)):
            if given is not None and raw.get(key) is not None and raw.get(key) != given:
                problems.append(f"{key}: given as {given!r} and as {raw.get(key)!r} in the definition.")
        name = name if name is not None else raw.get("name")
        description = description if description is not None else raw.get("description")
    else:
        draft = raw
    if not isinstance(name, str) or not name.strip():
        problems.append("name: required (a non-empty string).")
    if description is not None and not isinstance(description, str):
        problems.append("description: must be a string.")
    problems += validate_draft_definition(draft)
    if problems or not isinstance(draft, dict):  # validate_draft_definition reports a non-object
        raise CalculatedAttributeDefinitionError(problems or ["draft_definition: must be an object."])
    return CalculatedAttributeSpec(str(name), _with_string_condition_values(draft), description)


def _as_api_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):  # YAML reads unquoted dates as dates
        return value.isoformat()
    return value


def _with_string_condition_values(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft with condition values as strings (the documented type), however YAML typed them."""
    result = dict(draft)
    conditions = result.get("conditions")
    if isinstance(conditions, list):
        converted = []
        for condition in conditions:
            condition = dict(condition)
            for key in ("value", "min_value", "max_value"):
                if key in condition:
                    condition[key] = _as_api_string(condition[key])
            if isinstance(condition.get("values"), list):
                condition["values"] = [_as_api_string(v) for v in condition["values"]]
            converted.append(condition)
        result["conditions"] = converted
    for section, key in (("time_period", "date"), ("seeding", "cutoff_date")):
        part = result.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), dt.date):
            result[section] = {**part, key: _as_api_string(part[key])}
    return result


def _strip(value: Any) -> Any:
    """Drop None / empty values recursively: absent, null and [] mean the same to mParticle."""
    if isinstance(value, dict):
        result = {k: _strip(v) for k, v in value.items()}
        return {k: v for k, v in result.items() if not _empty(v)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def normalize_definition(definition: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A canonical form for comparing definitions: one spelling per field, dates in UTC, no empty fields."""
    if not definition:
        return None
    result = _with_string_condition_values(dict(definition))
    point = result.pop("datapoint", None)
    point = dict(result.pop("data_point", None) or point or {})
    if not _empty(point.get("attribute_name")) and _empty(point.get("attribute_category")):
        point["attribute_category"] = "event_attribute"  # mParticle's documented default
    if not point.get("use_product_quantity"):
        point.pop("use_product_quantity", None)
    result["data_point"] = point
    with contextlib.suppress(ValueError):
        result["calculation_type"] = CalculationType.parse(result.get("calculation_type", "")).value
    period = dict(result.get("time_period") or {})
    if period.get("type") == "since":
        period = {"type": "since", "date": _time_key(period.get("date"))}
    elif period.get("type") == "within":
        period = {"type": "within", "within": period.get("within"), "within_unit": period.get("within_unit")}
    result["time_period"] = period
    seeding = result.get("seeding")
    if isinstance(seeding, dict):
        result["seeding"] = {**seeding, "cutoff_date": _time_key(seeding.get("cutoff_date"))}
    return _strip(result)  # type: ignore[no-any-return]


def _time_key(value: Any) -> Any:
    parsed = parse_time(value)
    return parsed.astimezone(dt.UTC).isoformat() if parsed else value


def definitions_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two definitions mean the same, whatever the spelling."""
    return normalize_definition(a) == normalize_definition(b)


def seed_deleting_changes(
    current_name: str,
    current: Mapping[str, Any] | None,
    wanted_name: str,
    wanted: Mapping[str, Any] | None,
) -> list[str]:
    """The changes after which mParticle deletes the seeds of a calculated attribute, in words.

    Seeds exist only for a definition with a seeding cutoff, so a definition without one loses nothing.

    :param current_name: the name in mParticle.
    :param current: the definition seeds are bound to (the draft, or else the active one).
    :param wanted_name: the name wanted.
    :param wanted: the definition wanted (None: the definition is not changed).
    """
    if cutoff_day(current) is None:
        return []
    changes = []
    if wanted_name != current_name:
        changes.append(f"rename {current_name!r} -> {wanted_name!r}")
    if wanted is None or current is None:
        return changes
    try:
        before: Any = CalculationType.parse(current.get("calculation_type", "")).value
    except ValueError:
        before = current.get("calculation_type")
    after = CalculationType.parse(wanted.get("calculation_type", "")).value
    if before != after:
        changes.append(f"calculation_type {before!r} -> {after!r}")
    if cutoff_day(current) != cutoff_day(wanted):
        changes.append(f"seeding.cutoff_date {cutoff_day(current)!r} -> {cutoff_day(wanted)!r}")
    return changes


def _document(name: str, description: str | None, definition: Mapping[str, Any] | None) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "definition": normalize_definition(definition)}
    if description is not None:
        document["description"] = description
    return document


def plan_calculated_attribute(
    existing: CalculatedAttribute | None, spec: CalculatedAttributeSpec, allow_seed_reset: bool = False
) -> ChangePlan:
    """What ensuring ``spec`` would change, compared with the live (active) and the draft definition.

    The apply decision follows the draft when there is one, else the active definition (the one seeds are
    bound to): it updates when name, description (if given) or definition differ, and is refused for a
    rename after activation and, without ``allow_seed_reset``, for changes that delete seeds. Spelling
    differences (``datapoint`` / ``data_point``, ``min`` / ``minimum``, zones) are not changes.

    :param existing: the calculated attribute in the workspace (None: none has the name).
    :param spec: the wanted state.
    :param allow_seed_reset: whether changes that make mParticle delete seeds may be applied.
    """
    wanted = _document(spec.name, spec.description, spec.draft_definition)
    if existing is None:
        return ChangePlan(
            subject=f"calculated attribute {spec.name!r}",
            action="create",
            writes=(f"create calculated attribute {spec.name!r} with its draft definition",),
            comparisons=(
                Comparison(LIVE, "active definition", present=False),
                Comparison(DRAFT, "draft definition", present=False),
            ),
            request={
                "name": spec.name,
                "draft_definition": spec.draft_definition,
                "description": spec.description,
            },
        )
    subject = f"calculated attribute {existing.name!r} (id {existing.id})"
    # The description is compared only when code gives one (None leaves it alone).
    description = existing.description if spec.description is not None else None
    comparisons = tuple(
        Comparison(
            against,
            label,
            tuple(json_diff(_document(existing.name, description, held), wanted, against)) if held else (),
            present=held is not None,
        )
        for against, label, held in (
            (LIVE, "active definition", existing.active_definition),
            (DRAFT, "draft definition", existing.draft_definition),
        )
    )
    current = existing.draft_definition or existing.active_definition
    same_definition = definitions_equal(current, spec.draft_definition)
    same_name = existing.name == spec.name
    same_description = spec.description is None or spec.description == existing.description
    if same_definition and same_name and same_description:
        return ChangePlan(subject, "none", comparisons=comparisons)
    writes = tuple(
        part
        for part, changed in (
            (
                "draft definition" if existing.draft_definition else "new draft definition",
                not same_definition,
            ),
            (f"name -> {spec.name!r}", not same_name),
            ("description", not same_description),
        )
        if changed
    )
    request = {
        "name": spec.name,
        "draft_definition": None if same_definition else spec.draft_definition,
        "description": None if same_description else spec.description,
    }
    if not same_name and existing.is_active:
        rename = (
            f"cannot rename to {spec.name!r}: mParticle allows renaming only before activation "
            '("Calculated attribute name cannot be changed once the calculated attribute has been activated.")'
        )
        return ChangePlan(subject, "update", writes, comparisons, refusal=rename, request=request)
    changes = seed_deleting_changes(existing.name, current, spec.name, spec.draft_definition)
    warnings: tuple[str, ...] = ()
    refusal: str | None = None
    if changes:
        if allow_seed_reset:
            warnings = (f"{', '.join(changes)}: mParticle deletes the seeds already sent",)
        else:
            refusal = (
                f"{', '.join(changes)} makes mParticle delete the seeds already sent for it. "
                "Set allow_seed_reset=True to do it anyway (and seed again)."
            )
    return ChangePlan(subject, "update", writes, comparisons, refusal, warnings, request)
