"""The sandbox's certificates for `sandbox up --https`: a private CA made at start and a server
certificate it signs for 127.0.0.1 and localhost (the names the listener proxies answer on).

The server certificate is imported into the emulated ACM (ImportCertificate), so the config's
`listener.certificate_arns` names it as it would name an ACM certificate in AWS; clients verify
the chain through the CA file (`deploy.ca_bundle`).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "sandbox-ca.pem"
CERTIFICATE_FILE = "sandbox-server.pem"
KEY_FILE = "sandbox-server.key"
VALID_DAYS = 30

# The test host a sandbox config uses in test_mode "host": the certificate covers it, as a real
# one must cover the test host it is presented for (the smoke request sends it as the TLS name).
TEST_HOST = "test.localhost"


@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    certificate_pem: bytes
    key_pem: bytes

    def write(self, directory: Path) -> dict[str, Path]:
        """CA, certificate and key files in `directory` (the key readable by its owner only)."""
        paths = {"ca": directory / CA_FILE, "certificate": directory / CERTIFICATE_FILE,
                 "key": directory / KEY_FILE}
        paths["ca"].write_bytes(self.ca_pem)
        paths["certificate"].write_bytes(self.certificate_pem)
        paths["key"].touch(mode=0o600)
        paths["key"].write_bytes(self.key_pem)
        return paths

    def server_context(self, paths: dict[str, Path]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(paths["certificate"], paths["key"])
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stackswap sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates() -> Certificates:
    """A new CA and a server certificate for 127.0.0.1 and localhost, valid for VALID_DAYS."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("stackswap sandbox CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(end)
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName("localhost"), x509.DNSName(TEST_HOST),
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                  critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return Certificates(
        ca_pem=ca.public_bytes(pem), certificate_pem=server.public_bytes(pem),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
