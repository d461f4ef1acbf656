"""What is sent and what comes back: the transport-neutral request (:class:`ApiRequest`), an API method
written once (:class:`Call`), the answer (:class:`ApiResponse`) and what a good answer is (:class:`Expect`).

Plain data at the bottom of the HTTP core: the answer contracts (:mod:`.answers`) check answers against it
and the send flow (:mod:`.flow`) drives it through a transport; it imports neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import quote

import orjson

from airflow_provider_mparticle.client.core.errors import MParticleConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

BodyKind = Literal["object", "list", "json", "empty"]


@dataclass(frozen=True)
class Expect:
    """What a good answer is.

    :param statuses: the success statuses the API documents for this call.
    :param body: ``object`` / ``list`` (a JSON body of that type), ``json`` (any JSON value) or
        ``empty`` (no body needed; a JSON body is tolerated, any other content is refused).
    """

    statuses: frozenset[int]
    body: BodyKind

    def describe(self) -> str:
        wanted = {"object": "a JSON object", "list": "a JSON list", "json": "JSON", "empty": "no body"}
        return f"{'/'.join(str(s) for s in sorted(self.statuses))} with {wanted[self.body]}"


#: The common contracts.
OBJECT = Expect(frozenset({200, 201}), "object")
LIST = Expect(frozenset({200}), "list")
JSON_VALUE = Expect(frozenset({200, 201}), "json")
NO_CONTENT = Expect(frozenset({200, 202, 204}), "empty")


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP answer: status, lower-cased headers, and the body parsed as JSON when it is JSON."""

    status_code: int
    headers: Mapping[str, str]
    body: Any
    # The request's method and URL, for errors raised while reading the answer.
    method: str = ""
    url: str = ""

    @property
    def rate_limit_percentage_used(self) -> float | None:
        """mParticle's ``X-mp-rate-limit-percentage-used`` header, when present."""
        value = self.headers.get("x-mp-rate-limit-percentage-used")
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None


T = TypeVar("T")
AuthKind = Literal["basic", "bearer", "none"]


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, transport-neutral. ``url`` is absolute; ``auth`` picks the credentials."""

    method: str
    url: str
    auth: AuthKind
    params: Mapping[str, Any] | None = None
    # Bodies stay out of repr(): the token request carries the client secret.
    json: Any = field(default=None, repr=False)
    # A precomputed JSON body (bytes); used for bulk payloads already measured for size.
    content: bytes | None = field(default=None, repr=False)
    # Error statuses that are an expected answer here (404 for an existence check), handed to the parser.
    accept: frozenset[int] = frozenset()
    # Media type of ``content`` / ``json`` (a form-encoded token request sets its own).
    content_type: str = "application/json"
    # What a good answer is (statuses, body); anything else raises MParticleUnexpectedResponseError.
    expect: Expect = OBJECT

    def body_bytes(self) -> bytes | None:
        if self.content is not None:
            return self.content
        if self.json is None:
            return None
        return encode_json(self.json)


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request plus the parser of its answer: an API method written once for both transports."""

    request: ApiRequest
    parse: Callable[[ApiResponse], T]


# Types orjson would encode on its own where json.dumps refuses or encodes otherwise: they go to json.dumps.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding used for every body (and so for size limits).

    The same JSON as ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, key order
    included, through orjson (numbers may be spelled differently: ``1e16`` for ``1e+16``); what orjson
    does not take as plain JSON types (subclasses, integers beyond 64 bits, non-string keys, datetimes)
    goes through ``json.dumps``, which encodes or refuses it as before.
    """
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_id(value: Any, what: str) -> str:
    """An id as its literal text; empty, ``.`` and ``..`` are refused (they would change a URL path)."""
    if isinstance(value, bool) or value is None:
        raise MParticleConfigError(f"Invalid {what} {value!r}: expected a string or a number.")
    text = str(value)
    if not text.strip():
        raise MParticleConfigError(f"Invalid {what} {value!r}: it must not be empty.")
    if text in (".", ".."):
        raise MParticleConfigError(f"Invalid {what} {value!r}: '.' and '..' would change the request path.")
    return text


def path_segment(value: Any, what: str) -> str:
    """An id quoted as one URL path segment, so that ``/``, ``?``, ``#`` or ``%`` in it stay part of it."""
    return quote(check_id(value, what), safe="")


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or an empty one when the answer is something else."""
    return value if isinstance(value, dict) else {}


def ignore_body(_: ApiResponse) -> None:
    return None
