"""TLS for the embedded store: a CA generated in the state directory, and a server certificate.

The CA code is shared with the Kubernetes path (`platform_defs.tls`), one implementation of
"make a CA that can only vouch for our names". Locally the CA is constrained to `localhost` and
127.0.0.0/8: trusting it cannot make a client trust any other site, even if its key leaked
from the state directory. Clients are never told to skip verification; they get `ca.pem` as
`StoreEndpoint.ca_bundle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platform_defs import tls
from platform_defs.credentials import write_private_text
from platform_defs.errors import TLSConfigError
from platform_defs.settings import PlatformSettings

HOSTS = ("127.0.0.1", "localhost")
CA_NAME = "lakehouse-platform local CA"


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path  # public: what clients trust
    cert: Path
    key: Path  # 0600


def tls_files(settings: PlatformSettings) -> TlsFiles:
    d = settings.tls_dir
    return TlsFiles(d / "ca.pem", d / "server.pem", d / "server-key.pem")


def _read(cert: Path, key: Path) -> tls.KeyPair | None:
    if cert.is_file() and key.is_file():
        return tls.KeyPair(cert.read_bytes(), key.read_bytes())
    return None


def ensure_store_tls(settings: PlatformSettings) -> TlsFiles:
    """Create the CA and server certificate if missing or due; keep them otherwise, so clients
    that already trust the CA keep working across restarts."""
    files = tls_files(settings)
    ca_key = settings.tls_dir / "ca-key.pem"
    ca = _read(files.ca_cert, ca_key)
    if ca is None or not tls.ca_is_usable(ca):
        ca = tls.make_ca(CA_NAME, "localhost", ["127.0.0.0/8"])
        write_private_text(ca_key, ca.key_pem.decode())
        write_private_text(files.ca_cert, ca.cert_pem.decode())  # 0600 like all state
    server = _read(files.cert, files.key)
    if server is None or not tls.server_cert_is_current(server, ca, HOSTS):
        server = tls.make_server_cert(ca, HOSTS)
        write_private_text(files.key, server.key_pem.decode())
        write_private_text(files.cert, server.cert_pem.decode())
    return files


@dataclass(frozen=True)
class MutualTlsFiles:
    ca_cert: Path
    cert: Path  # serves and dials: SeaweedFS's components all share one pair
    key: Path


def mutual_tls_files(directory: Path) -> MutualTlsFiles:
    return MutualTlsFiles(
        directory / "grpc-ca.pem", directory / "grpc.pem", directory / "grpc-key.pem"
    )


def ensure_mutual_tls(directory: Path) -> MutualTlsFiles:
    """A private CA and one certificate (server and client use) for the embedded store's
    internal gRPC, kept while current. The CA's key is never written down: nothing but weed
    itself has to trust this CA, so when the certificate is due both are simply made anew,
    and no file on disk can mint another certificate the store would accept."""
    files = mutual_tls_files(directory)
    ca_pem = files.ca_cert.read_bytes() if files.ca_cert.is_file() else b""
    pair = _read(files.cert, files.key)
    if pair is None or not tls.server_cert_is_current(pair, tls.KeyPair(ca_pem, b""), HOSTS):
        # DNS-only constraint: gRPC's BoringSSL rejects IP-address name constraints.
        ca = tls.make_ca("lakehouse-platform store-internal CA", "localhost")
        pair = tls.make_server_cert(ca, HOSTS, client_auth=True)
        write_private_text(files.key, pair.key_pem.decode())
        write_private_text(files.cert, pair.cert_pem.decode())
        write_private_text(files.ca_cert, ca.cert_pem.decode())
    return files


def require_ca_bundle(path: Path) -> Path:
    """`path` if it holds a PEM certificate; a clear error instead of a TLS failure later."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise TLSConfigError(
            f"The CA bundle {path} cannot be read ({exc.strerror}). Point PLATFORM_S3_CA_BUNDLE "
            "at the PEM file of the CA that signed the store's certificate."
        ) from None
    if "BEGIN CERTIFICATE" not in text:
        raise TLSConfigError(
            f"The CA bundle {path} holds no PEM certificate. Point PLATFORM_S3_CA_BUNDLE at the "
            "CA certificate (-----BEGIN CERTIFICATE-----), not at a key or a DER file."
        )
    return path
