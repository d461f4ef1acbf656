"""What the package says it supports is what CI runs, and the API reference documents every module."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from airflow_provider_mparticle.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_the_classifiers_name_has_a_ci_step():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        c.rpartition(":: ")[2] for c in project["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)
    }
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    default = re.search(r"^PYTHON \?= python(3\.\d+)$", (ROOT / "Makefile").read_text(), re.M)
    # The steps that name no PYTHON (test-lowest) run on the Makefile's default.
    tested = set(re.findall(r"PYTHON=python(3\.\d+)", ci)) | {default.group(1)}
    assert declared == {"3.11", "3.12", "3.13"}
    assert tested == declared
    assert project["requires-python"] == ">=3.11"


def test_the_api_reference_documents_every_listed_module():
    info = get_provider_info()
    listed = {
        m
        for kind in ("hooks", "operators", "sensors", "triggers")
        for e in info[kind]
        for m in e["python-modules"]
    }
    documented = set()
    for page in (ROOT / "docs" / "reference").glob("*.rst"):
        documented |= set(re.findall(r"^\.\. automodule:: (\S+)$", page.read_text(encoding="utf-8"), re.M))
    assert len(listed) >= 10
    assert sorted(listed - documented) == []


def test_every_how_to_links_to_the_reference():
    for page in sorted((ROOT / "docs" / "howto").glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        assert re.search(r":class:`~airflow_provider_mparticle\.\w+\.\w+\.\w+`", text), page.name
