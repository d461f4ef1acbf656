"""A base for triggers that poll an mParticle resource until it is done, failed, or a deadline passes."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mparticle.events import error_reason, make_event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_mparticle.client import AsyncMParticleClient


class MParticlePollingTrigger(BaseTrigger):
    """Poll with the async client; yield one event: the subclass's outcome, an error, or ``timeout``.

    The deadline is absolute (epoch seconds), so a triggerer restart does not extend the wait, and
    reaching it yields a ``timeout`` event that the task handles, unlike the framework's own timeout.
    The client is made once per run: its OAuth token is cached and refreshed before expiry, so waits of
    days outlive the 8-hour tokens.

    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deadline: epoch seconds after which the trigger gives up with a ``timeout`` event.
    :param poll_interval: seconds between polls.
    """

    def __init__(self, *, mparticle_conn_id: str, deadline: float, poll_interval: float = 60.0) -> None:
        super().__init__()
        self.mparticle_conn_id = mparticle_conn_id
        self.deadline = float(deadline)
        self.poll_interval = float(poll_interval)

    def serialize_fields(self) -> dict[str, Any]:
        """The subclass's own constructor arguments (JSON primitives only)."""
        return {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.serialize_fields(),
                "mparticle_conn_id": self.mparticle_conn_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
            },
        )

    async def poll(self, client: AsyncMParticleClient) -> dict[str, Any] | None:
        """Look once; return the final event payload (see :mod:`~airflow_provider_mparticle.events`) or None."""
        raise NotImplementedError

    def describe(self) -> str:
        """What is being waited for, for messages."""
        return type(self).__name__

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_mparticle.client import MParticleError, MParticleNotFoundError
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        try:
            client = await MParticleHook(self.mparticle_conn_id).aget_client()
        except MParticleError as error:
            yield TriggerEvent(make_event("error", f"{self.describe()}: {error}"))
            return
        try:
            while True:
                try:
                    outcome = await self.poll(client)
                except MParticleNotFoundError as error:
                    yield TriggerEvent(
                        make_event("error", f"{self.describe()} not found: {error}", reason="not_found")
                    )
                    return
                except MParticleError as error:
                    # Retried by the client already; a transient one is retried by Airflow, as in poke mode.
                    yield TriggerEvent(
                        make_event("error", f"{self.describe()}: {error}", **error_reason(error))
                    )
                    return
                if outcome is not None:
                    yield TriggerEvent(outcome)
                    return
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield TriggerEvent(
                        make_event("timeout", f"{self.describe()}: still not finished at the deadline.")
                    )
                    return
                await asyncio.sleep(min(self.poll_interval, remaining))
        finally:
            await client.aclose()
