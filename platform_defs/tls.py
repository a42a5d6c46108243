"""A private CA and a server certificate, for both targets: the Kubernetes ingress hosts on
clusters without cert-manager (`k8s/prepare.py`), and the embedded store's HTTPS
(`local_tls.py`). Pure cryptography, so neither target imports the other to get it.

The CA carries a critical name constraint limiting it to the names it is for: people are
told to trust it (S3 clients, browsers), and a trusted CA whose key sits in a developer's
directory must not be able to vouch for any other site. The server certificate is renewed
well before expiry and whenever the hosts it must cover change, signed by the same CA so that
clients keep trusting it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=397)
# Renew the server certificate when less than this is left, so a rerun before a demo fixes it.
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class KeyPair:
    """PEM bytes of a certificate and its private key."""

    cert_pem: bytes
    key_pem: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _general_name(host: str) -> x509.GeneralName:
    """An IP address SAN for a literal address (clients match `https://127.0.0.1` against it),
    a DNS SAN otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _san_values(cert: x509.Certificate) -> list[str]:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    return sorted(sans.get_values_for_type(x509.DNSName) + ips)


def make_ca(
    common_name: str,
    permitted_suffix: str,
    permitted_networks: Sequence[str] = (),
) -> KeyPair:
    """A self-signed CA that may only sign names under `permitted_suffix` (and, when given, IP
    addresses inside `permitted_networks`; without them IP SANs are unconstrained)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    suffix = permitted_suffix.lstrip(".")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[
                    x509.DNSName(suffix),
                    x509.DNSName(f".{suffix}"),
                    *(x509.IPAddress(ipaddress.ip_network(n)) for n in permitted_networks),
                ],
                excluded_subtrees=None,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def make_server_cert(ca: KeyPair, hosts: Sequence[str], *, client_auth: bool = False) -> KeyPair:
    """A TLS server certificate for `hosts`, signed by `ca`; with `client_auth` also usable as
    the client side of mutual TLS (one certificate per peer that both serves and dials)."""
    usages = [ExtendedKeyUsageOID.SERVER_AUTH]
    if client_auth:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key written by this tool")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def ca_is_usable(ca: KeyPair) -> bool:
    """True when `ca` parses, its key matches, and it outlives a fresh server certificate."""
    try:
        cert = x509.load_pem_x509_certificate(ca.cert_pem)
        key = serialization.load_pem_private_key(ca.key_pem, password=None)
    except ValueError:
        return False
    same_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return same_key and cert.not_valid_after_utc > _now() + SERVER_VALIDITY


def server_cert_is_current(server: KeyPair, ca: KeyPair, hosts: Sequence[str]) -> bool:
    """True when `server` was signed by `ca`, covers exactly `hosts` and is not due for renewal."""
    try:
        cert = x509.load_pem_x509_certificate(server.cert_pem)
        ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
        key = serialization.load_pem_private_key(server.key_pem, password=None)
        cert.verify_directly_issued_by(ca_cert)
        sans = _san_values(cert)
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    matches_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return (
        matches_key and sans == sorted(hosts) and cert.not_valid_after_utc > _now() + RENEW_BEFORE
    )
