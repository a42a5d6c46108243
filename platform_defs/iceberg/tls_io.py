"""pyiceberg's Arrow FileIO, made to trust the platform's CA for an https store.

pyiceberg 0.12 builds `pyarrow.fs.S3FileSystem` without passing any CA option, so against a
store whose certificate comes from a private CA every read fails with curl error 60. Arrow's
S3FileSystem takes `tls_ca_file_path` per file system (checked: one process can hold a
filesystem with the platform CA and one without, and only the first connects). This subclass
adds that single argument from the catalog property `s3.ca-bundle`; certificate verification
stays on. Environment-wide switches (SSL_CERT_FILE, AWS_CA_BUNDLE) are not used: they would
change what every other client in the process trusts.
"""

from __future__ import annotations

from typing import Any

from pyiceberg.io.pyarrow import PyArrowFileIO

from platform_defs.iceberg.catalog import CA_BUNDLE_PROPERTY


class CaBundlePyArrowFileIO(PyArrowFileIO):
    """PyArrowFileIO whose S3 file systems verify the store against `s3.ca-bundle`."""

    def _initialize_s3_fs(self, netloc: str | None) -> Any:
        fs = super()._initialize_s3_fs(netloc)
        ca = self.properties.get(CA_BUNDLE_PROPERTY)
        if not ca:
            return fs
        # S3FileSystem is immutable: rebuild it through Arrow's own pickling contract
        # (reconstruct(options)), with the same options plus the CA file.
        reconstruct, (options,) = fs.__reduce__()
        return reconstruct({**options, "tls_ca_file_path": ca})
