"""Warehouse Sync kept as code: read a file of connections, data models and pipelines, check it against
the JSON Schema the provider ships, and plan what applying it to a workspace would change.

Implements the create / update fields and validations of
https://docs.mparticle.com/developers/apis/warehouse-sync-api/reference/ (see
``schemas/warehouse_sync.schema.json``). Pure logic, no HTTP: the calls are in
:mod:`~airflow_provider_mparticle.client.warehouse_sync`, and the plan is a set of
:class:`~airflow_provider_mparticle.client.plans.ChangePlan` (one per object).

Each object has a stable *key* owned by the file; its mParticle id is ``id_prefix + key`` (or the ``id``
it gives). mParticle ids are chosen by the client, so an object created by an apply that was killed
before it could note it is found again by its id, never created twice. Secrets are never in the file:
a connection names an Airflow connection (``credentials.airflow_conn_id``) and the secret is added to a
request body only when it is sent (:func:`with_secret`), never to a plan.

Where the reference disagrees with itself both forms are accepted: ``on_demand`` / ``on-demand``,
``data_plan_version`` as an integer or a string.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.plans import LIVE, ChangePlan, Comparison, json_diff

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SCHEMA_PATH = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "warehouse_sync.schema.json"
CONNECTION, DATA_MODEL, PIPELINE = "connection", "data model", "pipeline"
# The file's sections, in dependency order (apply creates in this order, prune deletes in reverse).
SECTIONS = {"connections": CONNECTION, "data_models": DATA_MODEL, "pipelines": PIPELINE}
# Where each provider keeps its secret in ``config``; the API hands it back masked.
SECRET_FIELDS = {"Snowflake": "password", "Redshift": "password", "BigQuery": "service_account_key"}
SECRET_KEYS = frozenset(SECRET_FIELDS.values())
READ_ONLY = frozenset(
    {"status", "errors", "created_on", "created_by", "last_modified_on", "last_modified_by"}
)
# Fields mParticle fills in when a request leaves them out: compared (and kept on update) only then.
COMPUTED = {
    CONNECTION: frozenset({"config.aws_iam_user_arn", "config.aws_external_id", "config.port"}),
    DATA_MODEL: frozenset(),
    PIPELINE: frozenset({"partner_feed_id", "partner_feed_key"}),
}
TIMESTAMP_FIELDS = frozenset({"sync_mode.from", "sync_mode.until", "schedule.start", "schedule.end"})


class WarehouseSyncDocumentError(MParticleError, ValueError):
    """A Warehouse Sync file breaks the schema or the reference's rules; nothing was sent.

    :param source: the file (or ``document``).
    :param problems: one ``<key path> (line N): <reason>`` line per problem.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid Warehouse Sync file {source} ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class ResourceSpec:
    """One object of the file as it is sent (without secrets).

    :param kind: :data:`CONNECTION`, :data:`DATA_MODEL` or :data:`PIPELINE`.
    :param key: the object's key in the file.
    :param id: its mParticle id.
    :param body: the create / update body, secrets left out.
    :param line: where the object starts in the file.
    :param credentials_conn_id: the Airflow connection holding a connection's secret.
    """

    kind: str
    key: str
    id: str
    body: dict[str, Any]
    line: int | None = None
    credentials_conn_id: str | None = None

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.key!r} (id {self.id})"

    @property
    def secret_field(self) -> str | None:
        """The ``config`` field a secret is sent in, or None (Databricks, data models, pipelines)."""
        return SECRET_FIELDS.get(str(self.body.get("service_provider"))) if self.kind == CONNECTION else None


@dataclass(frozen=True)
class WarehouseSyncDocument:
    """A checked Warehouse Sync file: its objects in dependency order."""

    source: str
    id_prefix: str
    resources: tuple[ResourceSpec, ...]

    def of_kind(self, kind: str) -> list[ResourceSpec]:
        return [r for r in self.resources if r.kind == kind]

    def owns(self, item_id: str) -> bool:
        """Whether a live id is in the file's namespace (prune deletes those the file does not list)."""
        return item_id.startswith(self.id_prefix)


# --- reading ---------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the file (shipped as package data)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _line_map(text: str) -> tuple[dict[tuple[Any, ...], int], list[str]]:
    """1-based line of every key path in a YAML / JSON text, and the duplicate keys found."""
    import yaml

    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[str] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    duplicates.append(
                        f"{_path((*path, key))} (line {key_node.start_mark.line + 1}): given twice"
                    )
                seen.add(key)
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines, duplicates


def _path(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _plain(value: Any) -> Any:
    """YAML's dates and timestamps as the ISO 8601 text the API takes."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reason(error: Any) -> tuple[tuple[Any, ...], str]:
    """The key path and the reason of one schema error, in the file's words."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        key = extra[0] if extra else "?"
        if key in SECRET_KEYS:
            return (*path, key), (
                "secrets never go in the file; name the Airflow connection holding it in "
                "credentials.airflow_conn_id"
            )
        allowed = ", ".join(sorted(known)) or "none"
        return (*path, key), f"unknown key (allowed here: {allowed})"
    if error.validator == "required":
        return path, error.message.replace("is a required property", "is required")
    if error.validator == "not":
        banned = (error.schema.get("not") or {}).get("required") or ["?"]
        if banned[0] == "field_transformation_id":
            return (*path, banned[0]), (
                "only for pipelines of type 'events' (field transformations are not available for user "
                "data pipelines)"
            )
        return (*path, banned[0]), f"not allowed here ({error.instance.get('service_provider')} takes none)"
    if error.validator == "oneOf" and path and len(path) >= 2 and path[0] == "data_models":
        return path, "give the SQL as sql_query or sql_file (exactly one)"
    if error.validator == "pattern" and path and path[-1] == "sql_query":
        return path, "the SQL is empty"
    if error.validator == "dependentRequired":
        return path, error.message
    return path, error.message


def _where(path: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> str:
    probe = path
    while probe not in lines and probe:
        probe = probe[:-1]
    line = lines.get(probe)
    return f"{_path(path)} (line {line})" if line else _path(path)


def load_document(
    text: str, source: str = "document", base_dir: str | pathlib.Path | None = None
) -> WarehouseSyncDocument:
    """Read and check a Warehouse Sync file (YAML or JSON).

    :param text: the file's content.
    :param source: its name, for messages (the path, usually).
    :param base_dir: where ``sql_file`` paths are read from (default: the file's folder, or the cwd).
    :raises WarehouseSyncDocumentError: naming the file and, for every problem, its key path, line and
        reason; nothing is half-read.
    """
    import yaml

    try:
        lines, duplicates = _line_map(text)
        data = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise WarehouseSyncDocumentError(source, [f"not valid YAML / JSON: {error}"]) from error
    if base_dir is None:
        base_dir = pathlib.Path(source).parent if source != "document" else pathlib.Path.cwd()
    return parse_document(_plain(data), source, lines, duplicates, pathlib.Path(base_dir))


def load_document_file(path: str | pathlib.Path) -> WarehouseSyncDocument:
    """Read and check a Warehouse Sync file from disk."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WarehouseSyncDocumentError(str(path), [f"cannot be read: {error}"]) from error
    return load_document(text, str(path), path.parent)


def parse_document(
    data: Any,
    source: str = "document",
    lines: Mapping[tuple[Any, ...], int] | None = None,
    duplicates: Iterable[str] = (),
    base_dir: pathlib.Path | None = None,
) -> WarehouseSyncDocument:
    """Check a parsed Warehouse Sync document and turn it into request bodies.

    :param data: the parsed document.
    :param source: its name, for messages.
    :param lines: key path -> line, when known.
    :param duplicates: keys given twice (YAML keeps the last one silently).
    :param base_dir: where ``sql_file`` paths are read from.
    """
    lines = lines or {}
    problems = list(duplicates)
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path, reason = _reason(error)
        problems.append(f"{_where(path, lines)}: {reason}")
    if problems:
        raise WarehouseSyncDocumentError(source, problems)
    prefix = str(data.get("id_prefix") or "")
    resources: list[ResourceSpec] = []
    ids: dict[tuple[str, str], str] = {}
    for section, kind in SECTIONS.items():
        for key, item in (data.get(section) or {}).items():
            item_id = str(item.get("id") or prefix + key)
            where = _where((section, key), lines)
            if (kind, item_id) in ids:
                problems.append(f"{where}: id {item_id!r} is also the id of {ids[kind, item_id]!r}")
            ids[kind, item_id] = key
            try:
                body, conn_id = _body(kind, item_id, item, data, prefix, base_dir)
            except ValueError as error:
                problems.append(f"{_where((section, key, *error.args[0]), lines)}: {error.args[1]}")
                continue
            resources.append(ResourceSpec(kind, key, item_id, body, lines.get((section, key)), conn_id))
    if problems:
        raise WarehouseSyncDocumentError(source, problems)
    return WarehouseSyncDocument(source, prefix, tuple(resources))


def _body(
    kind: str,
    item_id: str,
    item: dict[str, Any],
    data: dict[str, Any],
    prefix: str,
    base_dir: pathlib.Path | None,
) -> tuple[dict[str, Any], str | None]:
    """The API body of one object (raises ValueError((relative path,), reason))."""
    fields = {k: v for k, v in item.items() if k not in ("id", "credentials", "sql_query", "sql_file")}
    body: dict[str, Any] = {"id": item_id, **fields, "state": item.get("state", "active")}
    if kind == CONNECTION:
        return body, (item.get("credentials") or {}).get("airflow_conn_id")
    if kind == DATA_MODEL:
        sql = item.get("sql_query")
        if sql is None:
            path = (base_dir or pathlib.Path.cwd()) / item["sql_file"]
            try:
                sql = path.read_text(encoding="utf-8")
            except OSError as error:
                raise ValueError(("sql_file",), f"cannot read {path}: {error}") from error
            if not sql.strip():
                raise ValueError(("sql_file",), f"the SQL in {path} is empty")
        return {**body, "type": item.get("type", "sql"), "config": {"sql_query": sql.strip()}}, None
    references = {}
    for field_name, section in (("connection", "connections"), ("data_model", "data_models")):
        key = item[field_name]
        target = (data.get(section) or {}).get(key)
        if target is None:
            names = ", ".join(sorted(data.get(section) or {})) or "none"
            raise ValueError((field_name,), f"{key!r} is not a key of {section} in this file (keys: {names})")
        references[f"{field_name}_id"] = str(target.get("id") or prefix + key)
    del body["connection"], body["data_model"]
    return {**body, **references}, None


# --- comparing and planning ------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        result: dict[str, Any] = {}
        for key, item in value.items():
            result.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return result
    return {prefix: value} if prefix else {}


def _normal(path: str, value: Any) -> Any:
    """One spelling per value: the reference's two on-demand spellings, versions as text, timestamps UTC."""
    if value in (None, "", [], {}):
        return None
    if path == "schedule.type":
        return str(value).replace("-", "_")
    if path == "data_plan_version":
        return str(value)
    if path in TIMESTAMP_FIELDS and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC).isoformat()
    if path == "config.port":
        return str(value)
    return value


def comparable(kind: str, body: Mapping[str, Any], wanted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A body as flat ``path -> value`` for comparing: no computed, read-only or secret fields.

    :param kind: the object's kind.
    :param body: the body (live or wanted).
    :param wanted: the wanted body, when ``body`` is live: computed fields it leaves out are not compared.
    """
    given = _flatten(dict(wanted)) if wanted is not None else None
    flat = {}
    for path, value in _flatten({k: v for k, v in body.items() if k not in READ_ONLY}).items():
        if kind == CONNECTION and path.startswith("config.") and path[7:] in SECRET_KEYS:
            continue
        if given is not None and path in COMPUTED[kind] and path not in given:
            continue
        normal = _normal(path, value)
        if normal is not None:
            flat[path] = normal
    return flat


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its key path, what is live and what the file wants (None: absent)."""

    path: str
    live: Any
    wanted: Any

    def text(self) -> str:
        return f"{self.path}: {json.dumps(self.live, default=str)} -> {json.dumps(self.wanted, default=str)}"


# The change of one object, as ChangePlan.action: what an apply does to it.
CREATE, UPDATE, NO_CHANGE, ABSENT, DELETE = "create", "update", "none", "absent", "delete"


@dataclass(frozen=True)
class ResourceChange:
    """One object of the plan: its change, the fields that differ and what an apply sends.

    :param kind: the object's kind.
    :param key: its key in the file (None: present live but absent from the file).
    :param id: its mParticle id.
    :param change: :data:`CREATE`, :data:`UPDATE`, :data:`NO_CHANGE`, :data:`ABSENT` (kept: no prune) or
        :data:`DELETE`.
    :param plan: the readable plan (diff against live).
    :param fields: the fields that differ (for an update).
    :param spec: the object in the file (None when absent from it).
    :param live_body: the live object, secrets masked (None when not live).
    :param running: whether the pipeline is running now.
    :param secret_only: an update that only resends the connection's secret (``resend_secrets``): live
        matches the file, so it is not drift.
    """

    kind: str
    key: str | None
    id: str
    change: str
    plan: ChangePlan
    fields: tuple[FieldChange, ...] = ()
    spec: ResourceSpec | None = field(default=None, compare=False)
    live_body: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    running: bool = False
    secret_only: bool = False

    @property
    def writes(self) -> bool:
        return self.change in (CREATE, UPDATE, DELETE)

    @property
    def drifted(self) -> bool:
        """Whether live differs from the file (also: missing live, or live and not in the file)."""
        return self.change != NO_CHANGE and not self.secret_only

    def request_body(self) -> dict[str, Any]:
        """What a create / update sends (no secret): the file's body, plus the computed fields it leaves
        out as they are live (a PUT replaces the whole object)."""
        if self.spec is None:
            raise MParticleError(f"{self.plan.subject} is not in the file: there is nothing to send.")
        body = dict(self.spec.body)
        if self.live_body is None:
            return body
        live = _flatten({k: v for k, v in self.live_body.items() if k not in READ_ONLY})
        given = _flatten(body)
        for path in COMPUTED[self.kind]:
            if path not in given and live.get(path) not in (None, ""):
                head, _, tail = path.partition(".")
                if tail:
                    body[head] = {**body.get(head, {}), tail: live[path]}
                else:
                    body[head] = live[path]
        return body

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "id": self.id,
            "change": self.change,
            "running": self.running,
            "secret_only": self.secret_only,
            "fields": [{"path": f.path, "live": f.live, "wanted": f.wanted} for f in self.fields],
            **{k: v for k, v in self.plan.as_dict().items() if k not in ("action",)},
        }


def _masked(kind: str, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    result = {k: v for k, v in body.items() if k not in READ_ONLY}
    if kind == CONNECTION and isinstance(result.get("config"), dict):
        result["config"] = {k: v for k, v in result["config"].items() if k not in SECRET_KEYS}
    return result


def plan_resource(
    spec: ResourceSpec | None,
    live: Mapping[str, Any] | None,
    *,
    kind: str | None = None,
    prune: bool = False,
    running: bool = False,
    used_by_running: Iterable[str] = (),
    resend_secret: bool = False,
) -> ResourceChange:
    """What an apply would do to one object.

    :param spec: the object in the file (None: live but no longer in the file).
    :param live: the live object as the API answers it (None: not live).
    :param kind: the kind, when ``spec`` is None.
    :param prune: whether objects absent from the file are deleted.
    :param running: whether the pipeline has a run in flight.
    :param used_by_running: the running pipelines that use this connection or data model: it is not
        changed under them either.
    :param resend_secret: update a connection that matches the file anyway, to send its secret again
        (after a rotation: the API hands secrets back masked, so a new one cannot be seen).
    """
    kind = spec.kind if spec is not None else str(kind)
    item_id = spec.id if spec is not None else str((live or {}).get("id"))
    subject = spec.subject if spec is not None else f"{kind} id {item_id} (not in the file)"
    users = sorted(used_by_running)
    warnings: tuple[str, ...] = (f"{kind} {item_id} is running now",) if running else ()
    if users:
        warnings = (f"{kind} {item_id} is used by running pipeline(s) {', '.join(users)}",)
    blocked = running or bool(users)
    live_doc = _masked(kind, live)
    if spec is None:
        change = DELETE if prune else ABSENT
        lines = tuple(json_diff(live_doc, None, "live", "file"))
        comparison = Comparison(LIVE, f"{kind} {item_id}", lines)
        refusal = _running_refusal(kind, item_id, users, "deleted") if blocked and prune else None
        writes: tuple[str, ...] = (f"delete {kind} {item_id}",) if prune else ()
        note = () if prune else ("present live but absent from the file: kept (prune=True deletes it)",)
        plan = ChangePlan(
            subject, DELETE if prune else "none", writes, (comparison,), refusal, note + warnings
        )
        return ResourceChange(kind, None, item_id, change, plan, live_body=live_doc, running=running)
    wanted = comparable(kind, spec.body)
    if live is None:
        comparison = Comparison(
            LIVE, f"{kind} {item_id}", tuple(json_diff(None, spec.body, "live", "file")), False
        )
        plan = ChangePlan(subject, CREATE, (f"create {kind} {item_id}",), (comparison,))
        return ResourceChange(kind, spec.key, item_id, CREATE, plan, spec=spec)
    held = comparable(kind, live, spec.body)
    fields = tuple(
        FieldChange(path, held.get(path), wanted.get(path))
        for path in sorted(set(held) | set(wanted))
        if held.get(path) != wanted.get(path)
    )
    lines = tuple(json_diff(_unflat(held), _unflat(wanted), "live", "file"))
    comparison = Comparison(LIVE, f"{kind} {item_id}", lines)
    if not fields and resend_secret and spec.secret_field is not None:
        refusal = _running_refusal(kind, item_id, users, "updated") if blocked else None
        resent = (
            f"config.{spec.secret_field}: resent from the Airflow connection {spec.credentials_conn_id!r} "
            "(not compared: the API hands it back masked)"
        )
        plan = ChangePlan(subject, UPDATE, (resent,), (comparison,), refusal, warnings)
        return ResourceChange(
            kind, spec.key, item_id, UPDATE, plan, spec=spec, live_body=live_doc, secret_only=True
        )
    if not fields:
        plan = ChangePlan(subject, "none", (), (comparison,), warnings=warnings)
        return ResourceChange(kind, spec.key, item_id, NO_CHANGE, plan, spec=spec, live_body=live_doc)
    refusal = _running_refusal(kind, item_id, users, "updated") if blocked else None
    writes = tuple(f.text() for f in fields)
    plan = ChangePlan(subject, UPDATE, writes, (comparison,), refusal, warnings)
    return ResourceChange(
        kind, spec.key, item_id, UPDATE, plan, fields, spec=spec, live_body=live_doc, running=running
    )


def _running_refusal(kind: str, item_id: str, users: list[str], doing: str) -> str:
    if users:
        return (
            f"{kind} {item_id} is used by running pipeline(s) {', '.join(users)}; it is not {doing} mid-run"
        )
    return f"pipeline {item_id} is running; a running pipeline is never {doing} mid-run"


def _unflat(flat: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for path, value in flat.items():
        node = result
        *heads, last = path.split(".")
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return result


@dataclass(frozen=True)
class WarehouseSyncPlan:
    """What applying a Warehouse Sync file would do, object by object, in apply order.

    Renders like a :class:`~airflow_provider_mparticle.client.plans.ChangePlan` (``text``, ``as_dict``,
    ``live_differs``, ``drift``), so the shared plan / check handling applies to it.
    """

    source: str
    changes: tuple[ResourceChange, ...]

    @property
    def has_changes(self) -> bool:
        return any(c.writes for c in self.changes)

    @property
    def live_differs(self) -> bool:
        return any(c.drifted for c in self.changes)

    @property
    def refusals(self) -> list[str]:
        return [f"{c.plan.subject}: {c.plan.refusal}" for c in self.changes if c.plan.refusal]

    def drift(self) -> list[str]:
        """One line per object whose live state differs from the file."""
        words = {
            CREATE: "is not live",
            UPDATE: "differs from the file",
            ABSENT: "is live but not in the file",
        }
        words[DELETE] = words[ABSENT]
        lines = []
        for c in self.changes:
            if not c.drifted:
                continue
            detail = "; ".join(f.text() for f in c.fields)
            lines.append(f"{c.plan.subject} {words[c.change]}" + (f": {detail}" if detail else ""))
        return lines

    def counts(self) -> dict[str, int]:
        result = dict.fromkeys((CREATE, UPDATE, NO_CHANGE, ABSENT, DELETE), 0)
        for c in self.changes:
            result[c.change] += 1
        return result

    def text(self) -> str:
        counts = self.counts()
        head = (
            f"Warehouse Sync plan for {self.source}: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
            f"{counts[DELETE]} to delete, {counts[NO_CHANGE]} unchanged, {counts[ABSENT]} live but not in "
            "the file"
        )
        return "\n".join([head, *(c.plan.text() for c in self.changes)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "has_changes": self.has_changes,
            "live_differs": self.live_differs,
            "counts": self.counts(),
            "refusals": self.refusals,
            "changes": [c.as_dict() for c in self.changes],
            "text": self.text(),
        }


def plan_document(
    document: WarehouseSyncDocument,
    live: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    prune: bool = False,
    running: Iterable[str] = (),
    resend_secrets: bool = False,
) -> WarehouseSyncPlan:
    """Compare a file with the live workspace.

    Live objects outside the file's ``id_prefix`` are not the file's and are left out; those inside it
    that the file does not list are ``absent`` (or ``delete`` with ``prune``). Deletes come last, in
    reverse dependency order (pipeline, data model, connection).

    :param document: the checked file.
    :param live: kind -> the live objects (the API's bodies) of that kind.
    :param prune: delete what the file no longer lists.
    :param running: ids of the pipelines running now: neither they nor the connections and data models
        they use are updated or deleted (the plan's refusals say so).
    :param resend_secrets: update the connections that take a secret even when they match the file, to
        send their secret again (after a rotation); those updates are not drift.
    """
    running = set(running)
    users: dict[tuple[str, str], set[str]] = {}
    for pipeline in live.get(PIPELINE, ()):
        if str(pipeline.get("id")) in running:
            for kind, name in ((CONNECTION, "connection_id"), (DATA_MODEL, "data_model_id")):
                users.setdefault((kind, str(pipeline.get(name))), set()).add(str(pipeline.get("id")))
    changes: list[ResourceChange] = []
    leftovers: list[ResourceChange] = []
    for kind in SECTIONS.values():
        held = {str(item.get("id")): item for item in live.get(kind, ())}
        listed = set()
        for spec in document.of_kind(kind):
            listed.add(spec.id)
            is_running = kind == PIPELINE and spec.id in running
            changes.append(
                plan_resource(
                    spec,
                    held.get(spec.id),
                    running=is_running,
                    used_by_running=users.get((kind, spec.id), ()),
                    resend_secret=resend_secrets,
                )
            )
        for item_id, item in sorted(held.items()):
            if item_id not in listed and document.owns(item_id):
                is_running = kind == PIPELINE and item_id in running
                blocked = users.get((kind, item_id), ())
                leftovers.append(
                    plan_resource(
                        None, item, kind=kind, prune=prune, running=is_running, used_by_running=blocked
                    )
                )
    return WarehouseSyncPlan(document.source, (*changes, *reversed(leftovers)))


def with_secret(spec: ResourceSpec, body: Mapping[str, Any], secret: str | None) -> dict[str, Any]:
    """The request body of a connection with its secret, built right before it is sent.

    :param spec: the connection.
    :param body: its request body (from the plan, without the secret).
    :param secret: the secret from the Airflow connection the file names.
    """
    name = spec.secret_field
    if name is None:
        return dict(body)
    if not secret:
        raise MParticleError(
            f"{spec.subject}: the Airflow connection {spec.credentials_conn_id!r} holds no {name}."
        )
    return {**body, "config": {**body.get("config", {}), name: secret}}
