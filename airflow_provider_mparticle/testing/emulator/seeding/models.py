"""Calculated Attributes Seeding API (``/v2/calculatedattributes``, ``/v2/bulkcalculatedattributes``).

Validates every user and seed (shape per calculation type, a matching and propagated CA definition) and
stores nothing unless the whole request is valid, as mParticle's bulk endpoint is all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.testing.emulator.calculated_attributes.models import normalize_type
from airflow_provider_mparticle.testing.emulator.errors import bad_request

if TYPE_CHECKING:
    from airflow_provider_mparticle.testing.emulator.calculated_attributes.models import (
        CalculatedAttributesBackend,
    )
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState


ENVIRONMENTS = ("production", "development")


VALUE_TYPES = {
    "count", "sum", "min", "max", "first_occurrence", "last_occurrence", "first_occurrence_timestamp",
    "last_occurrence_timestamp",
}  # fmt: skip


NUMERIC_TYPES = {"count", "sum", "min", "max", "first_occurrence_timestamp", "last_occurrence_timestamp"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def seed_errors(calculation_type: str, seed: Any) -> list[str]:
    """Problems of one seed object for its calculation type (messages without the CA name)."""
    if not isinstance(seed, dict):
        return ["Seed is required"]
    kind = normalize_type(calculation_type)
    if kind in VALUE_TYPES:
        if "value" not in seed or seed["value"] is None:
            return ["Seed value is required"]
        if kind in NUMERIC_TYPES and _number(seed["value"]) is None:
            return ["Seed value must be numeric"]
        if kind.endswith("_timestamp") and not float(seed["value"]).is_integer():
            return ["Seed value must be a UNIX epoch in milliseconds"]
        return []
    if kind in ("unique_list", "unique_values_count"):
        values = seed.get("list")
        if not isinstance(values, list) or not all(isinstance(v, str | int | float) for v in values):
            return ["Seed list must be an array of strings"]
        return []
    pairs = seed.get("key_value_pairs")
    if not isinstance(pairs, dict):
        return ["Seed key_value_pairs is required"]
    if kind == "average":
        errors = []
        if _number(pairs.get("sum")) is None:
            errors.append("Seed key_value_pairs.sum must be numeric")
        count = _number(pairs.get("count"))
        if count is None or count <= 0 or not count.is_integer():
            errors.append("Seed key_value_pairs.count must be a positive integer")
        return errors
    if not all(_number(v) is not None for v in pairs.values()):
        return ["Seed key_value_pairs values must be numeric counts"]
    return []


def user_key(user: dict[str, Any]) -> str:
    """The profile a seed lands on: the mpid when set (identities are then ignored), else the identities."""
    if user.get("mpid") is not None:
        return f"mpid:{user['mpid']}"
    identities = user.get("identities") or {}
    return "identities:" + json.dumps(identities, sort_keys=True, separators=(",", ":"))


class SeedingBackend:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        # user key -> CA name -> stored seed entry
        self.seeds: dict[str, dict[str, dict[str, Any]]] = {}
        self.user_attributes: dict[str, dict[str, Any]] = {}
        self.accepted_requests = 0
        self.accepted_users = 0

    def reset(self) -> None:
        self.seeds.clear()
        self.user_attributes.clear()
        self.accepted_requests = 0
        self.accepted_users = 0

    def snapshot(self) -> dict[str, Any]:
        return {"seeds": self.seeds, "user_attributes": self.user_attributes}

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()
        self.seeds.update(data.get("seeds") or {})
        self.user_attributes.update(data.get("user_attributes") or {})

    @property
    def cas(self) -> CalculatedAttributesBackend:
        return self.state.backends["calculated_attributes"]  # type: ignore[return-value]

    def drop_attribute(self, name: str) -> None:
        for per_user in self.seeds.values():
            per_user.pop(name, None)

    def _user_errors(self, user: Any, position: str) -> list[str]:
        if not isinstance(user, dict):
            return [f"{position}: user must be an object"]
        errors = []
        if user.get("environment") not in ENVIRONMENTS:
            errors.append(f"{position}: environment must be production or development")
        identities = user.get("identities")
        if identities and (
            not isinstance(identities, dict) or not all(isinstance(v, str) for v in identities.values())
        ):
            errors.append(f"{position}: identities must be an object of strings")
        elif user.get("mpid") is None and not identities:
            errors.append(f"{position}: Either mpid or identities is required")
        elif user.get("mpid") is not None and _number(user.get("mpid")) is None:
            errors.append(f"{position}: mpid must be numeric")
        container = user.get("calculated_attributes")
        cas = container.get("workspace") if isinstance(container, dict) else None
        if not isinstance(cas, list) or not cas:
            errors.append(f"{position}: calculated_attributes.workspace is required")
            return errors
        for item in cas:
            if not isinstance(item, dict) or not item.get("attribute_name"):
                errors.append(f"{position}: attribute_name is required")
                continue
            name = item["attribute_name"]
            # The documents spell the field both ways.
            cutoff = item.get("cutoff_date", item.get("cuttoff_date"))
            if not item.get("calculation_type"):
                errors.append(f"{name}: calculation_type is required")
                continue
            try:
                dt.date.fromisoformat(str(cutoff))
            except ValueError:
                errors.append(f"{name}: cutoff_date must be a date in yyyy-MM-dd format")
                continue
            _, reason = self.cas.seedable(name, item["calculation_type"], str(cutoff))
            if reason:
                errors.append(f"{name}: {reason}")
                continue
            errors.extend(f"{name}: {m}" for m in seed_errors(item["calculation_type"], item.get("seed")))
        attributes_container = user.get("user_attributes") or {}
        attributes = (
            attributes_container.get("workspace", []) if isinstance(attributes_container, dict) else None
        )
        if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and a.get("attribute_name") for a in attributes
        ):
            errors.append(f"{position}: user_attributes.workspace entries need attribute_name")
        return errors

    def accept(self, users: list[Any]) -> None:
        errors: list[str] = []
        for index, user in enumerate(users):
            errors.extend(self._user_errors(user, f"users[{index}]" if len(users) > 1 else "user"))
        if errors:
            # Deduplicated, in order: one bad CA across 100 users is one message per user otherwise.
            raise bad_request(list(dict.fromkeys(errors)))
        for user in users:
            key = user_key(user)
            per_user = self.seeds.setdefault(key, {})
            for item in user["calculated_attributes"]["workspace"]:
                per_user[item["attribute_name"]] = {
                    "calculation_type": normalize_type(item["calculation_type"]),
                    "cutoff_date": str(item.get("cutoff_date", item.get("cuttoff_date"))),
                    "seed": item["seed"],
                    "environment": user["environment"],
                }
            for attribute in (user.get("user_attributes") or {}).get("workspace", []):
                self.user_attributes.setdefault(key, {})[attribute["attribute_name"]] = attribute.get(
                    "attribute_value"
                )
        self.accepted_requests += 1
        self.accepted_users += len(users)

    def digest(self, attribute: str | None = None) -> dict[str, Any]:
        """An order-independent digest of (user, CA, seed): compare a whole load without listing it."""
        total = 0
        count = 0
        for key, per_user in self.seeds.items():
            for name, entry in per_user.items():
                if attribute is not None and name != attribute:
                    continue
                total ^= seed_fingerprint(key, name, entry["seed"])
                count += 1
        return {"seeds": count, "users": len(self.seeds), "digest": f"{total:032x}"}


def seed_fingerprint(user: str, attribute: str, seed: Any) -> int:
    """One (user, CA, seed) triple's 128-bit fingerprint; XOR over a load gives :meth:`SeedingBackend.digest`."""
    blob = json.dumps([user, attribute, seed], sort_keys=True, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=16).digest(), "big")
