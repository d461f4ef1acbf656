"""Warehouse Sync emulator models: a run, how runs end (set through the control plane), and the stored
connections, data models and pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_mparticle.testing.emulator.errors import bad_request
from airflow_provider_mparticle.testing.emulator.state import Progress, iso

OUTCOMES = {"success", "failed", "stopped"}


@dataclass
class RunPlan:
    """How a pipeline's next runs end (set through the control plane)."""

    outcome: str = "success"
    errors: list[str] = field(default_factory=list)
    successful_records: int = 100
    failed_records: int = 0
    retrying: bool = False
    hold: bool = False
    # Seconds the trigger holds its answer after creating the run (released early through the control plane).
    answer_delay: float = 0.0


@dataclass
class StoredRun:
    id: int
    pipeline_id: str
    type: str
    logical_date: float
    range_start: float
    range_end: float
    progress: Progress
    plan: RunPlan
    held: bool = False
    finished_at: float | None = None

    def fraction(self, now: float, read: bool) -> float:
        fraction = self.progress.read(now) if read else self.progress.fraction(now)
        return min(fraction, 0.99) if self.held else fraction

    def status(self, now: float, read: bool = False) -> str:
        fraction = self.fraction(now, read)
        if fraction >= 1.0:
            if self.finished_at is None:
                self.finished_at = now
            return self.plan.outcome
        if fraction <= 0.0:
            return "queued"
        if self.plan.retrying and fraction >= 0.5:
            return "retrying"
        return "running"

    def as_json(self, now: float, read: bool = True) -> dict[str, Any]:
        status = self.status(now, read)
        done = status in OUTCOMES
        started = self.progress.started_at
        return {
            "id": self.id,
            "pipeline_id": self.pipeline_id,
            "type": self.type,
            "status": status,
            "errors": [{"message": m} for m in self.plan.errors] if status in ("failed", "stopped") else [],
            "logical_date": iso(self.logical_date),
            "started_on": iso(started) if status != "queued" else None,
            "ended_on": iso(self.finished_at or now) if done else None,
            "range_start": iso(self.range_start),
            "range_end": iso(self.range_end),
            "successful_records": self.plan.successful_records if done else 0,
            "failed_records": self.plan.failed_records if done else 0,
        }


@dataclass
class StoredResource:
    """A connection or data model: the body as sent, plus timestamps and an injected fault."""

    body: dict[str, Any]
    created_on: float
    modified_on: float | None = None
    fault: list[str] = field(default_factory=list)


def run_plan(body: dict[str, Any], base: RunPlan | None = None) -> RunPlan:
    """A run plan from a control request's body, unset fields taken from ``base``."""
    base = base or RunPlan()
    outcome = body.get("outcome", base.outcome)
    if outcome not in OUTCOMES:
        raise bad_request(f"outcome must be one of {', '.join(sorted(OUTCOMES))}.")
    errors = body.get("errors", base.errors)
    if isinstance(errors, str):
        errors = [errors]
    return RunPlan(
        outcome=outcome,
        errors=[str(e) for e in errors or []],
        successful_records=int(body.get("successful_records", base.successful_records)),
        failed_records=int(body.get("failed_records", base.failed_records)),
        retrying=bool(body.get("retrying", base.retrying)),
        hold=bool(body.get("hold", base.hold)),
        answer_delay=float(body.get("answer_delay", base.answer_delay)),
    )
