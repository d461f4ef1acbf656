"""Directives that render the docs from the code, so that the two cannot drift.

``.. connection-fields:: mparticle`` (or ``adobe_aep``) renders the connection type's extra fields from
the declarations ``get_provider_info()`` publishes; ``.. result-figures:: benchmarks/results/x.json``
renders the figures a benchmark or the reliability suite last wrote. In the API reference, every
operator's and sensor's docstring ends with the fields Airflow renders as templates (its
``template_fields``, and the file extensions of ``template_ext``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList

ROOT = Path(__file__).resolve().parents[2]


def _table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


class _Generated(Directive):
    required_arguments = 1

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(
            StringList(self.lines(), source=self.arguments[0]), self.content_offset, container
        )
        return container.children


class ConnectionFields(_Generated):
    """The extra fields of one connection type: name, form label, type, default, what it is for."""

    def lines(self) -> list[str]:
        from airflow_provider_mparticle.get_provider_info import get_provider_info

        types = {ct["connection-type"]: ct for ct in get_provider_info()["connection-types"]}
        fields: dict[str, Any] = types[self.arguments[0]]["conn-fields"]
        rows = []
        for name, field in fields.items():
            schema = field["schema"]
            kind = "secret" if schema.get("format") == "password" else schema["type"][0]
            if "enum" in schema:
                kind = " / ".join(f"``{value}``" for value in schema["enum"])
            default = f"``{json.dumps(schema['default'])}``" if "default" in schema else ""
            rows.append([f"``{name}``", field["label"], kind, default, field.get("description", "")])
        return _table(["extra", "form label", "type", "default", "what it is for"], rows, "15 20 10 10 45")


class ResultFigures(_Generated):
    """The top-level figures of a results file written by ``make bench`` or ``make reliability``.

    ``:prefix: celery_`` keeps only the figures whose name starts with it.
    """

    option_spec = {"prefix": directives.unchanged}

    def lines(self) -> list[str]:
        path = ROOT / self.arguments[0]
        self.state.document.settings.record_dependencies.add(str(path))
        figures = json.loads(path.read_text(encoding="utf-8"))
        prefix = self.options.get("prefix", "")
        rows = [
            [
                f"``{key}``",
                f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value),
            ]
            for key, value in figures.items()
            if not isinstance(value, dict | list) and key.startswith(prefix)
        ]
        if not rows:
            raise self.error(f"No figure in {self.arguments[0]} starts with {prefix!r}.")
        return _table(["figure", "value"], rows, "60 40")


def template_fields(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Append a class's ``template_fields`` (and ``template_ext``) to its autodoc docstring."""
    fields = getattr(obj, "template_fields", None) if what == "class" else None
    if not fields:
        return
    lines += ["", "**Templated fields:** " + ", ".join(f"``{field}``" for field in fields) + "."]
    extensions = getattr(obj, "template_ext", ())
    if extensions:
        lines.append(
            "A templated value ending in "
            + ", ".join(f"``{ext}``" for ext in extensions)
            + " names a file whose rendered content is used."
        )


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", template_fields)
    app.add_directive("connection-fields", ConnectionFields)
    app.add_directive("result-figures", ResultFigures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
