"""Smoke requests over real sockets: https verified through deploy.ca_bundle, the test host sent
as Host header and TLS server name, and "no connection" told apart from an HTTP answer."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from stackswap.orchestrator import probe

HOST = "test.shop.example.com"


def certificate(tmp_path):
    """A CA and a certificate for HOST signed by it, as PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stackswap test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "ca.pem"


class Seen(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(self.headers["Host"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path):
    ca = certificate(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Seen)
    server.seen, server.names = [], []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, name, ctx: server.names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server, f"https://127.0.0.1:{server.server_address[1]}", str(ca)
    server.shutdown()
    server.server_close()


def test_https_with_the_ca_bundle_and_the_test_host(tls_server):
    # Python's ssl: wrap_socket(server_hostname=...) sends SNI and checks the certificate
    # against that name (ssl module docs, "Socket creation": create_default_context ... SNI).
    server, url, ca = tls_server
    answer = probe.get(url + "/health", ca_bundle=ca, host=HOST)
    assert answer.ok and answer.status == 200
    port = url.rsplit(":", 1)[1]
    assert server.names == [HOST] and server.seen == [f"{HOST}:{port}"]


def test_https_without_the_ca_bundle_is_a_tls_failure_not_unreachable(tls_server):
    _, url, _ = tls_server
    answer = probe.get(url + "/health", host=HOST)  # the system's trust store
    assert answer.status is None and answer.failure == probe.TLS
    assert "certificate verify failed" in answer.detail
    assert not answer.unreachable


def test_the_wrong_name_fails_the_certificate_check(tls_server):
    _, url, ca = tls_server
    answer = probe.get(url + "/health", ca_bundle=ca)  # 127.0.0.1 is not on the certificate
    assert answer.failure == probe.TLS


def test_nothing_listening_is_unreachable():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = probe.get(f"http://127.0.0.1:{port}/health")
    assert answer.unreachable and answer.detail == "Connection refused"
