"""The sync transport's direct path (client/core/http11.py) over real sockets.

TLS against the emulator served over HTTPS with certificates made here; and answers no emulator gives
(chunked, compressed, interim, cut short, closed, malformed) from a scripted server that writes bytes.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import ipaddress
import socket
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from airflow_provider_mparticle.client import MParticleClient, MParticleTransportError, RetrySettings
from airflow_provider_mparticle.client.core.config import TransportSettings
from airflow_provider_mparticle.client.core.messages import JSON_VALUE, NO_CONTENT, ApiRequest
from airflow_provider_mparticle.client.core.transport import SyncTransport
from airflow_provider_mparticle.testing.emulator import EmulatorServer
from airflow_provider_mparticle.testing.pytest_plugin import TEST_SETTINGS
from tests.conftest import VALID_DEFINITION

SEED = {"environment": "production", "identities": {"customer_id": "c1"}, "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": 2}}]}}  # fmt: skip


# --- TLS ---------------------------------------------------------------------------------------------


def _certificates(directory: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signs for ``names`` (DNS names or IP addresses): their files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key, issuer, issuer_key, ca: bool, sans=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        # What Python 3.13's strict verification asks for: key identifiers, and a CA's key usage.
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        if ca:
            usage = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "crl_sign", "encipher_only", "decipher_only"), False)  # fmt: skip
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, **{**usage, "crl_sign": True}),
                critical=True,
            )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator test CA")])
    ca = build("emulator test CA", ca_key, ca_name, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = build(names[0], key, ca_name, ca_key, False, sans)
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory) -> Iterator[tuple[EmulatorServer, Path]]:
    """The emulator over HTTPS with a certificate for 127.0.0.1, and the CA file that signed it."""
    ca, cert, key = _certificates(tmp_path_factory.mktemp("tls"), ["127.0.0.1", "localhost"])
    with EmulatorServer(ssl_certfile=str(cert), ssl_keyfile=str(key), **TEST_SETTINGS) as server:
        yield server, ca


def _tls_settings(server: EmulatorServer, verify: bool | str):
    retry = RetrySettings(max_attempts=1, max_elapsed=5.0)
    return dataclasses.replace(server.client_settings(), verify=verify, retry=retry)


def _control(server: EmulatorServer, ca: Path):
    control = server.control
    control.session.verify = str(ca)
    return control


def test_seeds_over_tls_with_the_ca_bundle_of_the_setting(tls_emulator):
    server, ca = tls_emulator
    _control(server, ca).reset()
    assert server.url.startswith("https://127.0.0.1:")
    with MParticleClient(_tls_settings(server, str(ca))) as client:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
        assert client.seeding.seed_users([SEED]).status_code == 202
        assert client.seeding.seed_users([SEED]).status_code == 202  # the kept-alive TLS connection
    assert len(_control(server, ca).seeds("LTV")) == 1


def test_an_unknown_ca_or_another_host_name_is_refused(tls_emulator, tmp_path):
    server, _ = tls_emulator
    refused = pytest.raises(MParticleTransportError, match="SSLCertVerificationError")
    with MParticleClient(_tls_settings(server, True)) as client, refused:  # the default bundle: not our CA
        client.seeding.seed_users([SEED])
    other_ca, cert, key = _certificates(tmp_path, ["other.example"])
    with EmulatorServer(ssl_certfile=str(cert), ssl_keyfile=str(key), **TEST_SETTINGS) as wrong_name:
        refused = pytest.raises(MParticleTransportError, match="SSLCertVerificationError")
        with MParticleClient(_tls_settings(wrong_name, str(other_ca))) as client, refused:
            client.seeding.seed_users([SEED])
        with warnings.catch_warnings():  # the control client checks no certificate here
            warnings.simplefilter("ignore")
            assert wrong_name.control.journal() == []  # nothing was sent


def test_verify_false_skips_the_checks_with_a_warning(tls_emulator):
    from urllib3.exceptions import InsecureRequestWarning

    server, ca = tls_emulator
    _control(server, ca).reset()
    with MParticleClient(_tls_settings(server, False)) as client:
        with pytest.warns(InsecureRequestWarning, match="not checked"):
            client.calculated_attributes.create("LTV", VALID_DEFINITION)
        assert client.seeding.seed_users([SEED]).status_code == 202
    assert len(_control(server, ca).seeds("LTV")) == 1


def test_a_missing_ca_bundle_is_an_error_naming_it(tls_emulator, tmp_path):
    server, _ = tls_emulator
    missing = tmp_path / "nowhere.pem"
    with MParticleClient(_tls_settings(server, str(missing))) as client, pytest.raises(OSError):
        client.seeding.seed_users([SEED])


# --- answers from a scripted server ------------------------------------------------------------------


@dataclass
class Script:
    """A loopback server answering each request on a connection with the next scripted answer.

    An answer is bytes to write; after it, ``close_after`` closes the connection. ``requests`` holds what
    was received (request line and header block) and ``connections`` how many were accepted.
    """

    answers: list[bytes | Callable[[socket.socket], None]] = field(default_factory=list)
    close_after: set[int] = field(default_factory=set)
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
                    0,
                )  # fmt: skip
                reader.read(length)
                index = len(self.requests)
                self.requests.append(head)
                answer = self.answers[index] if index < len(self.answers) else self.answers[-1]
                if callable(answer):
                    answer(conn)
                else:
                    conn.sendall(answer)
                if index in self.close_after:
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def script() -> Iterator[Script]:
    server = Script()
    yield server
    server.close()


def _transport(attempts: int = 1, timeout: float = 5.0) -> SyncTransport:
    retry = RetrySettings(max_attempts=attempts, initial_backoff=0.01, max_elapsed=10.0)
    return SyncTransport(TransportSettings(timeout=timeout, retry=retry, verify=True, pool_size=2))


def _get(transport: SyncTransport, url: str):
    return transport.send(ApiRequest("GET", url + "/x", "none", expect=JSON_VALUE))


def _answer(body: bytes, *fields: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    head = f"{version} {status}\r\n" + "".join(f"{f}\r\n" for f in fields) + "\r\n"
    return head.encode() + body


def test_bodies_by_length_chunked_and_compressed(script):
    chunked = b"4\r\n[1, \r\n3;ext=1\r\n2, \r\n2\r\n3]\r\n0\r\nX-Trailer: t\r\n\r\n"
    deflate_raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = deflate_raw.compress(b'{"d": 4}') + deflate_raw.flush()
    script.answers = [
        _answer(b'{"a": 1}', "Content-Type: application/json", "Content-Length: 8"),
        _answer(chunked, "Content-Type: application/json", "Transfer-Encoding: chunked"),
        _answer(gz := gzip.compress(b'{"g": 3}'), "Content-Type: application/json", "Content-Encoding: gzip", f"Content-Length: {len(gz)}"),
        _answer(raw, "Content-Type: application/json", "Content-Encoding: deflate", f"Content-Length: {len(raw)}"),
        b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(b"[]", "Content-Type: application/json", "Content-Length: 2"),
    ]  # fmt: skip
    with _transport() as transport:
        bodies = [_get(transport, script.url).body for _ in range(5)]
    assert bodies == [{"a": 1}, [1, 2, 3], {"g": 3}, {"d": 4}, []]
    assert script.connections == 1  # all on one kept-alive connection
    first = script.requests[0].decode()
    assert first.startswith("GET /x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert "Accept-Encoding: gzip, deflate\r\n" in first


def test_a_connection_is_not_reused_after_close_http10_or_a_body_to_the_end(script):
    script.answers = [
        _answer(b"{}", "Content-Type: application/json", "Content-Length: 2", "Connection: close"),
        _answer(b"{}", "Content-Type: application/json", "Content-Length: 2", version="HTTP/1.0"),
        _answer(b'{"to": "the end"}', "Content-Type: application/json"),
        _answer(b"{}", "Content-Type: application/json", "Content-Length: 2"),
    ]
    script.close_after = {2}  # the server would go on after the first two: the client does not
    with _transport() as transport:
        bodies = [_get(transport, script.url).body for _ in range(4)]
    assert bodies == [{}, {}, {"to": "the end"}, {}]
    assert script.connections == 4


def test_an_idle_connection_the_server_closed_is_replaced_without_a_retry(script):
    script.answers = [_answer(b"{}", "Content-Type: application/json", "Content-Length: 2")]
    script.close_after = {0}  # the server closes after answering, without saying so
    with _transport(attempts=1) as transport:
        assert _get(transport, script.url).body == {}
        threading.Event().wait(0.2)  # the close reaches the client
        assert _get(transport, script.url).body == {}
        assert transport.stats.snapshot()["retries"] == 0
    assert script.connections == 2


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (_answer(b'{"a": 1', "Content-Type: application/json", "Content-Length: 20"), "cut short"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", "longer than 64 KB"),
        (_answer(b"{}", "Content-Length: two"), "invalid Content-Length"),
        (_answer(b"zz\r\n", "Transfer-Encoding: chunked"), "malformed chunk size"),
        (_answer(b"not gzip", "Content-Encoding: gzip", "Content-Length: 8"), "does not decode"),
        (_answer(b"{}", "Content-Encoding: br", "Content-Length: 2"), "not asked for"),
        (_answer(b"", "Bad header line"), "malformed header"),
        (b"", "closed before an answer"),
    ],
)
def test_what_is_not_http_is_a_transport_error_that_is_retried(script, answer, reason):
    script.answers = [answer]
    script.close_after = {0, 1}
    with _transport(attempts=2) as transport, pytest.raises(MParticleTransportError, match=reason):
        _get(transport, script.url)
    assert len(script.requests) == 2  # retried once, then given up


def test_a_hung_answer_times_out(script):
    script.answers = [lambda conn: threading.Event().wait(3)]
    with _transport(timeout=0.5) as transport, pytest.raises(MParticleTransportError, match="TimeoutError"):
        transport.send(ApiRequest("POST", script.url + "/bulk", "none", content=b"[]", expect=NO_CONTENT))
