"""A hostile HTTP server: answers that are not mParticle's, as proxies, SSO gateways and broken
intermediaries give them. Not the emulator: a few lines of ``http.server`` that know nothing of the API.

Every path gets the answer of the current ``mode``; the token endpoints (``/oauth/token`` and
``/ims/token/v3``) answer a valid token unless ``hostile_token`` is set, so that the API call itself
meets the hostile answer.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Any

#: The wrong answers the suite tries, by name.
MODES = ("redirect", "html", "empty", "truncated", "wrong_shape", "hung")
SECRET_IN_PAGE = "csrf-0123456789abcdef0123456789abcdef"
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Corporate Proxy Login</title>"
    "<style>body{font-family:sans-serif}</style><script>var token='" + SECRET_IN_PAGE + "';</script>"
    "</head><body><h1>Please sign in</h1><form method=post>"
    "<input type=hidden name=csrf_token value='" + SECRET_IN_PAGE + "'>"
    "<input name=user><input type=password name=password></form>" + "<p>filler</p>" * 400 + "</body></html>"
)
TOKEN_PATHS = ("/oauth/token", "/ims/token/v3")
#: A seed that the emulator accepts (after the LTV definition is created).
SEED_USER = {
    "environment": "development",
    "identities": {"customer_id": "c1"},
    "calculated_attributes": {
        "workspace": [
            {"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": 5}}
        ]
    },
}  # fmt: skip


def client_settings(url: str, timeout: float) -> Any:
    """mParticle client settings with every host at ``url``, two attempts and quick backoff."""
    from airflow_provider_mparticle.client import ClientSettings, RetrySettings

    return ClientSettings(
        workspace_id="1",
        api_key="key",
        api_secret="api-secret-value",
        client_id="client",
        client_secret="client-secret-value",
        s2s_url=url,
        api_url=url,
        token_url=url + "/oauth/token",
        timeout=timeout,
        retry=RetrySettings(max_attempts=2, initial_backoff=0.01, max_elapsed=10.0),
    )


class HostileServer:
    """A threaded server on a free loopback port; set ``mode`` before each case."""

    def __init__(self) -> None:
        self.mode = "html"
        self.hostile_token = False
        self.hung_seconds = 30.0
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests.append((self.command, self.path))
                if self.path.split("?")[0] in TOKEN_PATHS and not server.hostile_token:
                    self._send(200, "application/json", b'{"access_token":"t","expires_in":28800}')
                    return
                server.answer(self)

            def _send(self, status: int, content_type: str | None, body: bytes, **headers: str) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

            def log_message(self, *args: object) -> None:
                return None

        self.handler = Handler
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, handler: Any) -> None:
        mode = self.mode
        if mode == "redirect":
            handler._send(
                302, "text/html", b"<a href=x>moved</a>", Location="https://sso.example.com/login?rd=1"
            )
        elif mode == "html":
            handler._send(200, "text/html; charset=utf-8", LOGIN_PAGE.encode())
        elif mode == "empty":
            handler._send(200, None, b"")
        elif mode == "truncated":
            handler._send(200, "application/json", b'{"id": 1, "name": "LTV", "status": "succ')
        elif mode == "wrong_shape":
            handler._send(200, "application/json", json.dumps({"unexpected": [1, 2, 3]}).encode())
        elif mode == "hung":
            # Reads the request, then never answers (until the server stops or the wait ends).
            self._stop.wait(self.hung_seconds)
        else:
            raise AssertionError(mode)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class BlackHole:
    """A loopback address whose connections are never accepted: a listening socket with a full backlog,
    so that further SYNs are dropped and a connect waits until its timeout (as with a firewall)."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.fillers: list[socket.socket] = []
        # Fill the accept queue; further connects hang.
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)
        time.sleep(0.05)

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"
