"""Testing helpers: the local mParticle emulator and pytest fixtures for DAG authors."""

from __future__ import annotations
