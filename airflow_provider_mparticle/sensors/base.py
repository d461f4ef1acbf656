"""Sensor bases that work in poke, reschedule and deferrable modes alike, for every service."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.hooks.mparticle import MParticleHook

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_mparticle.hooks.base import BaseApiClientHook

HookT = TypeVar("HookT", bound="BaseApiClientHook[Any, Any, Any]")


class BaseApiClientSensor(BaseSensorOperator, Generic[HookT]):
    """Sensor base: ``poke()`` decides; in deferrable mode a trigger waits, making the first check itself.

    Subclasses name their hook class (whose ``conn_name_attr`` is the sensor's connection argument) and
    the trigger that waits for the same condition as ``poke()``. The trigger gets an absolute deadline of
    now + ``timeout`` and answers with a ``timeout`` event at that deadline. Every way the wait can end
    ends the same in every mode: a terminal failure (``AirflowFailException``) or the timeout fails the
    task, or skips it with ``soft_fail``; a transient error (5xx, 429, network) is retried, never skipped.

    With ``deferrable=True`` the task defers at once: it requests no token and makes no API call on the
    worker, and the trigger's first poll, made as soon as a triggerer runs it, is the first check. A
    condition already met ends the task after that one poll (the task resumes on a worker to finish).

    :param deferrable: free the worker slot while waiting (default: ``[operators] default_deferrable``).
    :param check_before_defer: with ``deferrable``, check once on the worker first and defer only when the
        condition is not met yet (what 0.1.0 always did). It saves the trip through the triggerer when the
        condition is usually met already, and costs one OAuth token request and one API call per task
        on the worker (a task process lives for one task, so its token is not reused): a fan-out of 1,000
        waits then fetches 1,000 tokens at once, where deferred at once they share one token per
        credential per triggerer process.
    """

    #: the hook that turns the sensor's connection into clients
    hook_class: ClassVar[type[BaseApiClientHook[Any, Any, Any]]]
    #: raised for ``failed`` events (an ``AirflowFailException``, so that ``soft_fail`` skips)
    failure_class: ClassVar[type[AirflowFailException]] = MParticleTaskFailure
    #: payload keys a success event must carry; checked on resume
    required_event_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        check_before_defer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.check_before_defer = check_before_defer

    @property
    def conn_id(self) -> str:
        """The (rendered) connection id, read from the hook's ``conn_name_attr`` argument."""
        conn_id: str = getattr(self, self.hook_class.conn_name_attr)
        return conn_id

    def get_hook(self) -> HookT:
        """A hook on the sensor's connection."""
        hook: HookT = self.hook_class(self.conn_id)  # type: ignore[call-arg,assignment]
        return hook

    def make_trigger(self, deadline: float) -> BaseTrigger:
        """The trigger that waits for the same condition as ``poke()``."""
        raise NotImplementedError

    def before_defer(self, context: Context) -> None:
        """What the task does on the worker before it defers without a check; it must not call the API.

        The default does nothing; a subclass publishes here what it knows without a call (an extra link).
        """

    def on_success_event(self, event: dict[str, Any], context: Context) -> Any:
        """The task's return value from a success event."""
        return None

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        deadline = time.time() + float(self.timeout)
        try:
            if self.check_before_defer:
                # One look first: a condition already met (or failed) needs no trip to the triggerer.
                result = self.poke(context)
                if result:
                    return result.xcom_value if isinstance(result, PokeReturnValue) else None
            else:
                self.before_defer(context)
            trigger = self.make_trigger(deadline)
        except (AirflowFailException, AirflowSensorTimeout) as error:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
            raise
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume from the trigger (see :meth:`resume`)."""
        return self.resume(context, event)

    def resume(self, context: Context, event: Any) -> Any:
        """Validate the event, then succeed, retry (transient error), fail or time out (or skip)."""
        from airflow_provider_mparticle.events import resume

        def timed_out(message: str) -> AirflowSensorTimeout:
            return AirflowSensorTimeout(f"Sensor timed out after {self.timeout} s: {message}")

        event = resume(
            event,
            self.required_event_keys,
            soft_fail=self.soft_fail,
            on_timeout=timed_out,
            on_failure=self.failure_class,
        )
        self.log.info("%s", event["message"])
        return self.on_success_event(event, context)


class MParticleBaseSensor(BaseApiClientSensor[MParticleHook]):
    """A sensor on the ``mparticle`` connection.

    :param mparticle_conn_id: the ``mparticle`` connection (templated).
    :param deferrable: free the worker slot while waiting (default: ``[operators] default_deferrable``).
    :param check_before_defer: with ``deferrable``, check once on the worker before deferring (one token
        and one API call per task; see :class:`BaseApiClientSensor`).
    """

    hook_class = MParticleHook
    template_fields: Sequence[str] = ("mparticle_conn_id",)

    def __init__(self, *, mparticle_conn_id: str = MParticleHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mparticle_conn_id = mparticle_conn_id


def __getattr__(name: str) -> Any:
    # The base's name before it said it is one; kept for DAGs and subclasses that import it.
    if name == "ApiClientSensor":
        from airflow_provider_mparticle.deprecations import renamed

        return renamed(__name__, name, BaseApiClientSensor)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
