"""Make the JVM trust a private CA: a PKCS12 truststore generated from the endpoint's PEM bundle.

The JVM ignores PEM files and the system trust settings Python uses, so an `https://` store with a
self-signed CA fails in Spark with "PKIX path building failed" unless the JVM gets a truststore.
The store is regenerated whenever the PEM changes (its sha256 is part of the file name), so a
rotated CA never leaves a stale truststore behind. Only the bundle's CAs are trusted (not the JDK
defaults): the driver talks to the platform's own store and catalog, nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from platform_defs.errors import StoreUnreachableError
from platform_defs.private import FILE_MODE, private_dir

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
TRUSTSTORE_PASSWORD = "lakehouse-truststore"  # a truststore holds public certificates only


def _keytool(java_home: Path | None) -> str:
    return str(java_home / "bin" / "keytool") if java_home else "keytool"


def truststore_for(ca_bundle: Path, state_dir: Path, java_home: Path | None = None) -> Path:
    """Path of a PKCS12 truststore holding every certificate of `ca_bundle` (created if needed)."""
    pem = ca_bundle.read_text(encoding="ascii")
    certs = _PEM_CERT.findall(pem)
    if not certs:
        raise StoreUnreachableError(
            f"The CA bundle {ca_bundle} holds no PEM certificate; Spark cannot trust the store. "
            "Point it at the CA certificate (-----BEGIN CERTIFICATE-----) of the store."
        )
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    dest = state_dir / f"truststore-{digest}.p12"
    if dest.is_file():
        return dest
    private_dir(state_dir)
    with tempfile.TemporaryDirectory(dir=state_dir) as tmp:
        staging = Path(tmp) / "truststore.p12"
        for index, cert in enumerate(certs):
            cert_file = Path(tmp) / f"ca-{index}.pem"
            cert_file.write_text(cert + "\n", encoding="ascii")
            subprocess.run(
                [
                    _keytool(java_home),
                    "-importcert",
                    "-noprompt",
                    "-alias",
                    f"ca-{index}",
                    "-file",
                    str(cert_file),
                    "-keystore",
                    str(staging),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    TRUSTSTORE_PASSWORD,
                ],
                check=True,
                capture_output=True,
            )
        staging.chmod(FILE_MODE)  # keytool writes it with the process umask
        os.replace(staging, dest)
    return dest
