"""A declarative mapping from source rows to seeding-API users, with client-side validation of every seed.

A :class:`SeedMapping` says which columns hold the identities (or the ``mpid``), which calculated
attributes are seeded from which columns, which user attributes come along, and the environment.
:meth:`SeedMapping.build` turns one row into the user object of
https://docs.mparticle.com/developers/calculated-attributes-seeding-api/ or raises a
:class:`SeedRowError` naming the row, the column and the reason, so that bad input is caught before
anything is sent (mParticle refuses a whole bulk request for one bad seed).

Seed shapes per calculation type (the API's table):

=============================================  =====================  ==================================
calculation type                               seed field             accepted column values
=============================================  =====================  ==================================
count                                          ``value``              a non-negative integer
sum, min / minimum, max / maximum              ``value``              a finite number
first_occurrence, last_occurrence              ``value``              any non-empty scalar
first/last_occurrence_timestamp                ``value``              epoch milliseconds, or a datetime /
                                                                      ISO 8601 string (no zone: UTC)
average                                        ``key_value_pairs``    ``sum`` a number, ``count`` a
                                                                      positive integer (two columns, or
                                                                      one column holding both)
most_frequent                                  ``key_value_pairs``    value -> non-negative integer count
unique_list, unique_values_count               ``list``               a list of strings or numbers
=============================================  =====================  ==================================

Values read from text sources (CSV) arrive as strings: numbers are parsed, lists and objects may be
JSON text. Numbers are sent as JSON numbers, list items as strings (the API documents an array of
strings).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from airflow_provider_mparticle.client.calculated_attributes.models import CalculationType, SeedShape
from airflow_provider_mparticle.client.core.errors import MParticleConfigError, MParticleError

ENVIRONMENTS = ("production", "development")
# Epoch milliseconds below this (1973-03-03) are almost surely seconds: a silent 1000x error otherwise.
MIN_EPOCH_MS = 100_000_000_000
MAX_MPID = 2**63 - 1
_MISSING = object()


class SeedRowError(MParticleError):
    """A source row cannot become a valid seeding request.

    :param row_number: 1-based number of the row in its source (data rows, header excluded).
    :param column: the column (or mapping field) at fault.
    :param reason: why, in words; seed values are quoted, identity values never are.
    """

    def __init__(self, row_number: int, column: str, reason: str) -> None:
        self.row_number = row_number
        self.column = column
        self.reason = reason
        super().__init__(f"row {row_number}, column {column!r}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row_number, "column": self.column, "reason": self.reason}


class _Invalid(Exception):
    """A value problem, raised by the converters and turned into a SeedRowError by the caller."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _number(value: Any) -> int | float:
    """A finite number from a number or numeric text; ints stay ints."""
    kind = type(value)
    if (kind is float and math.isfinite(value)) or kind is int:  # the common cases, checked first
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool):
        raise _Invalid(f"must be a number, got {_short(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        result: int | float = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            try:
                result = float(text)
            except ValueError:
                raise _Invalid(f"must be a number, got {_short(value)}") from None
    else:
        try:
            result = float(value)  # Decimal and other numeric types from database drivers
        except (TypeError, ValueError):
            raise _Invalid(f"must be a number, got {_short(value)}") from None
        if result.is_integer() and not isinstance(value, float):
            result = int(result)
    if isinstance(result, float) and not math.isfinite(result):
        raise _Invalid(f"must be a finite number, got {_short(value)}")
    return result


def _integer(value: Any, minimum: int, what: str) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise _Invalid(f"{what} must be an integer, got {_short(value)}")
        number = int(number)
    if number < minimum:
        raise _Invalid(f"{what} must be >= {minimum}, got {_short(value)}")
    return number


def _epoch_ms(value: Any) -> int:
    if isinstance(value, dt.datetime | dt.date) or (
        isinstance(value, str) and ("-" in value.strip()[1:] or "T" in value)
    ):
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise _Invalid(
                    f"must be epoch milliseconds or an ISO 8601 time, got {_short(value)}"
                ) from None
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        moment: dt.datetime = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return round(moment.timestamp() * 1000)
    millis = _integer(value, 0, "epoch milliseconds")
    if millis < MIN_EPOCH_MS:
        raise _Invalid(f"must be epoch milliseconds; {_short(value)} looks like seconds")
    return millis


def _json_text(value: Any, kind: type) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Invalid(
                f"must be a JSON {kind.__name__} when given as text, got {_short(value)}"
            ) from None
    return value


def _string_list(value: Any) -> list[str]:
    value = _json_text(value, list)
    if isinstance(value, tuple | set | frozenset):
        value = list(value)
    if not isinstance(value, list):
        raise _Invalid(f"must be a list, got {_short(value)}")
    items: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float) or _is_blank(item):
            raise _Invalid(f"list items must be non-empty strings or numbers, got {_short(item)}")
        items.append(item if isinstance(item, str) else str(item))
    return items


def _frequencies(value: Any) -> dict[str, int]:
    value = _json_text(value, dict)
    if not isinstance(value, Mapping) or not value:
        raise _Invalid(f"must be a non-empty object of value -> count, got {_short(value)}")
    return {str(k): _integer(v, 0, f"count of {str(k)!r}") for k, v in value.items()}


def _scalar(value: Any) -> str | int | float:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise _Invalid(f"must be a string or a number, got {_short(value)}")


def normalize_cutoff(value: Any, setting: str) -> str:
    """``yyyy-MM-dd`` from a date, a datetime or an ISO 8601 text (CA definitions carry a time)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise MParticleConfigError(
            f"Setting {setting!r} must be a date (yyyy-MM-dd), got {value!r}."
        ) from None


def _state_without_plans(self: Any) -> dict[str, Any]:
    """Pickle state without the per-row functions built once (closures; rebuilt on first use)."""
    return {k: v for k, v in self.__dict__.items() if k not in ("_seeder", "_seeds")}


@dataclass(frozen=True)
class CalculatedAttributeSeed:
    """One calculated attribute seeded from one or two columns.

    :param name: the calculated attribute's name.
    :param calculation_type: its calculation type (``minimum`` / ``maximum`` accepted for min / max).
    :param cutoff_date: its seeding cutoff date (``yyyy-MM-dd``; a datetime or ISO text is cut to the date).
    :param column: the column holding the seed (for ``average``: one holding ``{"sum", "count"}``).
    :param sum_column: for ``average``: the column holding the sum.
    :param count_column: for ``average``: the column holding the (positive integer) count.
    :param optional: a blank seed leaves this attribute out for that row instead of rejecting the row.
    """

    name: str
    calculation_type: CalculationType
    cutoff_date: str
    column: str | None = None
    sum_column: str | None = None
    count_column: str | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        where = f"calculated_attributes[{self.name!r}]"
        if not isinstance(self.name, str) or not self.name.strip():
            raise MParticleConfigError("Every calculated attribute in the mapping needs a 'name'.")
        try:
            kind = CalculationType.parse(str(self.calculation_type))
        except ValueError:
            allowed = ", ".join(t.value for t in CalculationType)
            raise MParticleConfigError(
                f"{where}.calculation_type is {self.calculation_type!r}; expected one of: {allowed} "
                "(or minimum / maximum)."
            ) from None
        object.__setattr__(self, "calculation_type", kind)
        object.__setattr__(self, "cutoff_date", normalize_cutoff(self.cutoff_date, f"{where}.cutoff_date"))
        if kind is CalculationType.AVERAGE and not self.column:
            if not (self.sum_column and self.count_column):
                raise MParticleConfigError(
                    f"{where}: an average seed needs 'sum_column' and 'count_column' (or one 'column')."
                )
        elif not self.column:
            raise MParticleConfigError(f"{where}: 'column' is required.")

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> CalculatedAttributeSeed:
        """Build from a dict (DAG code, templated fields): the constructor's parameters as keys."""
        known = {
            "name",
            "calculation_type",
            "cutoff_date",
            "column",
            "sum_column",
            "count_column",
            "optional",
        }
        unknown = set(spec) - known
        if unknown:
            raise MParticleConfigError(
                f"calculated_attributes entry {spec.get('name')!r} has unknown field(s): "
                f"{', '.join(sorted(unknown))}; expected some of: {', '.join(sorted(known))}."
            )
        missing = [k for k in ("name", "calculation_type", "cutoff_date") if not spec.get(k)]
        if missing:
            raise MParticleConfigError(
                f"calculated_attributes entry {spec.get('name')!r} is missing: {', '.join(missing)}."
            )
        return cls(**spec)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.column, self.sum_column, self.count_column) if c)

    __getstate__ = _state_without_plans

    def seed(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The seed object for this row, None when optional and blank; raises _Invalid via SeedRowError."""
        return self._seeder(row)

    @cached_property
    def _seeder(self) -> Callable[[Mapping[str, Any]], dict[str, Any] | None]:
        """The per-row seed function, with the calculation type's shape and converter chosen once."""
        kind = self.calculation_type
        convert_column = self._convert
        optional = self.optional
        if kind is CalculationType.AVERAGE and not self.column:
            # Both are set when ``column`` is not (checked in __post_init__).
            sum_column, count_column = str(self.sum_column), str(self.count_column)

            def average(row: Mapping[str, Any]) -> dict[str, Any] | None:
                total, count = row.get(sum_column, _MISSING), row.get(count_column, _MISSING)
                if optional and _is_blank(total) and _is_blank(count):
                    return None
                return {
                    "key_value_pairs": {
                        "sum": convert_column(sum_column, total, _number),
                        "count": convert_column(count_column, count, _positive_count),
                    }
                }

            return average
        column = str(self.column)  # set for every type but a two-column average (checked in __post_init__)
        key, convert = _shape_and_converter(kind)
        where = f"@{column}: seed of {self.name!r} ({kind.value})"

        def seed(row: Mapping[str, Any]) -> dict[str, Any] | None:
            raw = row.get(column, _MISSING)
            if raw is _MISSING or raw is None or (isinstance(raw, str) and not raw.strip()):  # blank
                if optional:
                    return None
                return {key: convert_column(column, raw, convert)}  # raises the missing / empty error
            try:
                return {key: convert(raw)}
            except _Invalid as error:
                raise _Invalid(f"{where} {error}") from None

        return seed

    def _convert(self, column: str, raw: Any, convert: Any) -> Any:
        if raw is _MISSING:
            raise _Invalid(f"@{column}: column is missing from the row")
        if _is_blank(raw):
            raise _Invalid(f"@{column}: seed of {self.name!r} ({self.calculation_type.value}) is empty")
        try:
            return convert(raw)
        except _Invalid as error:
            raise _Invalid(
                f"@{column}: seed of {self.name!r} ({self.calculation_type.value}) {error}"
            ) from None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "calculation_type": self.calculation_type.value,
            "cutoff_date": self.cutoff_date,
            "columns": list(self.columns),
        }


def _count(value: Any) -> int:
    return _integer(value, 0, "count")


def _positive_count(value: Any) -> int:
    return _integer(value, 1, "count")


def _shape_and_converter(kind: CalculationType) -> tuple[str, Callable[[Any], Any]]:
    """The seed field of a calculation type and the converter of its column's values."""
    if kind.seed_shape is SeedShape.LIST:
        return "list", _string_list
    if kind is CalculationType.MOST_FREQUENT:
        return "key_value_pairs", _frequencies
    if kind is CalculationType.AVERAGE:
        return "key_value_pairs", _average_pair
    if kind is CalculationType.COUNT:
        return "value", _count
    if kind.is_timestamp:
        return "value", _epoch_ms
    if kind.is_numeric:
        return "value", _number
    return "value", _scalar


def _average_pair(value: Any) -> dict[str, int | float]:
    value = _json_text(value, dict)
    if not isinstance(value, Mapping) or "sum" not in value or "count" not in value:
        raise _Invalid(f"must hold 'sum' and 'count', got {_short(value)}")
    return {"sum": _number(value["sum"]), "count": _positive_count(value["count"])}


@dataclass(frozen=True)
class SeedMapping:
    """How a row becomes a seeding user.

    :param calculated_attributes: the attributes to seed (:class:`CalculatedAttributeSeed` or dicts).
    :param identities: identity type -> column (``{"customer_id": "customer_id"}``); blank values are left out.
    :param mpid_column: the column holding the mParticle id; when set and not blank, identities are ignored
        by mParticle (and still sent, when mapped).
    :param user_attributes: user attribute name -> column; blank values are left out.
    :param environment: ``production`` or ``development``.
    """

    calculated_attributes: Sequence[CalculatedAttributeSeed]
    identities: Mapping[str, str] = field(default_factory=dict)
    mpid_column: str | None = None
    user_attributes: Mapping[str, str] = field(default_factory=dict)
    environment: str = "production"

    def __post_init__(self) -> None:
        cas = [
            ca if isinstance(ca, CalculatedAttributeSeed) else CalculatedAttributeSeed.from_dict(ca)
            for ca in (self.calculated_attributes or [])
        ]
        if not cas:
            raise MParticleConfigError("Setting 'calculated_attributes' must name at least one attribute.")
        names = [ca.name for ca in cas]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise MParticleConfigError(f"Calculated attribute(s) mapped twice: {', '.join(duplicates)}.")
        object.__setattr__(self, "calculated_attributes", tuple(cas))
        object.__setattr__(self, "identities", dict(self.identities or {}))
        object.__setattr__(self, "user_attributes", dict(self.user_attributes or {}))
        if not self.identities and not self.mpid_column:
            raise MParticleConfigError("Setting 'identities' or 'mpid_column' is required to find the users.")
        if self.environment not in ENVIRONMENTS:
            raise MParticleConfigError(
                f"Setting 'environment' is {self.environment!r}; expected production or development."
            )

    @property
    def required_columns(self) -> list[str]:
        """Columns every row must carry (identity and optional columns excluded)."""
        columns: list[str] = []
        for ca in self.calculated_attributes:
            if not ca.optional:
                columns.extend(c for c in ca.columns if c not in columns)
        return columns

    __getstate__ = _state_without_plans

    @cached_property
    def _seeds(
        self,
    ) -> tuple[tuple[Callable[[Mapping[str, Any]], dict[str, Any] | None], str, str, str], ...]:
        """Per attribute, built once: its seed function, name, calculation type and cutoff date."""
        return tuple(
            (ca._seeder, ca.name, ca.calculation_type.value, ca.cutoff_date)
            for ca in self.calculated_attributes
        )

    def build(self, row: Mapping[str, Any], row_number: int) -> dict[str, Any]:
        """The user object for one row; raises :class:`SeedRowError` naming the row, column and reason."""
        if type(row) is not dict and not isinstance(row, Mapping):
            raise SeedRowError(
                row_number, "*", f"a row must be a mapping of column -> value, got {type(row).__name__}"
            )
        user: dict[str, Any] = {"environment": self.environment}
        if self.mpid_column:
            raw = row.get(self.mpid_column)
            if not _is_blank(raw):
                try:
                    mpid = _integer(raw, -(2**63), "mpid")
                except _Invalid:
                    raise SeedRowError(
                        row_number, self.mpid_column, "mpid must be a 64-bit integer"
                    ) from None
                if mpid > MAX_MPID:
                    raise SeedRowError(row_number, self.mpid_column, "mpid must be a 64-bit integer")
                user["mpid"] = mpid
        identities: dict[str, str] = {}
        for identity_type, column in self.identities.items():
            value = row.get(column)
            if type(value) is str:
                value = value.strip()
                if value:
                    identities[identity_type] = value
                continue
            if _is_blank(value):
                continue
            if isinstance(value, bool) or not isinstance(value, str | int):
                # Identity values are personal data: name the type, never echo the value.
                raise SeedRowError(row_number, column, f"identity {identity_type!r} must be a string")
            identities[identity_type] = str(value).strip() if isinstance(value, str) else str(value)
        if identities:
            user["identities"] = identities
        if "mpid" not in user and not identities:
            columns = [*([self.mpid_column] if self.mpid_column else []), *self.identities.values()]
            raise SeedRowError(
                row_number, ", ".join(columns), "no mpid and no identity: the user cannot be found"
            )
        seeds: list[dict[str, Any]] = []
        for seeder, name, calculation_type, cutoff_date in self._seeds:
            try:
                seed = seeder(row)
            except _Invalid as error:
                column, _, reason = str(error).partition(": ")
                raise SeedRowError(row_number, column.lstrip("@"), reason) from None
            if seed is not None:
                seeds.append(
                    {
                        "attribute_name": name,
                        "calculation_type": calculation_type,
                        "cutoff_date": cutoff_date,
                        "seed": seed,
                    }
                )
        if not seeds:
            seed_columns = ", ".join(c for ca in self.calculated_attributes for c in ca.columns)
            raise SeedRowError(row_number, seed_columns, "every seed of the row is empty")
        user["calculated_attributes"] = {"workspace": seeds}
        attributes: list[dict[str, Any]] = []
        for name, column in self.user_attributes.items():
            value = row.get(column)
            if type(value) is str:  # the common case, as _scalar takes it
                if value.strip():
                    attributes.append({"attribute_name": name, "attribute_value": value})
                continue
            if _is_blank(value):
                continue
            try:
                attributes.append({"attribute_name": name, "attribute_value": _scalar(value)})
            except _Invalid as error:
                raise SeedRowError(row_number, column, f"user attribute {name!r} {error}") from None
        if attributes:
            user["user_attributes"] = {"workspace": attributes}
        return user

    def describe(self) -> dict[str, Any]:
        """A JSON-able description (for resume keys and logs); holds column names only, no data."""
        return {
            "calculated_attributes": [ca.describe() for ca in self.calculated_attributes],
            "identities": dict(self.identities),
            "mpid_column": self.mpid_column,
            "user_attributes": dict(self.user_attributes),
            "environment": self.environment,
        }
