"""An in-memory stand-in for Airflow 3.3's ``context["task_state_store"]``, kept across attempts."""

from __future__ import annotations

from typing import Any


class TaskStateStore:
    """``get`` / ``set`` as the Task SDK's store offers them; the values survive between attempts."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.values[key] = value
