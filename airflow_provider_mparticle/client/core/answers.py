"""Answer contracts: what a good answer to each call is, checked in one place for both transports.

A data-movement task must never be green on an answer that is not the API's: a redirect to a single
sign-on page, a corporate proxy's login page served with 200, an empty or truncated body, or JSON of
another shape. Every request states its :class:`Expect` (statuses, and whether a JSON object, a JSON
list, any JSON value or no body is a good answer); :func:`build_response` refuses anything else with
:class:`~airflow_provider_mparticle.client.core.errors.MParticleUnexpectedResponseError`, and the parsers of
each API raise :class:`AnswerShapeError` (turned into the same error by :func:`parse_answer`) when a
field they need, such as a run's status, cannot be read.

Which of these errors are retried (``retryable``):

- a 3xx redirect: never (it is a login or a moved endpoint; credentials must not follow it);
- a 2xx with a non-JSON media type (an HTML login page), an empty body where JSON was promised, or
  JSON of the wrong shape: never (the same answer would come again);
- a 2xx with a JSON media type whose body does not parse (truncated JSON): retried when the request
  is safe to repeat (GET, HEAD), since a cut connection or a flaky intermediary is the likely cause; a
  write (POST, PUT, PATCH, DELETE) is not resent, because the server may have acted on it.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mparticle.client.core.errors import (
    MParticleError,
    MParticleUnexpectedResponseError,
    error_for_response,
)
from airflow_provider_mparticle.client.core.messages import (
    ApiRequest,
    ApiResponse,
    Call,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD"})
EXCERPT_CHARS = 160


class AnswerShapeError(ValueError):
    """A parser could not read what it needs from a 2xx answer; the message says what (no secrets)."""


_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>?", re.IGNORECASE | re.DOTALL)
_SECRET_PAIRS = re.compile(
    r"""(?ix)
    (["']?[\w-]*(?:secret|token|password|passwd|api[_-]?key|authorization|session|cookie)[\w-]*["']?
     \s*[:=]\s*)
    (bearer\s+|basic\s+)?("[^"]*"|'[^']*'|[^\s,;&"'}]+)
    """
)
_AUTH_WORDS = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_LONG_OPAQUE = re.compile(r"[A-Za-z0-9._~+/=-]{32,}")


def excerpt(content: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A short, sanitised excerpt of a body that is not the expected JSON: markup stripped, anything that
    looks like a credential or token redacted, whitespace collapsed, cut at ``limit`` characters.
    """
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    text = text[: limit * 20]
    text = html.unescape(_TAGS.sub(" ", text))
    text = _SECRET_PAIRS.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _AUTH_WORDS.sub(lambda m: m.group(1) + " [redacted]", text)
    text = _LONG_OPAQUE.sub("[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _unexpected(
    request: ApiRequest, status: int, problem: str, *, retryable: bool = False, location: str | None = None
) -> MParticleUnexpectedResponseError:
    return MParticleUnexpectedResponseError(
        status, request.method, request.url, problem, retryable=retryable, location=location
    )


def _read_json(request: ApiRequest, status: int, content_type: str, content: bytes) -> Any:
    """The JSON of a 2xx body, or the error saying why it is not the JSON this call needs."""
    expect = request.expect
    if not content.strip():
        raise _unexpected(request, status, f"an empty body; expected {expect.describe()}")
    if content_type and not _is_json_type(content_type):
        media = content_type.split(";", 1)[0].strip()
        raise _unexpected(
            request,
            status,
            f"a {media} body where {expect.describe()} was expected "
            f"(a proxy or login page?): {excerpt(content)!r}",
        )
    try:
        return json.loads(content.decode("utf-8"))
    except ValueError:
        where = "JSON that does not parse (truncated?)" if content_type else "a body that is not JSON"
        raise _unexpected(
            request,
            status,
            f"{where}; expected {expect.describe()}: {excerpt(content)!r}",
            retryable=bool(content_type) and request.method in SAFE_METHODS,
        ) from None


_SHAPES: dict[str, tuple[type, str]] = {"object": (dict, "a JSON object"), "list": (list, "a JSON list")}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON list"
    return f"the JSON value {excerpt(json.dumps(value), 40)}"


def build_response(
    request: ApiRequest, status: int, headers: Mapping[str, str], content: bytes
) -> ApiResponse:
    """Check a raw answer against the request's contract; the mapped error for an error status."""
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    if 300 <= status < 400:
        location = lowered.get("location")
        where = f"a redirect to {excerpt(location, 200)!r}" if location else "a redirect without a Location"
        raise _unexpected(
            request,
            status,
            f"{where}, which is not followed (credentials must not travel)",
            location=location,
        )
    if status >= 400:
        body = _error_body(content, content_type)
        if status not in request.accept:
            raise error_for_response(status, request.method, request.url, lowered, body)
        return ApiResponse(status, lowered, body, request.method, request.url)
    expect = request.expect
    if status not in expect.statuses:
        raise _unexpected(request, status, f"status {status}; expected {expect.describe()}")
    if expect.body == "empty":
        if content.strip() and content_type and not _is_json_type(content_type):
            media = content_type.split(";", 1)[0].strip()
            raise _unexpected(request, status, f"a {media} body; expected no body: {excerpt(content)!r}")
        return ApiResponse(status, lowered, None, request.method, request.url)
    body = _read_json(request, status, content_type, content)
    shape = _SHAPES.get(expect.body)
    if shape is not None and not isinstance(body, shape[0]):
        raise _unexpected(request, status, f"{_kind(body)}; expected {shape[1]}")
    return ApiResponse(status, lowered, body, request.method, request.url)


def _error_body(content: bytes, content_type: str) -> Any:
    """An error answer's body: its JSON when it is JSON, else a sanitised excerpt (never raw HTML)."""
    if not content.strip():
        return None
    try:
        return json.loads(content.decode("utf-8"))
    except ValueError:
        return excerpt(content)


def parse_answer(call: Call[T], response: ApiResponse) -> T:
    """Run a call's parser; a 2xx answer it cannot read becomes an error naming the call and the problem."""
    try:
        return call.parse(response)
    except MParticleError:
        raise
    except (AnswerShapeError, ValueError, TypeError, KeyError, AttributeError) as error:
        problem = str(error) if isinstance(error, AnswerShapeError) else f"an unreadable answer ({error})"
        raise MParticleUnexpectedResponseError(
            response.status_code, response.method, response.url, excerpt(problem, 300)
        ) from error


# --- helpers for the parsers -------------------------------------------------------------------------


def require_object(value: Any, what: str) -> dict[str, Any]:
    """``value`` as a JSON object, or AnswerShapeError naming ``what``."""
    if not isinstance(value, dict):
        raise AnswerShapeError(f"{what} is {_kind(value)}; expected a JSON object")
    return value


def require_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise AnswerShapeError(f"{what} is {_kind(value)}; expected a JSON list")
    return value


def require_field(data: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], what: str) -> Any:
    """``data[name]`` when it has one of the JSON ``kinds`` (bool is never taken for int)."""
    value = data.get(name)
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if value is None or (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        found = "missing" if name not in data else _kind(value)
        names = " or ".join(k.__name__ for k in allowed)
        raise AnswerShapeError(f"{what}: field {name!r} is {found}; expected {names}")
    return value


def parse_enum(value: Any, parse: Callable[[Any], T | None], what: str, allowed: str) -> T:
    """A documented status read with ``parse``; AnswerShapeError when it is missing or unknown."""
    result = parse(value) if isinstance(value, str) else None
    if result is None:
        shown = "missing" if value is None else _kind(value) if not isinstance(value, str) else repr(value)
        raise AnswerShapeError(f"{what} is {excerpt(shown, 60)}; expected one of: {allowed}")
    return result
