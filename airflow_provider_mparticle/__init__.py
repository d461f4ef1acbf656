"""Apache Airflow provider for mParticle."""

from __future__ import annotations

__version__ = "0.1.0"
