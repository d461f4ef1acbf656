"""Module paths of the flat ``client/`` layout (releases up to 0.x), kept importable with a warning.

``client/`` was 25 flat modules; it is now the HTTP core (:mod:`.core`) and one package per API. Code
that imports an old path, ``airflow_provider_mparticle.client.errors`` say, still works: the import finds
a module that serves the same names from where they live now, and a :class:`DeprecationWarning` names
the new path. There are no stub files: the old paths live in the table below only (as
``airflow.utils.deprecation_tools.add_deprecated_classes`` does for Airflow's own moved modules).

The old ``client.core``, ``client.seeding``, ``client.calculated_attributes``, ``client.warehouse_sync``
and ``client.data_planning`` are packages now and export their former names themselves, without a warning.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

_CLIENT = "airflow_provider_mparticle.client"

#: Old module (under ``client``) -> the modules that define its names now, searched in order.
MOVED: dict[str, tuple[str, ...]] = {
    "answers": ("core.answers", "core.messages"),
    "config": ("core.config",),
    "errors": ("core.errors",),
    "lazy": ("core.lazy",),
    "shared": ("core.shared",),
    "tokens": ("core.tokens",),
    "transport": ("core.transport",),
    "bulk_seeding": ("seeding.bulk", "seeding.pacing"),
    "pacing": ("seeding.pacing",),
    "seed_job": ("seeding.job",),
    "seed_mapping": ("seeding.mapping",),
    "seed_sources": ("seeding.sources",),
    "calculated_attribute_definitions": ("calculated_attributes.definitions",),
    "models": ("calculated_attributes.models",),
    "warehouse_sync_models": ("warehouse_sync.models",),
    "data_plan_documents": ("data_planning.documents",),
}


class _MovedModule(types.ModuleType):
    """An old path: each name is looked up, on first use, in the modules that define it now."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved: see {', '.join(targets)}.")
        self._targets = targets

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, name):
                value = getattr(module, name)
                setattr(self, name, value)
                return value
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for target in self._targets:
            names.update(n for n in dir(importlib.import_module(target)) if not n.startswith("_"))
        return sorted(names)


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = fullname.rpartition(".")
        if prefix != _CLIENT or old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        old = spec.name.rpartition(".")[2]
        targets = tuple(f"{_CLIENT}.{t}" for t in MOVED[old])
        warnings.warn(
            f"{spec.name} is deprecated: import from {' or '.join(targets)} instead.",
            DeprecationWarning,
            stacklevel=_caller_level(),
        )
        return _MovedModule(spec.name, targets)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def _caller_level() -> int:
    # The warning points at the first frame outside the import machinery: the user's import line.
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(("<frozen", __file__)):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def install() -> None:
    """Put the finder of the old paths on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
