"""The course's certificate authority: the certificates the mTLS proxy sidecars present.

A workload's identity is its service account, written as a SPIFFE ID in the certificate's
subject alternative names (spiffe://k8s-course/ns/<namespace>/sa/<service account>), next to
the DNS names it answers to. Every certificate serves both ends of mTLS (server and client),
as a sidecar proxy both accepts and makes calls. `tls_secret` puts one into a Secret manifest.

Unlike the pod programs, this module runs in the course package (it needs `cryptography`);
certificates are made beforehand and mounted into pods.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "IssuedCertificate", "issue", "make_ca", "spiffe_id", "tls_secret"]

TRUST_DOMAIN = "k8s-course"


@dataclass(frozen=True)
class CertificateAuthority:
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class IssuedCertificate:
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes  # the issuer's certificate, which peers must trust
    identity: str  # the SPIFFE ID


def spiffe_id(namespace: str, service_account: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256: as strong as RSA-3072 for our purpose, and made in microseconds rather than seconds
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.timezone.utc)
    # a little in the past, so that a node whose clock lags still accepts a fresh certificate
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def make_ca(common_name: str = "k8s-course CA", days: int = 365) -> CertificateAuthority:
    """A new self-signed CA that may sign workload certificates (and nothing below them)."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "k8s-course"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before, not_after = _validity(days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(
    ca: CertificateAuthority,
    namespace: str,
    service_account: str,
    dns_names: list[str] | tuple[str, ...] = (),
    days: int = 30,
) -> IssuedCertificate:
    """A certificate for the workload running as `service_account` in `namespace`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    key = _new_key()
    identity = spiffe_id(namespace, service_account)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(identity)]
    names += [x509.DNSName(dns) for dns in dns_names]
    not_before, not_after = _validity(days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{service_account}.{namespace}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return IssuedCertificate(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key), ca.cert_pem, identity)


def tls_secret(name: str, namespace: str, issued: IssuedCertificate, labels: dict[str, str] | None = None) -> dict:
    """A `kubernetes.io/tls` Secret holding the certificate, its key and the CA (ca.crt)."""

    def encoded(pem: bytes) -> str:
        return base64.b64encode(pem).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "k8s-course", **(labels or {})},
            "annotations": {"k8s-course/identity": issued.identity},
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": encoded(issued.cert_pem), "tls.key": encoded(issued.key_pem), "ca.crt": encoded(issued.ca_pem)},
    }
