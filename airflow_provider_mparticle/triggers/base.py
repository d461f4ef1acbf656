"""Triggers that poll a remote resource until it is done, failed, or a deadline passes.

One base for every service the provider talks to: a trigger names its hook class, and the base gets
the async client from it, polls, and turns errors and the deadline into events.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mparticle.client.core.errors import MParticleError, MParticleNotFoundError
from airflow_provider_mparticle.events import error_reason, make_event
from airflow_provider_mparticle.hooks.mparticle import MParticleHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_mparticle.client import AsyncMParticleClient  # noqa: F401 (a base-class argument)
    from airflow_provider_mparticle.hooks.base import BaseApiClientHook

ClientT = TypeVar("ClientT")
#: seconds after which an unchanged state is logged again, so that a long wait still shows it is alive
PROGRESS_LOG_SECONDS = 600.0


class BaseApiPollingTrigger(BaseTrigger, Generic[ClientT]):
    """Poll with the hook's async client; yield one event: the subclass's outcome, an error, or ``timeout``.

    The deadline is absolute (epoch seconds), so a triggerer restart does not extend the wait, and
    reaching it yields a ``timeout`` event that the task handles, unlike the framework's own timeout.
    The client is made once per run: its OAuth token is cached and refreshed before expiry, so waits of
    days outlive the tokens.

    A resource that does not exist gives an ``error`` event with ``reason: not_found``; a request that
    failed past the client's retries gives an ``error`` event, with ``reason: transient`` for 5xx, 429 and
    network errors (the task is then retried, as in poke mode).

    :param conn_id: the connection of the hook class (serialized under the hook's ``conn_name_attr``).
    :param deadline: epoch seconds after which the trigger gives up with a ``timeout`` event.
    :param poll_interval: seconds between polls.
    """

    #: the hook that turns the connection into an async client
    hook_class: ClassVar[type[BaseApiClientHook[Any, Any, Any]]]

    def __init__(self, *, conn_id: str, deadline: float, poll_interval: float = 60.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = str(conn_id)
        self.deadline = float(deadline)
        self.poll_interval = float(poll_interval)
        self._progress: tuple[str, float] | None = None

    def log_progress(self, text: str) -> None:
        """Log how the wait stands when it changes, and every :data:`PROGRESS_LOG_SECONDS` while it does not.

        A triggerer polling a thousand waits would otherwise write a thousand unchanged lines per poll.
        """
        now = time.monotonic()
        if (
            self._progress is None
            or self._progress[0] != text
            or now - self._progress[1] >= PROGRESS_LOG_SECONDS
        ):
            self.log.info("%s", text)
            self._progress = (text, now)

    def serialize_fields(self) -> dict[str, Any]:
        """The subclass's own constructor arguments (JSON primitives only)."""
        return {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.serialize_fields(),
                self.hook_class.conn_name_attr: self.conn_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
            },
        )

    def event_fields(self) -> dict[str, Any]:
        """Payload carried by every event this trigger sends, whatever its status."""
        return {}

    def event(self, status: str, message: str, **payload: Any) -> TriggerEvent:
        """An event (see :mod:`~airflow_provider_mparticle.events`) with :meth:`event_fields` added."""
        return TriggerEvent(make_event(status, message, **{**self.event_fields(), **payload}))  # type: ignore[no-untyped-call]

    async def get_client(self) -> ClientT:
        """The async client for this run; closed with ``aclose()`` when the run ends."""
        client: ClientT = await self.hook_class(self.conn_id).aget_client()  # type: ignore[call-arg]
        return client

    async def poll(self, client: ClientT) -> TriggerEvent | None:
        """Look once; return the final event (made with :meth:`event`), or None to keep waiting."""
        raise NotImplementedError

    def describe(self) -> str:
        """What is being waited for, for messages."""
        return type(self).__name__

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            client = await self.get_client()
        except MParticleError as error:
            yield self.event("error", f"{self.describe()}: {error}")
            return
        try:
            while True:
                try:
                    outcome = await self.poll(client)
                except MParticleNotFoundError as error:
                    yield self.event("error", f"{self.describe()} not found: {error}", reason="not_found")
                    return
                except MParticleError as error:
                    # Retried by the client already; a transient one is retried by Airflow, as in poke mode.
                    yield self.event("error", f"{self.describe()}: {error}", **error_reason(error))
                    return
                if outcome is not None:
                    yield outcome
                    return
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield self.event("timeout", f"{self.describe()}: {self.still_waiting()} at the deadline.")
                    return
                await asyncio.sleep(min(self.poll_interval, remaining))
        finally:
            await client.aclose()  # type: ignore[attr-defined]

    def still_waiting(self) -> str:
        """How the resource stands when the deadline passes, for the ``timeout`` message."""
        return "still not finished"


class MParticleBasePollingTrigger(BaseApiPollingTrigger["AsyncMParticleClient"]):
    """A polling trigger on the ``mparticle`` connection.

    :param mparticle_conn_id: the ``mparticle`` connection.
    :param deadline: epoch seconds after which the trigger gives up with a ``timeout`` event.
    :param poll_interval: seconds between polls.
    """

    hook_class = MParticleHook

    def __init__(self, *, mparticle_conn_id: str, deadline: float, poll_interval: float = 60.0) -> None:
        super().__init__(conn_id=mparticle_conn_id, deadline=deadline, poll_interval=poll_interval)

    @property
    def mparticle_conn_id(self) -> str:
        return self.conn_id


def __getattr__(name: str) -> Any:
    # The bases' names before they said they are bases; kept for subclasses that import them.
    renamed_bases: dict[str, type[BaseTrigger]] = {
        "ApiPollingTrigger": BaseApiPollingTrigger,
        "MParticlePollingTrigger": MParticleBasePollingTrigger,
    }
    if name in renamed_bases:
        from airflow_provider_mparticle.deprecations import renamed

        return renamed(__name__, name, renamed_bases[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
