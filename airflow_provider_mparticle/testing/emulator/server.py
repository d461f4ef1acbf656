"""Run the emulator: in a background thread (tests, the demo) or as the ``mparticle-emulator`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn

from airflow_provider_mparticle.testing.emulator.app import create_app, is_loopback
from airflow_provider_mparticle.testing.emulator.control_client import EmulatorControl
from airflow_provider_mparticle.testing.emulator.state import EmulatorSettings, EmulatorState

if TYPE_CHECKING:
    from airflow_provider_mparticle.client import ClientSettings


def mparticle_connection_json(url: str, state: EmulatorState | None = None) -> dict[str, Any]:
    """The JSON form of an ``mparticle`` connection pointed at an emulator served at ``url``.

    :param url: the emulator's base URL.
    :param state: the emulator's state, for its credentials (default: the default credentials).
    """
    settings = state.settings if state is not None else EmulatorSettings()
    return {
        "conn_type": "mparticle",
        "login": settings.api_key,
        "password": settings.api_secret,
        "extra": {
            "workspace_id": settings.workspace_id,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "s2s_url": url,
            "api_url": url,
            "oauth_url": url + "/oauth/token",
        },
    }


def client_settings(url: str, state: EmulatorState | None = None) -> ClientSettings:
    """Client settings for an emulator served at ``url`` (its credentials, short retry waits)."""
    from airflow_provider_mparticle.client import ClientSettings, RetrySettings

    settings = state.settings if state is not None else EmulatorSettings()
    return ClientSettings(
        workspace_id=settings.workspace_id,
        api_key=settings.api_key,
        api_secret=settings.api_secret,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        s2s_url=url,
        api_url=url,
        token_url=url + "/oauth/token",
        timeout=10.0,
        retry=RetrySettings(max_attempts=5, initial_backoff=0.01, max_backoff=2.0, max_elapsed=30.0),
    )


def adobe_connection_json(url: str, state: EmulatorState | None = None) -> dict[str, Any]:
    """The JSON form of an ``adobe_aep`` connection pointed at an emulator served at ``url``."""
    from airflow_provider_mparticle.testing.emulator.adobe.models import connection_json

    return connection_json(url, state if state is not None else create_app().state.emulator)


class EmulatorServer:
    """An emulator served by uvicorn in a daemon thread on a loopback port (0: any free port).

    :param host: address to bind: a loopback one unless ``allow_remote``.
    :param port: port, or 0 for a free one.
    :param allow_remote: allow a non-loopback ``host``. The emulator accepts any credentials it was
        configured with and its control plane can change everything: only expose it on a network you trust.
    :param ssl_certfile: serve HTTPS with this certificate chain (PEM), e.g. to test a client's TLS
        settings; :attr:`url` is then ``https://``.
    :param ssl_keyfile: the certificate's private key (PEM; default: in ``ssl_certfile``).
    :param settings: :class:`~airflow_provider_mparticle.testing.emulator.state.EmulatorSettings` fields.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        **settings: Any,
    ) -> None:
        if not allow_remote and not is_loopback(host, resolve=True):
            raise ValueError(
                f"Refusing to serve the emulator on {host!r}, which is not a loopback address: anyone who "
                "can reach it can read its journal and change its state. Pass allow_remote=True "
                "(--allow-remote) to do it anyway."
            )
        self.host = host
        self.app = create_app(allow_remote=allow_remote, **settings)
        self.state = self.app.state.emulator
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            backlog=2048,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self.scheme = "https" if ssl_certfile else "http"
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def control(self) -> EmulatorControl:
        """A control client. For an HTTPS emulator it checks no certificate (not even with
        ``REQUESTS_CA_BUNDLE`` set): set ``control.session.verify`` to check one."""
        control = EmulatorControl(self.url)
        if self.scheme == "https":
            control.session.trust_env = False
            control.session.verify = False
        return control

    def connection_uri_json(self) -> dict[str, Any]:
        """The JSON form of an ``mparticle`` connection (``AIRFLOW_CONN_...``) for this emulator."""
        return mparticle_connection_json(self.url, self.state)

    def client_settings(self) -> ClientSettings:
        """Client settings for this emulator."""
        return client_settings(self.url, self.state)

    def adobe_connection_json(self) -> dict[str, Any]:
        """The JSON form of an ``adobe_aep`` connection for this emulator."""
        return adobe_connection_json(self.url, self.state)

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])),
            name="mparticle-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("The mParticle emulator did not start.")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``mparticle-emulator --host 127.0.0.1 --port N``: serve the emulator until interrupted."""
    parser = argparse.ArgumentParser(prog="mparticle-emulator", description="A local mParticle API emulator.")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1): loopback unless --allow-remote",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who reaches it can read the journal and change state)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port (0: a free one, printed at start)")
    parser.add_argument("--workspace-id", default="1")
    parser.add_argument(
        "--propagation-seconds",
        type=float,
        default=300.0,
        help="delay before a new or changed CA definition accepts seeds (mParticle: up to 300)",
    )
    parser.add_argument("--progress-mode", choices=["immediate", "reads", "seconds"], default="seconds")
    parser.add_argument("--progress-steps", type=float, default=30.0)
    parser.add_argument("--ssl-certfile", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument(
        "--ssl-keyfile", help="the certificate's private key (PEM; default: in --ssl-certfile)"
    )
    args = parser.parse_args(argv)
    try:
        server = EmulatorServer(
            args.host,
            args.port,
            allow_remote=args.allow_remote,
            ssl_certfile=args.ssl_certfile,
            ssl_keyfile=args.ssl_keyfile,
            workspace_id=args.workspace_id,
            propagation_seconds=args.propagation_seconds,
            progress_mode=args.progress_mode,
            progress_steps=args.progress_steps,
        )
    except ValueError as error:
        parser.error(str(error))
    print(f"mParticle emulator listening on {server.url} (console: {server.url}/_emulator/ui)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server._server.serve(sockets=[server._socket]))


if __name__ == "__main__":
    main()
