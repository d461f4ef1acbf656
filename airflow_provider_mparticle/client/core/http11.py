"""A lean HTTP/1.1 exchange for the sync transport's direct path: one request out, one answer parsed.

Per bulk seed request, urllib3 and ``http.client`` cost more CPU than everything else the seed does
(header objects, the ``email`` parser for the answer's headers, the response wrapper): about 0.5 ms of
a request of 100 users, more than encoding them. Here a request is one header block and its body in one
write on a kept-alive connection, and the answer is read by a small parser that refuses what it does not
understand (:class:`HttpProtocolError`). What goes out is what ``requests`` would send: the caller gives
the same headers (see :class:`~airflow_provider_mparticle.client.core.transport.SyncTransport`).

- Connections are kept per origin (scheme, host, port, TLS verification), at most ``maxsize`` idle ones,
  the last used first; one that the server closed or wrote to while idle is dropped before reuse, and a
  connection is never reused after an error, an answer that says ``Connection: close``, an HTTP/1.0
  answer, or a body delimited by the end of the connection.
- Timeouts: ``connect`` for the TCP and TLS set-up, ``read`` for every write and read after it.
- TLS: urllib3's default context (the one ``requests`` uses) with the CA bundle or directory of
  ``verify`` (``True``: ``requests``' default bundle), the host name checked; ``verify=False`` checks
  neither.
- Answers: ``Content-Length`` or chunked bodies, or a body up to the end of the connection; 1xx interim
  answers skipped; ``gzip`` and ``deflate`` content decoded (what the transport asks for); repeated
  header fields joined with ``", "``.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO

#: The content codings this module decodes: what the transport's requests accept.
ACCEPT_ENCODING = "gzip, deflate"
_MAX_LINE = 65536
_MAX_HEADERS = 100
_NO_BODY_STATUSES = frozenset({204, 304})


class HttpProtocolError(Exception):
    """The answer is not HTTP/1.x as this client reads it (or the connection broke in the middle)."""


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host, port and TLS verification (a pool per origin).

    :param verify: TLS verification: True (``requests``' CA bundle), a CA bundle file or directory,
        or False (no check; only for ``https``).
    """

    scheme: str
    host: str
    port: int
    verify: bool | str = True

    @property
    def host_header(self) -> str:
        """The ``Host`` field as ``http.client`` writes it (the port only when not the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context of ``requests`` for ``verify``: urllib3's defaults, the CA bundle, the host name."""
    from requests.utils import DEFAULT_CA_BUNDLE_PATH
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context()
    context.set_alpn_protocols(["http/1.1"])
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    where = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
    if os.path.isdir(where):
        context.load_verify_locations(capath=where)
    else:
        context.load_verify_locations(cafile=where)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


class _Connection:
    """One socket and its buffered reader."""

    __slots__ = ("poller", "reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")
        self.poller: select.poll | None = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(sock, select.POLLIN)

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def dropped(self) -> bool:
        """Whether the idle connection was closed by the server (or has unexpected bytes to read)."""
        if self.sock.fileno() < 0:
            return True
        if self.poller is not None:
            return bool(self.poller.poll(0))
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)


class ConnectionPool:
    """Kept-alive connections to one :class:`Origin`, shared by threads.

    :param origin: where the connections go.
    :param maxsize: idle connections kept (more may be open at once; the extra ones close after use).
    """

    def __init__(self, origin: Origin, maxsize: int) -> None:
        self.origin = origin
        self.maxsize = maxsize
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = tls_context(origin.verify) if origin.scheme == "https" else None
        if self._tls is not None and origin.verify is False:
            from urllib3.exceptions import InsecureRequestWarning

            # What requests warns of too (with verify=False, anyone on the way can read the credentials).
            warnings.warn(
                f"TLS certificates of {origin.host} are not checked (verify=False).",
                InsecureRequestWarning,
                stacklevel=2,
            )
        self._closed = False

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for connection in idle:
            connection.close()

    def _connect(self, timeout: float) -> _Connection:
        sock = socket.create_connection((self.origin.host, self.origin.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.origin.host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _take(self, timeout: float) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect(timeout)
            if not connection.dropped():
                return connection
            connection.close()

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.maxsize:
                self._idle.append(connection)
                return
        connection.close()

    def request(
        self, head: bytes, body: bytes | None, *, method: str, connect_timeout: float, read_timeout: float
    ) -> tuple[int, dict[str, str], bytes]:
        """Send ``head`` (the request line and header fields, ending with the empty line) and ``body``;
        the answer's status, header fields (by lowercased name) and (decoded) body.

        Raises ``OSError`` (refused, reset, timed out, TLS) or :class:`HttpProtocolError`.
        """
        connection = self._take(connect_timeout)
        keep = False
        try:
            connection.sock.settimeout(read_timeout)
            connection.sock.sendall(head + body if body else head)
            status, headers, content, keep = _read_answer(connection.reader, method)
        finally:
            if keep:
                self._give_back(connection)
            else:
                connection.close()
        return status, headers, content


def _read_line(reader: BinaryIO) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise HttpProtocolError("a header line longer than 64 KB")
    return line


def _read_answer(reader: BinaryIO, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, header fields, decoded body, and whether the connection may be reused."""
    while True:
        line = _read_line(reader)
        if not line:
            raise HttpProtocolError("the connection closed before an answer")
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise HttpProtocolError("an answer that is not HTTP/1.x")
        status = int(code)
        lowered = _read_headers(reader)
        if status >= 200 or status == 101:
            break  # a 1xx interim answer (100 Continue, 103 Early Hints) is followed by the answer
    tokens = {token.strip().lower() for token in lowered.get("connection", "").split(",")}
    keep = version == b"HTTP/1.1" and "close" not in tokens
    if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
        content = b""
    elif "chunked" in lowered.get("transfer-encoding", "").lower():
        content = _read_chunked(reader)
    elif "content-length" in lowered:
        length = lowered["content-length"]
        if not length.isdigit():
            raise HttpProtocolError(f"an invalid Content-Length {length[:40]!r}")
        content = _read_exactly(reader, int(length))
    else:
        content = reader.read()
        keep = False
    coding = lowered.get("content-encoding", "").strip().lower()
    if coding and coding != "identity" and content:
        content = _decode(content, coding)
    return status, lowered, content, keep


def _read_headers(reader: BinaryIO) -> dict[str, str]:
    """The header fields, by lowercased name (names are case-insensitive; repeated fields are joined)."""
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        line = reader.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise HttpProtocolError("the connection closed in the answer's header")
        if len(line) > _MAX_LINE:
            raise HttpProtocolError("a header line longer than 64 KB")
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise HttpProtocolError("a malformed header line")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    raise HttpProtocolError(f"more than {_MAX_HEADERS} header fields")


def _read_exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise HttpProtocolError(f"a body cut short: {len(data)} of {size} bytes")
    return data


def _read_chunked(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        line = _read_line(reader)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpProtocolError("a malformed chunk size") from None
        if size < 0:
            raise HttpProtocolError("a malformed chunk size")
        if size == 0:
            _read_headers(reader)  # trailer fields, dropped
            return b"".join(parts)
        parts.append(_read_exactly(reader, size))
        if _read_line(reader) not in (b"\r\n", b"\n"):
            raise HttpProtocolError("a chunk without its line end")


def _decode(content: bytes, coding: str) -> bytes:
    # Codings apply in the order listed: undo them from the last.
    for name in reversed([part.strip() for part in coding.split(",")]):
        try:
            if name in ("gzip", "x-gzip"):
                content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
            elif name == "deflate":
                try:
                    content = zlib.decompress(content)
                except zlib.error:  # raw deflate, as some servers send it
                    content = zlib.decompress(content, -zlib.MAX_WBITS)
            elif name != "identity":
                raise HttpProtocolError(
                    f"a body in the {name[:40]!r} content coding, which was not asked for"
                )
        except zlib.error:
            raise HttpProtocolError(f"a {name} body that does not decode") from None
    return content
