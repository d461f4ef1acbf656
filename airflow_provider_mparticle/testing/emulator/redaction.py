"""What the journal keeps of a request: its headers and body with every secret replaced by ``***``.

The journal is served over HTTP, exported to files and shown in the console, so it never holds a
credential: not the OAuth ``client_secret`` of a token request, not an ``Authorization`` header, not a
workspace API secret, not a warehouse password. The emulator checks credentials itself (401 when one is
missing, 403 when it is wrong), so a test has no need to read them back.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

MASK = "***"
# Field names whose values are credentials, wherever they appear in a body (lower case).
SECRET_FIELDS = {
    "access_token",
    "authorization",
    "client_secret",
    "password",
    "private_key",
    "refresh_token",
    "service_account_key",
}
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-secret"}


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELDS or "secret" in lowered or "password" in lowered


def redact_authorization(value: str) -> str:
    """``Basic key:***`` (the key names the workspace, the secret is gone), else ``<scheme> ***``."""
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            key = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return f"{scheme} {MASK}"
        return f"{scheme} {key}:{MASK}"
    return f"{scheme} {MASK}" if credentials else MASK


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as a dict, credentials masked."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "authorization":
            value = redact_authorization(value)
        elif name in SECRET_HEADERS or is_secret_field(name):
            value = MASK
        result[name] = value
    return result


# Lower-case fragments of every secret field name above: a body without any of them (and without the
# emulator's own secrets) has nothing to mask, which spares bulk seeding bodies a walk.
SECRET_NAME_FRAGMENTS = (
    b"secret",
    b"password",
    b"token",
    b"authorization",
    b"private_key",
    b"service_account_key",
)


def may_hold_secrets(raw: bytes, secrets: tuple[str, ...] = ()) -> bool:
    """Whether a raw body could hold something :func:`redact_body` masks (no false negatives for
    bodies whose secrets are ASCII, as the emulator's are)."""
    lowered = raw.lower()
    if any(fragment in lowered for fragment in SECRET_NAME_FRAGMENTS):
        return True
    return any(secret.encode() in raw for secret in secrets if secret) or not raw.isascii()


def redact_body(body: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A copy of a JSON (or form) body with secret fields masked and known secret values replaced.

    :param body: the parsed body.
    :param secrets: the emulator's own secrets, replaced wherever they occur in a string (a secret sent in
        a field with an innocent name, or pasted into a SQL query, is still a secret).
    """
    if isinstance(body, dict):
        return {
            key: MASK
            if is_secret_field(str(key)) and value not in (None, "")
            else redact_body(value, secrets)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [redact_body(item, secrets) for item in body]
    if isinstance(body, str):
        for secret in secrets:
            if secret and secret in body:
                body = body.replace(secret, MASK)
    return body
