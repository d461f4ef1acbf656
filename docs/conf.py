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

extensions = ["sphinx.ext.autodoc", "provider_docs"]
# The API reference (docs/reference/): members in source order, signatures with their defaults and the
# types in each parameter's description; docstrings are reST field lists (``:param x:``).
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
# Airflow's docstrings of the methods a class overrides (execute, poke, run...) are not repeated here.
autodoc_inherit_docstrings = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "Apache Airflow provider for mParticle", "fixed_sidebar": True}
html_title = f"{project} {release}"
# Quoted example code is Python unless a directive says otherwise.
highlight_language = "python"
