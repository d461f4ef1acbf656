"""A stateful local emulator of the mParticle APIs this provider drives."""

from __future__ import annotations

from airflow_provider_mparticle.testing.emulator.app import create_app
from airflow_provider_mparticle.testing.emulator.control_client import EmulatorControl
from airflow_provider_mparticle.testing.emulator.server import EmulatorServer
from airflow_provider_mparticle.testing.emulator.state import EmulatorSettings

__all__ = ["EmulatorControl", "EmulatorServer", "EmulatorSettings", "create_app"]
