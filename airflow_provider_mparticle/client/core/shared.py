"""Connections shared per connection settings and event loop by every async client of a process.

A triggerer runs all of a deployment's waits in one event loop. An ``httpx.AsyncClient`` per wait costs
its own TLS context (the CA bundle parsed again: most of the ~0.9 MB each), its own connection pool and
tens of milliseconds of CPU to build, all while the loop serves no other trigger. Here the waits that use
the same settings on the same loop share one :class:`SharedPool`; each takes a :class:`HttpClientLease`
and gives it back with :meth:`HttpClientLease.aclose`, and the pool is closed when the last lease is
returned.

An ``httpx.AsyncClient`` belongs to the loop it first ran on, so the registry is per loop (a loop that is
garbage-collected takes its entries with it). A request waits for a free connection as long as it takes:
a wait queued behind others is not a network failure. Connect and read timeouts still apply to each
request.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator

#: connections a shared pool keeps open; waits beyond it queue for a free one (the hooks take the
#: triggerer's ``[mparticle] trigger_pool_size``, whose default is the same)
SHARED_POOL_SIZE = 20

_TLS_CONTEXTS: dict[bool | str, ssl.SSLContext] = {}
_TLS_LOCK = threading.Lock()


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The process's TLS context for a ``verify`` setting, built on first use.

    Parsing the CA bundle takes about 0.1 s of CPU and 0.8 MB per context: every client of the process
    (shared or not, on any loop or thread) uses the one built here. A CA bundle file is read once.

    :param verify: True, False, or a CA bundle path, as httpx takes it.
    """
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(verify)
        if context is None:
            context = _TLS_CONTEXTS[verify] = httpx.create_ssl_context(verify=verify)
        return context


async def aprepare_tls(verify: bool | str) -> None:
    """Build the TLS context for ``verify`` in a thread if there is none yet, keeping the loop free."""
    if verify not in _TLS_CONTEXTS:
        await asyncio.to_thread(tls_context, verify)


@dataclass(frozen=True)
class HttpClientOptions:
    """What an ``httpx.AsyncClient`` is built from (and part of the key it is shared under).

    :param timeout: seconds for reading one answer (connecting: at most 10).
    :param verify: TLS certificate verification: True, False or a CA bundle path.
    :param pool_size: connections kept per host.
    """

    timeout: float = 30.0
    verify: bool | str = True
    pool_size: int = SHARED_POOL_SIZE

    def build(self, connections: int | None = None) -> httpx.AsyncClient:
        """A new client with these options; the pool waits for a free connection without a time limit.

        :param connections: connections kept per host (default: ``pool_size``).
        """
        size = self.pool_size if connections is None else connections
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0), pool=None),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            verify=tls_context(self.verify),
            follow_redirects=False,
            # In httpx 0.28 trust_env means environment proxies (HTTP(S)_PROXY, NO_PROXY) and
            # SSL_CERT_FILE / SSL_CERT_DIR only: ~/.netrc applies solely through an explicit NetRCAuth.
            trust_env=True,
        )


class SharedPool:
    """``pool_size`` connections shared by the users of one key on one loop, each its own ``httpx.AsyncClient``.

    One client of N connections would be simpler, but httpcore's pool does work on every request that
    grows with N squared (each idle connection checks the keep-alive count over all of them, and asks the
    socket whether the server closed it) and hands one idle connection to every request queued in the
    same turn of the loop, all but one of which then retry. With a thousand waits that was 5 pool passes
    and 57 socket checks per request. Here each connection is a client of its own, lent to one request
    at a time: the most recently used first, so that a quiet process keeps few connections open.
    Clients are built on first need and share the process's TLS context.

    :param options: how each connection's client is built.
    """

    def __init__(self, options: HttpClientOptions) -> None:
        self.options = options
        self._idle: asyncio.LifoQueue[httpx.AsyncClient | None] = asyncio.LifoQueue()
        for _ in range(options.pool_size):
            self._idle.put_nowait(None)  # a connection not built yet
        self._built: list[httpx.AsyncClient] = []
        self.closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[httpx.AsyncClient]:
        """Wait for a free connection (as long as it takes: waiting is not a network failure) and lend it.

        Waiters are served in turn, one per turn of the loop.
        """
        client = await self._idle.get()
        try:
            if client is None:
                client = self.options.build(connections=1)
                self._built.append(client)
            yield client
        finally:
            self._idle.put_nowait(client)

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """The connections' clients built so far."""
        return list(self._built)

    async def aclose(self) -> None:
        self.closed = True
        for client in self._built:
            await client.aclose()


@dataclass(eq=False)
class _Entry:
    pool: SharedPool
    users: int = 0


@dataclass(eq=False)
class HttpClientLease:
    """One user's hold on a shared pool. :meth:`aclose` gives it back (once; later calls do nothing).

    :param pool: the shared connections; never close it directly.
    """

    pool: SharedPool
    _registry: SharedHttpClients = field(repr=False)
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _key: object = field(repr=False)
    _entry: _Entry = field(repr=False)
    _returned: bool = field(default=False, repr=False)

    async def aclose(self) -> None:
        """Give the pool back; the last lease returned closes it."""
        if self._returned:
            return
        self._returned = True
        await self._registry._release(self._loop, self._key, self._entry)


class SharedHttpClients:
    """Reference-counted :class:`SharedPool` objects, one per key and event loop."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[object, _Entry]] = (
            weakref.WeakKeyDictionary()
        )

    def lease(self, key: object, options: HttpClientOptions) -> HttpClientLease:
        """Take a hold on the pool for ``key`` on the running loop, making it on first use.

        Synchronous on purpose: no other task can run between the look-up and the registration, so a
        thousand waits starting together make one pool.

        :param key: what the client is shared under, hashable (the credentials and connection settings);
            ``options`` joins it.
        :param options: how to build the pool's clients.
        """
        loop = asyncio.get_running_loop()
        entries = self._loops.setdefault(loop, {})
        full_key = (key, options)
        entry = entries.get(full_key)
        if entry is None:
            entry = entries[full_key] = _Entry(SharedPool(options))
        entry.users += 1
        return HttpClientLease(entry.pool, self, loop, full_key, entry)

    async def _release(self, loop: asyncio.AbstractEventLoop, key: object, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users > 0:
            return
        entries = self._loops.get(loop)
        if entries is not None and entries.get(key) is entry:
            # Unregistered before the first await: a user arriving now builds a fresh client.
            del entries[key]
            if not entries:
                del self._loops[loop]
        # Shielded: a trigger cancelled while leaving still closes the pool it was the last user of.
        await asyncio.shield(entry.pool.aclose())

    def users(self, key: object, options: HttpClientOptions) -> int:
        """How many leases the running loop holds on the pool for ``key`` (0 when there is none)."""
        entries = self._loops.get(asyncio.get_running_loop(), {})
        entry = entries.get((key, options))
        return entry.users if entry is not None else 0

    def __len__(self) -> int:
        """Pools open in this process, over all loops."""
        return sum(len(entries) for entries in self._loops.values())


#: the process's registry, used by the async clients' ``shared=True`` mode
SHARED_HTTP_CLIENTS = SharedHttpClients()
