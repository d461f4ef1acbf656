"""Calculated Attributes Seeding API: single and bulk seeds, HTTP Basic auth.

Implements https://docs.mparticle.com/developers/calculated-attributes-seeding-api/ .
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.messages import ApiRequest, ApiResponse, Call, Expect, encode_json

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport

SINGLE_PATH = "/v2/calculatedattributes"
# The documented answer of both seeding endpoints: 202 Accepted. A 200 or a redirect is someone else.
ACCEPTED = Expect(frozenset({202}), "empty")
BULK_PATH = "/v2/bulkcalculatedattributes"


@dataclass(frozen=True)
class SeedAck:
    """mParticle accepted a seed request (202).

    :param status_code: the status of the answer.
    :param rate_limit_percentage_used: the ``X-mp-rate-limit-percentage-used`` header, for pacing.
    """

    status_code: int
    rate_limit_percentage_used: float | None


def _ack(response: ApiResponse) -> SeedAck:
    return SeedAck(response.status_code, response.rate_limit_percentage_used)


def seed_user_call(settings: ClientSettings, user: Mapping[str, Any]) -> Call[SeedAck]:
    request = ApiRequest(
        "POST", settings.seeding_base_url + SINGLE_PATH, "basic", json=dict(user), expect=ACCEPTED
    )
    return Call(request, _ack)


def seed_users_call(settings: ClientSettings, users: Sequence[Mapping[str, Any]] | bytes) -> Call[SeedAck]:
    """A bulk request; ``users`` may be an already-encoded JSON array (bytes) whose size was measured."""
    content = users if isinstance(users, bytes) else encode_json([dict(u) for u in users])
    request = ApiRequest(
        "POST", settings.seeding_base_url + BULK_PATH, "basic", content=content, expect=ACCEPTED
    )
    return Call(request, _ack)


class SeedingApi:
    """Seeding API over the sync transport. All-or-nothing per request; a resent seed overwrites.

    :param transport: the transport that sends the calls.
    :param settings: the workspace's settings (hosts).
    """

    def __init__(self, transport: SyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self._settings = settings

    def seed_user(self, user: Mapping[str, Any]) -> SeedAck:
        """Send the seeds and user attributes of one user (``POST /v2/calculatedattributes``)."""
        return self._transport.execute(seed_user_call(self._settings, user))

    def seed_users(self, users: Sequence[Mapping[str, Any]] | bytes) -> SeedAck:
        """Send many users in one request (``POST /v2/bulkcalculatedattributes``)."""
        return self._transport.execute(seed_users_call(self._settings, users))


class AsyncSeedingApi:
    """Seeding API over the async transport."""

    def __init__(self, transport: AsyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self._settings = settings

    async def seed_user(self, user: Mapping[str, Any]) -> SeedAck:
        return await self._transport.execute(seed_user_call(self._settings, user))

    async def seed_users(self, users: Sequence[Mapping[str, Any]] | bytes) -> SeedAck:
        return await self._transport.execute(seed_users_call(self._settings, users))
