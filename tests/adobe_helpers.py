"""Shared pieces of the Adobe tests: a valid definition and a minimal task context."""

from __future__ import annotations

from airflow_provider_mparticle.client.adobe import ComputedAttributeDefinition, Duration, DurationUnit

EXPRESSION = "xEvent[commerce.order.priceTotal > 0.0].sum(commerce.order.priceTotal)"


def definition(name: str = "lifetimeValue", **changes) -> ComputedAttributeDefinition:
    fields = {"name": name, "expression": EXPRESSION, "duration": Duration(7, DurationUnit.DAYS)}
    return ComputedAttributeDefinition(**{**fields, **changes})


class RecordingTI:
    """The part of a task instance the operators use: XCom pushes, and no earlier reschedule."""

    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}
        self.try_number = 1

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value

    def get_first_reschedule_date(self, context):
        return None


def context() -> dict:
    return {"ti": RecordingTI()}
