"""Old public names kept after a rename: they still work, with a warning that names the new one."""

from __future__ import annotations

import warnings
from typing import TypeVar

T = TypeVar("T")


def renamed(module: str, old: str, new: T) -> T:
    """``new`` under its old name ``module.old``, with an ``AirflowProviderDeprecationWarning``.

    Called from a module's ``__getattr__``, so the warning points at the line that imports the old name.
    """
    from airflow.exceptions import AirflowProviderDeprecationWarning

    warnings.warn(
        f"{module}.{old} is deprecated: use {module}.{new.__name__}",  # type: ignore[attr-defined]
        AirflowProviderDeprecationWarning,
        stacklevel=3,
    )
    return new
