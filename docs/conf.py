"""Sphinx configuration of the airflow-provider-mparticle documentation (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from airflow_provider_mparticle import __version__  # noqa: E402

project = "airflow-provider-mparticle"
author = "The airflow-provider-mparticle developers"
copyright = "2026, the airflow-provider-mparticle developers"
version = release = __version__

extensions = ["provider_docs"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "Apache Airflow provider for mParticle", "fixed_sidebar": True}
html_title = f"{project} {release}"
# Quoted example code is Python unless a directive says otherwise.
highlight_language = "python"
