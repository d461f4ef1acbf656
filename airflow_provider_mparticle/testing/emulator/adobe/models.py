"""Adobe Experience Platform: the IMS token endpoint and the computed-attributes API.

Serves ``POST /ims/token/v3`` (OAuth server-to-server client credentials, form-encoded) and
``/data/core/ca/attributes`` as documented in docs/adobe/computed-attributes-api.md: the platform gateway's
checks (bearer token, ``x-api-key``, ``x-gw-ims-org-id``, ``x-sandbox-name``), one store per sandbox, the
name / expression / duration rules, ``limit`` / ``offset`` / ``sortBy`` / ``property`` listing with
``_links``, the per-status PATCH rules, and delete for drafts only. A computed attribute set to NEW
advances NEW -> INITIALIZING -> PROCESSING -> PROCESSED (or FAILED) by the emulator's progress rule
(``state.progress()``); reads of ``GET /attributes/{id}`` count as observations.

Control plane under ``/_emulator/adobe``: ``config`` (credentials, sandboxes, the final status),
``attributes`` (every stored attribute, without counting a read), ``attributes/{id}/status`` (force a
status) and ``stats``.
"""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError
from airflow_provider_mparticle.testing.emulator.state import Progress, iso

if TYPE_CHECKING:
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState


PREFIX = "/_emulator/adobe"


BASE = "/data/core/ca/attributes"


TOKEN_PATH = "/ims/token/v3"


TOKEN_PREFIX = "ims:"


TENANT = "_emulatortenant"


STATUSES = ("DRAFT", "NEW", "INITIALIZING", "PROCESSING", "PROCESSED", "FAILED", "DISABLED")


DURATION_MAX = {"HOURS": 24, "DAYS": 7, "WEEKS": 4, "MONTHS": 6}


DRAFT_UPDATABLE = {"name", "description", "keepCurrent", "expression", "duration", "status"}


DISABLE_ONLY = {"NEW", "INITIALIZING", "PROCESSING", "PROCESSED"}


SORT_FIELDS = {"name", "status", "updateEpoch", "createEpoch"}


CREATE_FIELDS = {"name", "displayName", "description", "expression", "keepCurrent", "duration", "status"}


MERGE_FUNCTIONS = (
    (re.compile(r"\.sum\("), "SUM"),
    (re.compile(r"\.min\("), "MIN"),
    (re.compile(r"\.max\("), "MAX"),
    (re.compile(r"topN\(|\.head\(\)"), "MOST_RECENT"),
)


class AdobeHTTPError(EmulatorHTTPError):
    """An AEP error: gateway errors as ``{error_code, message}``, service errors as problem details."""

    def __init__(self, status_code: int, message: str, error_code: str | None = None) -> None:
        super().__init__(status_code, message)
        self.error_code = error_code

    def body(self) -> dict[str, Any]:
        if self.error_code is not None:
            return {"error_code": self.error_code, "message": self.messages[0]}
        return {
            "type": f"https://ns.adobe.com/aep/errors/CA-{self.status_code}",
            "title": {400: "Bad Request", 404: "Not Found"}.get(self.status_code, "Error"),
            "status": self.status_code,
            "detail": self.messages[0],
        }


def _bad(message: str) -> AdobeHTTPError:
    return AdobeHTTPError(400, message)


@dataclass
class AdobeSettings:
    """The emulated IMS client, organisation and sandboxes; ``final_status`` ends each evaluation."""

    client_id: str = "emulator-adobe-client-id"
    client_secret: str = "emulator-adobe-client-secret"
    org_id: str = "EMULATOR0000000000000000@AdobeOrg"
    sandboxes: list[str] = field(default_factory=lambda: ["prod", "dev"])
    final_status: str = "PROCESSED"

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise EmulatorHTTPError(400, f"Unknown Adobe emulator setting {key!r}.")
            setattr(self, key, list(value) if key == "sandboxes" else str(value))
        if self.final_status not in ("PROCESSED", "FAILED"):
            raise EmulatorHTTPError(400, "final_status must be PROCESSED or FAILED.")


@dataclass
class StoredAttribute:
    id: str
    sandbox: str
    name: str
    display_name: str
    description: str | None
    expression: dict[str, Any]
    merge_function: str
    keep_current: bool
    duration: dict[str, Any]
    status: str
    create_epoch: int
    update_epoch: int
    progress: Progress | None = None
    last_evaluation_ts: str = ""

    def as_json(self, org_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "ComputedAttribute",
            "name": self.name,
            "displayName": self.display_name,
            "description": self.description,
            "imsOrgId": org_id,
            "sandbox": {
                "sandboxId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.sandbox)),
                "sandboxName": self.sandbox,
                "type": "production" if self.sandbox == "prod" else "development",
                "default": self.sandbox == "prod",
            },
            "path": f"{TENANT}/ComputedAttributes",
            "keepCurrent": self.keep_current,
            "expression": self.expression,
            "mergeFunction": {"value": self.merge_function},
            "status": self.status,
            "schema": {"name": "_xdm.context.profile"},
            "duration": self.duration,
            "lastEvaluationTs": self.last_evaluation_ts,
            "createEpoch": self.create_epoch,
            "updateEpoch": self.update_epoch,
            "createdBy": "emulator-user@AdobeID",
        }


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9]+", name):
        raise _bad(f"Invalid name {name!r}: only alphanumeric characters, without spaces or underscores.")
    return name


def _check_expression(value: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(value, dict):
        raise _bad("Field 'expression' is required.")
    if value.get("type") != "PQL":
        raise _bad("Invalid expression type: only PQL is supported.")
    if value.get("format") != "pql/text":
        raise _bad("Invalid expression format: only pql/text is supported.")
    text = value.get("value")
    if not isinstance(text, str) or not text.strip():
        raise _bad("Field 'expression.value' is required.")
    for pattern, merge in MERGE_FUNCTIONS:
        if pattern.search(text):
            return {"type": "PQL", "format": "pql/text", "value": text}, merge
    raise _bad("Invalid expression: it must aggregate with sum(), min(), max() or topN(...).head().")


def _check_duration(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad("Field 'duration' is required.")
    unit, count = value.get("unit"), value.get("count")
    if unit not in DURATION_MAX:
        raise _bad(f"Invalid duration.unit {unit!r}: one of HOURS, DAYS, WEEKS, MONTHS.")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= DURATION_MAX[unit]:
        raise _bad(f"Invalid duration.count {count!r}: 1-{DURATION_MAX[unit]} for {unit}.")
    return {"count": count, "unit": unit}


def _epoch_ms(state: EmulatorState) -> int:
    return int(state.clock.now() * 1000)


class AdobeComputedAttributesBackend:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.settings = AdobeSettings()
        self.sandboxes: dict[str, dict[str, StoredAttribute]] = {}
        self.tokens_issued = 0

    def reset(self) -> None:
        self.settings = AdobeSettings()
        self.sandboxes = {}
        self.tokens_issued = 0

    def snapshot(self) -> dict[str, Any]:
        settings = {k: v for k, v in asdict(self.settings).items() if k not in ("client_id", "client_secret")}
        return {
            "settings": settings,
            "sandboxes": {
                name: [asdict(ca) for ca in store.values()] for name, store in self.sandboxes.items()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        credentials = {"client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
        self.reset()
        self.settings.update({**(data.get("settings") or {}), **credentials})
        for name, items in (data.get("sandboxes") or {}).items():
            store = self.sandboxes.setdefault(name, {})
            for item in items:
                progress = item.pop("progress", None)
                ca = StoredAttribute(**item, progress=Progress(**progress) if progress else None)
                store[ca.id] = ca

    # --- gateway --------------------------------------------------------------------------------

    def guard(self, request: Request) -> dict[str, StoredAttribute]:
        """The platform gateway's checks; returns the store of the request's sandbox."""
        authorization = request.headers.get("authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
            raise AdobeHTTPError(401, "Oauth token is not valid", "401013")
        try:
            self.state.check_bearer("Bearer " + token.removeprefix(TOKEN_PREFIX))
        except EmulatorHTTPError as error:
            raise AdobeHTTPError(401, "Oauth token is not valid", "401013") from error
        api_key = request.headers.get("x-api-key")
        if not api_key:
            raise AdobeHTTPError(403, "Api Key is required", "403000")
        if not hmac.compare_digest(api_key, self.settings.client_id):
            raise AdobeHTTPError(403, "Api Key is invalid", "403003")
        if request.headers.get("x-gw-ims-org-id") != self.settings.org_id:
            raise AdobeHTTPError(403, "Client ID is not authorized for this IMS organization", "403027")
        sandbox = request.headers.get("x-sandbox-name")
        if not sandbox:
            raise AdobeHTTPError(400, "Header x-sandbox-name is required", "400000")
        if sandbox not in self.settings.sandboxes:
            raise AdobeHTTPError(403, f"Sandbox {sandbox!r} does not exist or is not accessible", "403030")
        return self.sandboxes.setdefault(sandbox, {})

    # --- lifecycle ------------------------------------------------------------------------------

    def observe(self, ca: StoredAttribute, count_read: bool) -> None:
        """Advance an evaluating attribute by the progress rule."""
        progress = ca.progress
        if progress is None:
            return
        now = self.state.clock.now()
        fraction = progress.read(now) if count_read else progress.fraction(now)
        if fraction >= 1.0:
            ca.status = self.settings.final_status
            ca.progress = None
            if ca.status == "PROCESSED":
                ca.last_evaluation_ts = iso(now, zone=False)
        elif fraction >= 0.5:
            ca.status = "PROCESSING"
        elif fraction > 0:
            ca.status = "INITIALIZING"

    def start(self, ca: StoredAttribute) -> None:
        ca.status = "NEW"
        ca.progress = self.state.progress()

    # --- API ------------------------------------------------------------------------------------

    def create(self, store: dict[str, StoredAttribute], sandbox: str, body: Any) -> StoredAttribute:
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object.")
        extra = sorted(set(body) - CREATE_FIELDS)
        if extra:
            raise _bad(f"Field {extra[0]!r} cannot be set: it is system-generated or unknown.")
        name = _check_name(body.get("name"))
        if any(ca.name == name for ca in store.values()):
            raise _bad(f"A computed attribute named {name!r} already exists.")
        expression, merge = _check_expression(body.get("expression"))
        duration = _check_duration(body.get("duration"))
        keep_current = body.get("keepCurrent", False)
        if not isinstance(keep_current, bool):
            raise _bad("Field 'keepCurrent' must be a boolean.")
        status = body.get("status", "DRAFT")
        if status not in ("DRAFT", "NEW"):
            raise _bad(f"Invalid status {status!r}: a computed attribute is created as DRAFT or NEW.")
        now = _epoch_ms(self.state)
        ca = StoredAttribute(
            id=str(uuid.uuid4()),
            sandbox=sandbox,
            name=name,
            display_name=str(body.get("displayName") or name),
            description=body.get("description"),
            expression=expression,
            merge_function=merge,
            keep_current=keep_current,
            duration=duration,
            status="DRAFT",
            create_epoch=now,
            update_epoch=now,
        )
        if status == "NEW":
            self.start(ca)
        store[ca.id] = ca
        return ca

    def get(self, store: dict[str, StoredAttribute], attribute_id: str) -> StoredAttribute:
        ca = store.get(attribute_id)
        if ca is None:
            raise AdobeHTTPError(404, f"Computed attribute {attribute_id} was not found.")
        return ca

    def update(self, store: dict[str, StoredAttribute], ca: StoredAttribute, body: Any) -> None:
        if not isinstance(body, dict) or not body:
            raise _bad("The request body must be a JSON object with the fields to change.")
        self.observe(ca, count_read=False)
        current = ca.as_json(self.settings.org_id)
        changed = {key for key, value in body.items() if current.get(key, object()) != value}
        target = body.get("status", ca.status)
        if ca.status == "DRAFT":
            locked = sorted(changed - DRAFT_UPDATABLE)
            if locked:
                raise _bad(f"Field {locked[0]!r} cannot be updated for a computed attribute in DRAFT status.")
            if target not in ("DRAFT", "NEW"):
                raise _bad(f"Invalid status transition DRAFT -> {target}: a DRAFT can only move to NEW.")
        elif ca.status in DISABLE_ONLY:
            locked = sorted(changed - {"status"})
            if locked:
                raise _bad(
                    f"Field {locked[0]!r} cannot be updated for a computed attribute in {ca.status} status; "
                    "only the status can change, to DISABLED."
                )
            if "status" in changed and target != "DISABLED":
                raise _bad(f"Invalid status transition {ca.status} -> {target}: only DISABLED is allowed.")
        elif changed:
            raise _bad(f"A computed attribute in {ca.status} status cannot be updated.")
        if "name" in changed:
            name = _check_name(body["name"])
            if any(other.name == name and other.id != ca.id for other in store.values()):
                raise _bad(f"A computed attribute named {name!r} already exists.")
        expression = merge = duration = None
        if "expression" in changed:
            expression, merge = _check_expression(body["expression"])
        if "duration" in changed:
            duration = _check_duration(body["duration"])
        if "keepCurrent" in changed and not isinstance(body["keepCurrent"], bool):
            raise _bad("Field 'keepCurrent' must be a boolean.")
        # Everything is checked: apply.
        if "name" in changed:
            ca.name = body["name"]
        if "description" in changed:
            ca.description = body["description"]
        if "keepCurrent" in changed:
            ca.keep_current = body["keepCurrent"]
        if expression is not None and merge is not None:
            ca.expression, ca.merge_function = expression, merge
        if duration is not None:
            ca.duration = duration
        if "status" in changed:
            if target == "NEW":
                self.start(ca)
            else:
                ca.status, ca.progress = str(target), None
        ca.update_epoch = _epoch_ms(self.state)

    def delete(self, store: dict[str, StoredAttribute], ca: StoredAttribute) -> None:
        self.observe(ca, count_read=False)
        if ca.status != "DRAFT":
            raise _bad(f"Only computed attributes in DRAFT status can be deleted; this one is {ca.status}.")
        del store[ca.id]

    def list(self, store: dict[str, StoredAttribute], query: dict[str, list[str]]) -> dict[str, Any]:
        limit = _int_param(query, "limit", 20)
        offset = _int_param(query, "offset", 0)
        if not 1 <= limit <= 40:
            raise _bad(f"Invalid limit {limit}: 1-40.")
        if offset < 0:
            raise _bad(f"Invalid offset {offset}.")
        sort_by = (query.get("sortBy") or ["-updateEpoch"])[-1]
        if sort_by.removeprefix("-") not in SORT_FIELDS:
            raise _bad(f"Invalid sortBy {sort_by!r}.")
        for ca in store.values():
            self.observe(ca, count_read=False)
        items = [ca.as_json(self.settings.org_id) for ca in store.values()]
        for expression in query.get("property", []):
            test = _property_filter(expression)
            items = [item for item in items if test(item)]
        key = sort_by.removeprefix("-")
        items.sort(key=lambda item: (item[key] is None, item[key]), reverse=sort_by.startswith("-"))
        total = len(items)
        chosen = items[offset : offset + limit]

        def href(at: int) -> dict[str, str]:
            return {"href": f"/attributes?offset={at}&limit={limit}"}

        links = {"self": href(offset), "last": href(max(0, (total - 1) // limit * limit))}
        if offset + limit < total:
            links["next"] = href(offset + limit)
        if offset > 0:
            links["prev"] = href(max(0, offset - limit))
        return {
            "_links": links,
            "computedAttributes": chosen,
            "_page": {"offset": offset, "limit": limit, "count": len(chosen), "totalCount": total},
        }


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise _bad(f"Invalid {name} {values[-1]!r}: a whole number is required.") from None


def _field(item: dict[str, Any], prop: str) -> Any:
    value: Any = item
    for part in prop.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _property_filter(expression: str) -> Any:
    """A predicate for one documented ``property`` filter. ``>=`` keeps values at or above the bound and
    ``<=`` at or below it (the documents' labels for these two operators look swapped; the symbols win).
    """
    match = re.fullmatch(
        r"(name|createEpoch|mergeFunction\.value|updateEpoch|status)(=!contains\(|=contains\(|!=|<=|>=|=)(.*)",
        expression,
        re.S,
    )
    if match is None:
        raise _bad(f"Invalid property filter {expression!r}.")
    prop, operator, value = match.groups()
    epoch = prop.endswith("Epoch")
    if epoch != (operator in ("<=", ">=")):
        raise _bad(f"Operator {operator.rstrip('(')!r} is not supported for property {prop!r}.")
    if epoch:
        try:
            bound = int(value)
        except ValueError:
            raise _bad(f"Invalid property filter {expression!r}: epoch milliseconds expected.") from None
        if operator == ">=":
            return lambda item: (_field(item, prop) or 0) >= bound
        return lambda item: (_field(item, prop) or 0) <= bound
    if operator.endswith("("):
        if not value.endswith(")"):
            raise _bad(f"Invalid property filter {expression!r}.")
        wanted = [v.strip().lower() for v in value[:-1].split(",") if v.strip()]

        def contains(item: dict[str, Any]) -> bool:
            text = str(_field(item, prop) or "").lower()
            # A status matches one of the listed statuses; text fields match a substring.
            return any(text == w if prop == "status" else w in text for w in wanted)

        return contains if operator == "=contains(" else (lambda item: not contains(item))
    if prop == "status":
        return lambda item: (str(_field(item, prop)).lower() == value.lower()) == (operator == "=")
    return lambda item: (str(_field(item, prop)) == value) == (operator == "=")


def connection_json(url: str, state: EmulatorState, sandbox: str = "prod") -> dict[str, Any]:
    """The JSON form of an ``adobe_aep`` connection pointed at an emulator served at ``url``."""
    settings: AdobeSettings = state.backends["adobe_computed_attributes"].settings  # type: ignore[attr-defined]
    return {
        "conn_type": "adobe_aep",
        "login": settings.client_id,
        "password": settings.client_secret,
        "extra": {
            "org_id": settings.org_id,
            "sandbox_name": sandbox,
            "platform_url": url,
            "ims_url": url + TOKEN_PATH,
        },
    }
