"""An OpenLineage transport that keeps the events in memory, for tests (``type`` = this class's path)."""

from __future__ import annotations

from typing import Any, ClassVar

from openlineage.client.transport.transport import Config, Transport


class CollectingConfig(Config):
    pass


class CollectingTransport(Transport):
    """Appends every emitted event to ``CollectingTransport.events`` (shared by all instances)."""

    kind = "collecting"
    config_class = CollectingConfig
    events: ClassVar[list[Any]] = []

    def __init__(self, config: CollectingConfig) -> None:
        pass

    def emit(self, event: Any) -> None:
        CollectingTransport.events.append(event)
