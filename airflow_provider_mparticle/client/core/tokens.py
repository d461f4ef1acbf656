"""The process-wide cache of OAuth bearer tokens (mParticle Platform and Adobe IMS alike).

mParticle asks clients to cache tokens (8 h, 1-3 s to issue) and to refresh them only when needed. A
worker or a triggerer runs many tasks and triggers in one process, each with its own client object: the
cache therefore lives here, once per process, keyed by the token URL, the client id and a digest of the
rest of the token request (secret, audience or scopes), so that a connection with another secret never
borrows a token it could not obtain itself.

Thread- and task-safe: a threading lock guards the shared dictionaries; one fetch per key at a time is
ensured by a threading lock per key (sync transports) and by an ``asyncio.Lock`` per key and event loop
(async transports; an ``asyncio.Lock`` cannot be shared between loops).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from dataclasses import dataclass
from typing import NamedTuple


class TokenKey(NamedTuple):
    """Which credentials a token belongs to. ``digest`` covers the whole token request (never stored raw)."""

    url: str
    client_id: str
    digest: str

    @classmethod
    def of(cls, url: str, client_id: str | None, body: bytes | None) -> TokenKey:
        """The key of a token request to ``url`` by ``client_id`` with the given body."""
        return cls(url, client_id or "", hashlib.sha256(body or b"").hexdigest())


@dataclass(frozen=True)
class CachedToken:
    """A bearer token and the monotonic time after which it must not be used."""

    value: str
    refresh_at: float


class TokenCache:
    """Bearer tokens shared by every client of the process, until shortly before each one expires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, CachedToken] = {}
        self._thread_locks: dict[TokenKey, threading.Lock] = {}
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]]
        self._loop_locks = weakref.WeakKeyDictionary()

    def valid(self, key: TokenKey) -> str | None:
        """The cached token for ``key`` if it is still good, else None."""
        with self._lock:
            token = self._tokens.get(key)
        if token is not None and time.monotonic() < token.refresh_at:
            return token.value
        return None

    def store(self, key: TokenKey, token: CachedToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def invalidate(self, key: TokenKey, value: str) -> None:
        """Forget ``value`` after the server refused it; a newer token fetched meanwhile is kept."""
        with self._lock:
            current = self._tokens.get(key)
            if current is not None and current.value == value:
                del self._tokens[key]

    def clear(self) -> None:
        """Forget every token (a test resetting its server, or a credential rotation)."""
        with self._lock:
            self._tokens.clear()

    def thread_lock(self, key: TokenKey) -> threading.Lock:
        """The lock a sync transport holds while it fetches the token of ``key``."""
        with self._lock:
            return self._thread_locks.setdefault(key, threading.Lock())

    def task_lock(self, key: TokenKey) -> asyncio.Lock:
        """The lock an async transport holds while it fetches the token of ``key`` (one per event loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            locks = self._loop_locks.get(loop)
            if locks is None:
                locks = self._loop_locks[loop] = {}
            return locks.setdefault(key, asyncio.Lock())


#: The one cache of the process.
TOKENS = TokenCache()


def clear_token_cache() -> None:
    """Forget every cached token of the process."""
    TOKENS.clear()
