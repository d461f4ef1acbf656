"""Typed values shared by the API modules: calculation types and their seed shapes."""

from __future__ import annotations

from enum import StrEnum


class SeedShape(StrEnum):
    """Which field of a seed object carries the value, per the seeding API's table."""

    VALUE = "value"
    KEY_VALUE_PAIRS = "key_value_pairs"
    LIST = "list"


class CalculationType(StrEnum):
    """Calculation types of a calculated attribute.

    The Platform API names them ``min`` / ``max`` and the seeding API's table ``minimum`` / ``maximum``;
    both spellings are accepted by :meth:`parse` and compared equal.
    """

    COUNT = "count"
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    AVERAGE = "average"
    FIRST_OCCURRENCE = "first_occurrence"
    LAST_OCCURRENCE = "last_occurrence"
    FIRST_OCCURRENCE_TIMESTAMP = "first_occurrence_timestamp"
    LAST_OCCURRENCE_TIMESTAMP = "last_occurrence_timestamp"
    UNIQUE_LIST = "unique_list"
    UNIQUE_VALUES_COUNT = "unique_values_count"
    MOST_FREQUENT = "most_frequent"

    @classmethod
    def parse(cls, value: str) -> CalculationType:
        """Read a calculation type, accepting the ``minimum`` / ``maximum`` aliases; ValueError otherwise."""
        key = str(value).strip().lower()
        key = _ALIASES.get(key, key)
        return cls(key)

    @property
    def seed_shape(self) -> SeedShape:
        if self in (CalculationType.AVERAGE, CalculationType.MOST_FREQUENT):
            return SeedShape.KEY_VALUE_PAIRS
        if self in (CalculationType.UNIQUE_LIST, CalculationType.UNIQUE_VALUES_COUNT):
            return SeedShape.LIST
        return SeedShape.VALUE

    @property
    def is_numeric(self) -> bool:
        """Types whose single seed value must be a number."""
        return self in (CalculationType.COUNT, CalculationType.SUM, CalculationType.MIN, CalculationType.MAX)

    @property
    def is_timestamp(self) -> bool:
        """Types whose seed is a UNIX epoch in milliseconds."""
        return self in (
            CalculationType.FIRST_OCCURRENCE_TIMESTAMP,
            CalculationType.LAST_OCCURRENCE_TIMESTAMP,
        )


_ALIASES = {"minimum": "min", "maximum": "max"}
