"""HTTPS through the SSRF guard: the socket goes to the checked address, while TLS still verifies
the certificate against the URL's host name (pinning must not weaken certificate checks)."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifier.adapters.webhook_sender import guarded_session
from notifier.domain.address_policy import AddressPolicy

HOST = "hooks.example.test"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for HOST only; the test trusts it as its CA bundle."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def https_server(certificate):
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format, *args):
            """Quiet."""

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            """A refused handshake is what one test expects; no traceback on stderr."""

    server = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1], hosts
    server.shutdown()
    server.server_close()


def to_loopback(host, port):
    return ["127.0.0.1"]


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_url_host(https_server, certificate):
    port, hosts = https_server
    session = guarded_session(AddressPolicy(allow_private=True), resolver=to_loopback)

    response = session.post(f"https://{HOST}:{port}/hook", data=b"{}", verify=str(certificate[0]), timeout=5)

    assert response.status_code == 204
    assert hosts == [f"{HOST}:{port}"]


def test_a_certificate_for_another_name_is_rejected_even_though_the_address_is_the_same(https_server, certificate):
    port, hosts = https_server
    session = guarded_session(AddressPolicy(allow_private=True), resolver=to_loopback)

    with pytest.raises(requests.exceptions.SSLError, match=r"match|mismatch"):
        session.post(f"https://other.example.test:{port}/hook", data=b"{}", verify=str(certificate[0]), timeout=5)
    assert hosts == []
