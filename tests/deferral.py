"""Run a deferrable task as Airflow does, counting what each part asks of the emulator.

Airflow runs a deferred task in three parts: ``execute()`` on a worker up to ``TaskDeferred``, the
trigger in a triggerer, then the method the task named, on a worker again, in a new process with a new
operator object. :func:`run_deferred` runs them in that order against the emulator, over real HTTP, and
reads from the emulator's journal which requests each part made: the worker part starts with an empty
token cache, as a new task process does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_mparticle.client.core.tokens import clear_token_cache
from airflow_provider_mparticle.testing.emulator.adobe.models import TOKEN_PATH as IMS_TOKEN_PATH

TOKEN_PATHS = ("/oauth/token", IMS_TOKEN_PATH)


@dataclass
class Requests:
    """The requests one part of a task made: token requests apart from the API calls."""

    tokens: int = 0
    calls: list[str] = field(default_factory=list)

    @classmethod
    def since(cls, control: Any, mark: int) -> Requests:
        seen = cls()
        for entry in control.journal(bodies=False, since=mark):
            if entry["path"] in TOKEN_PATHS:
                seen.tokens += 1
            else:
                seen.calls.append(f"{entry['method']} {entry['path']}")
        return seen


def mark(control: Any) -> int:
    """The emulator's request count now, to read the journal from."""
    count: int = control.stats()["requests"]
    return count


@dataclass
class DeferredRun:
    """What each part of a deferred task did, and how it ended."""

    deferred: TaskDeferred
    worker: Requests
    trigger: Requests
    event: dict[str, Any]
    resume: Requests
    result: Any = None
    error: BaseException | None = None


def defer(task: Any, context: dict[str, Any], control: Any) -> tuple[TaskDeferred, Requests]:
    """``execute()`` as a new task process runs it (no token cached), which must defer."""
    clear_token_cache()
    start = mark(control)
    with pytest.raises(TaskDeferred) as info:
        task.execute(context)
    return info.value, Requests.since(control, start)


def first_event(deferred: TaskDeferred) -> dict[str, Any]:
    """The event the trigger sends (it sends one), run as the triggerer runs it: in an event loop."""

    async def collect() -> dict[str, Any]:
        async for event in deferred.trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(collect())


def run_deferred(
    make: Callable[[], Any],
    context: dict[str, Any],
    control: Any,
    before_trigger: Callable[[TaskDeferred], Any] | None = None,
) -> DeferredRun:
    """Run ``make()``'s task through a deferral: worker, triggerer, worker.

    ``before_trigger(deferred)`` runs between the worker part and the trigger. The resumed part runs on
    a new task object, as in a new process; an exception it raises (a failure, a skip) is kept in
    ``error``.
    """
    deferred, worker = defer(make(), context, control)
    if before_trigger is not None:
        before_trigger(deferred)
    clear_token_cache()  # a triggerer is another process
    start = mark(control)
    event = first_event(deferred)
    trigger = Requests.since(control, start)
    clear_token_cache()
    start = mark(control)
    run = DeferredRun(deferred, worker, trigger, event, Requests())
    try:
        run.result = make().resume_execution(
            deferred.method_name, {**(deferred.kwargs or {}), "event": event}, context
        )
    except Exception as error:  # kept for the test to look at
        run.error = error
    run.resume = Requests.since(control, start)
    return run
