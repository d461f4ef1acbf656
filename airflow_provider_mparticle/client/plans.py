"""Plan, then apply: what deploying a definition kept as code would change, before anything is sent.

A :class:`ChangePlan` compares the definition in code with what the workspace holds, once against the
*live* definition (the one in use: an active calculated attribute, an evaluating AEP computed attribute,
a deployed data plan version) and once against the *draft* (what the next activation would make live),
and says what an apply would write. It is pure data: computing it sends nothing, and it renders as a
readable diff (:meth:`ChangePlan.text`) and as JSON for XCom (:meth:`ChangePlan.as_dict`).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from airflow_provider_mparticle.client.core.errors import MParticleError

LIVE = "live"
DRAFT = "draft"


class ChangeMode(StrEnum):
    """What a deploy operator does with its plan.

    ``apply`` makes the change (the default), ``plan`` only logs and returns the change, ``check`` fails
    when the live definition differs from code (for a DAG repository's CI or a nightly drift check).
    """

    APPLY = "apply"
    PLAN = "plan"
    CHECK = "check"

    @classmethod
    def parse(cls, value: Any, where: str = "mode") -> ChangeMode:
        """Read a mode, failing with the accepted values.

        :param value: ``apply``, ``plan`` or ``check`` (any case).
        :param where: the parameter's name, for the message.
        """
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(repr(m.value) for m in cls)
            raise MParticleError(f"{where}: {value!r} is not one of {names}.") from None


def json_lines(value: Any) -> list[str]:
    """A value as stable, indented JSON lines (keys sorted), the unit of a readable diff."""
    if value is None:
        return []
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def json_diff(before: Any, after: Any, before_label: str, after_label: str = "code") -> list[str]:
    """A unified diff of two JSON values (empty when they are equal).

    :param before: what the workspace holds (None: nothing).
    :param after: what code wants (None: nothing).
    :param before_label: the name of the workspace side (``live``, ``draft``).
    :param after_label: the name of the code side.
    """
    if before == after:
        return []
    diff = difflib.unified_diff(json_lines(before), json_lines(after), before_label, after_label, lineterm="")
    return list(diff)


class Plan(Protocol):
    """What the shared plan / check handling needs of a plan: a :class:`ChangePlan` or a plan of many
    objects (e.g. :class:`~airflow_provider_mparticle.client.warehouse_sync.documents.WarehouseSyncPlan`)."""

    @property
    def live_differs(self) -> bool: ...

    def drift(self) -> list[str]: ...

    def text(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Comparison:
    """Code compared with one definition in the workspace.

    :param against: :data:`LIVE` or :data:`DRAFT`.
    :param label: what was compared, in words (``active definition``, ``version 2``).
    :param lines: the readable diff; empty when the definition matches code.
    :param present: False when the workspace holds no such definition.
    """

    against: str
    label: str
    lines: tuple[str, ...] = ()
    present: bool = True

    @property
    def differs(self) -> bool:
        return not self.present or bool(self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "label": self.label,
            "present": self.present,
            "differs": self.differs,
            "diff": list(self.lines),
        }


@dataclass(frozen=True)
class ChangePlan:
    """What applying a definition kept as code would do to the workspace.

    :param subject: what the plan is about (``calculated attribute 'LTV' (id 3)``).
    :param action: what an apply does: ``create``, ``update`` or ``none``.
    :param writes: each write an apply would send, in words (empty for ``none``).
    :param comparisons: code against the live and the draft definitions.
    :param refusal: why an apply would be refused (without sending anything), or None.
    :param warnings: consequences worth knowing (e.g. seeds mParticle would delete).
    :param request: what an apply sends, for the code that applies the plan (not shown in the text).
    """

    subject: str
    action: str
    writes: tuple[str, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    refusal: str | None = None
    warnings: tuple[str, ...] = ()
    request: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def has_changes(self) -> bool:
        """Whether an apply would write anything."""
        return self.action != "none"

    @property
    def live_differs(self) -> bool:
        """Whether the live definition differs from code (also when nothing is live yet)."""
        live = [c for c in self.comparisons if c.against == LIVE]
        return not live or any(c.differs for c in live)

    def drift(self) -> list[str]:
        """One line per live definition that differs from code."""
        live = [c for c in self.comparisons if c.against == LIVE]
        if not live:
            return [f"{self.subject}: nothing is live"]
        return [
            f"{self.subject}: {c.label} " + ("is missing" if not c.present else "differs from code")
            for c in live
            if c.differs
        ]

    def text(self) -> str:
        """The plan as a readable, multi-line diff."""
        if self.refusal:
            head = f"{self.subject}: apply would be refused: {self.refusal}"
        elif self.action == "none":
            head = f"{self.subject}: no change"
        else:
            head = f"{self.subject}: apply would {self.action}"
        lines = [head]
        lines += [f"  will write: {w}" for w in self.writes]
        lines += [f"  warning: {w}" for w in self.warnings]
        for comparison in self.comparisons:
            where = f"{comparison.against} ({comparison.label})"
            if not comparison.present:
                lines.append(f"  against {where}: none in the workspace")
                lines += [f"    {line}" for line in comparison.lines]
            elif not comparison.lines:
                lines.append(f"  against {where}: matches code")
            else:
                lines.append(f"  against {where}:")
                lines += [f"    {line}" for line in comparison.lines]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON for XCom: action, writes, refusal, warnings, per-comparison diffs and the text."""
        return {
            "subject": self.subject,
            "action": self.action,
            "has_changes": self.has_changes,
            "live_differs": self.live_differs,
            "writes": list(self.writes),
            "refusal": self.refusal,
            "warnings": list(self.warnings),
            "comparisons": [c.as_dict() for c in self.comparisons],
            "text": self.text(),
        }
