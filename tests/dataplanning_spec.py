"""Checks requests and answers against mParticle's Data Planning OpenAPI spec.

The spec is read with ``yaml.safe_load`` and its ``$ref``s resolved with ``referencing``. Three
OpenAPI 3.0 constructs plain JSON Schema does not know are translated, and nothing else is relaxed:

- ``nullable: true`` becomes a ``null`` alternative;
- message ``enum``s written as templates (``"The specified plan ID {plan_id} ..."``) become patterns;
- ``format: date-time`` is checked as RFC 3339 (a zone is required).

- ``BadSchema``'s ``oneOf: [SchemaErrorList, ErrorList]`` is read as ``anyOf``: every SchemaErrorList is
  also an ErrorList, so as written no detailed schema error could ever conform.

The spec leaves 404 out of get-plan and create-plan-version although a missing plan can only answer
that; there, the checker uses the spec's ``DataPlanNotFound`` answer.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

# mParticle's published spec, copied unchanged (https://docs.mparticle.com/developers/apis/dataplanning-api/).
SPEC_PATH = Path(__file__).parent / "specs" / "mparticle.dataplanning.oas.yaml"
URI = "urn:mparticle:dataplanning-oas"
PREFIX = re.compile(r"^/platform/v2/workspaces/[^/]+/plans")
UNDOCUMENTED = {404: {"$ref": f"{URI}#/components/responses/DataPlanNotFound"}}


def _translate(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _translate(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        enum = node.get("enum")
        if isinstance(enum, list) and any(isinstance(e, str) and "{" in e for e in enum):
            patterns = []
            for item in enum:
                text = re.sub(r"\s+", " ", item.strip())
                parts = re.split(r"\{[^}]+\}", text)
                patterns.append("^" + ".+".join(re.escape(p) for p in parts) + "$")
            del node["enum"]
            node["anyOf"] = [{"pattern": p} for p in patterns]
        return node
    if isinstance(node, list):
        return [_translate(v) for v in node]
    return node


format_checker = FormatChecker()


@format_checker.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]


class SpecError(AssertionError):
    pass


class DataPlanningSpec:
    """The spec, with ``check_request`` and ``check_response`` for one API call each."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or SPEC_PATH
        self.document = _translate(yaml.safe_load(path.read_text(encoding="utf-8")))
        bad_schema = self.document["components"]["responses"]["BadSchema"]["content"]["application/json"]
        bad_schema["schema"] = {"anyOf": bad_schema["schema"].pop("oneOf")}
        self.registry = Registry().with_resource(URI, Resource(contents=self.document, specification=DRAFT7))
        self.operations: list[Operation] = []
        for template, item in self.document["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.rstrip("/")))
            pattern = re.compile("^" + regex + "/?$")
            for method, spec in item.items():
                if method in ("get", "post", "patch", "delete"):
                    self.operations.append(Operation(method.upper(), template, pattern, spec))
        # Literal paths ("/validate") before templated ones ("/{plan_id}").
        self.operations.sort(key=lambda op: op.template.count("{"))

    def operation(self, method: str, path: str) -> Operation:
        match = PREFIX.match(path)
        if match is None:
            raise SpecError(f"{path} is not under the spec's server URL")
        rest = path[match.end() :] or "/"
        for op in self.operations:
            if op.method == method.upper() and op.pattern.match(rest):
                return op
        raise SpecError(f"{method} {path}: no such operation in the spec")

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref = node["$ref"]
            pointer = ref.split("#", 1)[1]
            node = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part]
        return node

    def validate(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        wrapped = {"$schema": "http://json-schema.org/draft-07/schema#", **_rebase(schema)}
        validator = Draft7Validator(wrapped, registry=self.registry, format_checker=format_checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [
                f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]
            ]
            raise SpecError(f"{what} does not conform to the spec:\n  " + "\n  ".join(lines))

    def check_request(self, method: str, path: str, body: Any) -> None:
        op = self.operation(method, path)
        request_body = op.spec.get("requestBody")
        what = f"request {method} {path} ({op.spec.get('operationId')})"
        if request_body is None:
            if body is not None:
                raise SpecError(f"{what} carries a body the spec does not define")
            return
        schema = self._resolve(request_body)["content"]["application/json"]["schema"]
        self.validate(schema, body, what)
        _no_read_only(str(op.spec.get("operationId")), body, what)

    def check_response(
        self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        op = self.operation(method, path)
        what = f"answer {status} to {method} {path} ({op.spec.get('operationId')})"
        responses = op.spec.get("responses", {})
        response = responses.get(str(status)) or UNDOCUMENTED.get(status)
        if response is None:
            raise SpecError(f"{what}: status {status} is not documented for this operation")
        response = self._resolve(response)
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        for name, header in (response.get("headers") or {}).items():
            value = headers.get(name.lower())
            if value is None:
                raise SpecError(f"{what}: header {name} is missing")
            if header.get("schema", {}).get("type") == "integer" and not re.fullmatch(r"\d+", value):
                raise SpecError(f"{what}: header {name}={value!r} is not an integer")
        content = (response.get("content") or {}).get("application/json")
        if content is None:
            if status == 204 and body not in (None, b"", ""):
                raise SpecError(f"{what}: a 204 must be empty")
            return
        self.validate(content["schema"], body, what)


def _rebase(schema: dict[str, Any]) -> dict[str, Any]:
    """Point local ``#/components/...`` refs at the registered spec."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else walk(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(copy.deepcopy(schema))


def _no_read_only(operation_id: str, body: Any, what: str) -> None:
    """OpenAPI forbids sending ``readOnly`` properties: ``quarantine_feed_id`` of a version being created
    (update-plan-version lists it as writable) and ``active_transformation_ids`` of a document."""
    if not isinstance(body, dict):
        return
    versions = [body] if operation_id == "create-plan-version" else []
    versions += [v for v in body.get("data_plan_versions") or [] if isinstance(v, dict)]
    documents = [body.get("version_document"), body.get("document")]
    for version in versions:
        if "quarantine_feed_id" in version:
            raise SpecError(f"{what}: sends read-only quarantine_feed_id")
        documents.append(version.get("version_document"))
    for document in documents:
        if isinstance(document, dict) and "active_transformation_ids" in document:
            raise SpecError(f"{what}: sends read-only active_transformation_ids")


# --- pytest fixtures: import them into a test module to use them --------------------------------------


class SpecRecorder:
    """Collects the answers a client receives; ``check()`` validates them and every journalled request."""

    def __init__(self, spec: DataPlanningSpec, emulator: Any) -> None:
        self.spec = spec
        self.emulator = emulator
        self.responses: list[tuple[str, str, int, Any, dict[str, str]]] = []

    def _add(self, method: str, url: str, status: int, content: bytes, headers: Any) -> None:
        path = urlsplit(url).path
        if "/plans" not in path:
            return
        body = json.loads(content) if content else None
        self.responses.append((method, path, status, body, dict(headers)))

    def attach(self, client: Any) -> Any:
        """Observe a sync client's answers (a ``requests`` response hook)."""

        def hook(response: Any, *args: Any, **kwargs: Any) -> None:
            self._add(
                response.request.method,
                response.url,
                response.status_code,
                response.content,
                response.headers,
            )

        client.transport.session.hooks["response"].append(hook)
        return client

    def attach_async(self, client: Any) -> Any:
        """Observe an async client's answers (an ``httpx`` event hook)."""

        async def hook(response: Any) -> None:
            await response.aread()
            self._add(
                response.request.method,
                str(response.url),
                response.status_code,
                response.content,
                response.headers,
            )

        client.transport.client.event_hooks = {"request": [], "response": [hook]}
        return client

    def check(self) -> tuple[int, int]:
        """Validate every Data Planning request the emulator received and every answer observed."""
        requests_checked = 0
        for entry in self.emulator.control.journal(path="/plans"):
            if entry["path"].startswith("/platform/"):
                self.spec.check_request(entry["method"], entry["path"], entry["body"])
                requests_checked += 1
        for method, path, status, body, headers in self.responses:
            self.spec.check_response(method, path, status, body, headers)
        return requests_checked, len(self.responses)


_SPEC: DataPlanningSpec | None = None


def load_spec() -> DataPlanningSpec:
    global _SPEC
    if _SPEC is None:
        _SPEC = DataPlanningSpec()
    return _SPEC


@pytest.fixture
def spec_recorder(mparticle_emulator: Any) -> Any:
    """A :class:`SpecRecorder`; at teardown every request and observed answer must conform to the spec."""
    recorder = SpecRecorder(load_spec(), mparticle_emulator)
    yield recorder
    recorder.check()
