"""Calculated Attributes Seeding API: the calls (:mod:`.api`), and seeding at scale: the mapping of
rows to users (:mod:`.mapping`), the row sources (:mod:`.sources`), the bulk sender (:mod:`.bulk`),
the pacer (:mod:`.pacing`) and one load from start to end (:mod:`.job`).

The names of the former ``client.seeding`` module are importable from here, loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.seeding.api import (
        ACCEPTED,
        BULK_PATH,
        SINGLE_PATH,
        AsyncSeedingApi,
        SeedAck,
        SeedingApi,
        seed_user_call,
        seed_users_call,
    )

# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "ACCEPTED": "airflow_provider_mparticle.client.seeding.api",
    "AsyncSeedingApi": "airflow_provider_mparticle.client.seeding.api",
    "BULK_PATH": "airflow_provider_mparticle.client.seeding.api",
    "SINGLE_PATH": "airflow_provider_mparticle.client.seeding.api",
    "SeedAck": "airflow_provider_mparticle.client.seeding.api",
    "SeedingApi": "airflow_provider_mparticle.client.seeding.api",
    "seed_user_call": "airflow_provider_mparticle.client.seeding.api",
    "seed_users_call": "airflow_provider_mparticle.client.seeding.api",
}

__all__ = [
    "ACCEPTED",
    "BULK_PATH",
    "SINGLE_PATH",
    "AsyncSeedingApi",
    "SeedAck",
    "SeedingApi",
    "seed_user_call",
    "seed_users_call",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
