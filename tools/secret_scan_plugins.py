"""The platform's own detect-secrets plugins and filter, loaded by `tools/secret_scan.py`.

detect-secrets loads custom plugins from a file (`file://` paths in its settings), so they
live in this module on their own:

- `PubliclyKnownCredentialDetector`: any quoted or assigned value whose SHA-256 is one of the
  publicly known credentials in `platform_defs.credentials` (the guide's samples, vendor
  defaults). The digests are the only form those values take in the repository.
- `CertificateDetector`: a PEM certificate block; detect-secrets has a private-key rule but
  none for certificates, and the platform's certificates are generated, never committed.
- `is_name_or_placeholder`: drops what detect-secrets' keyword, basic-auth and entropy rules
  report on names rather than values (`secretName: minio-tls-secret`, `PLATFORM_S3_SECRET_KEY`,
  API paths in recorded responses, `user:password@host` in docs, vendor defaults that tests
  feed to the refusal code). Generated secrets are mixed-case and unseparated, so they never
  look like these.
"""

from __future__ import annotations

import re
from collections.abc import Generator

from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector

from platform_defs.credentials import is_publicly_known

KNOWN_CREDENTIAL = "Publicly Known Credential"
# Values of assignments and quoted strings, compared by digest with the known credentials.
_TOKEN = re.compile(r"""["'`]([^"'`\s]{4,128})["'`]|[:=]\s*([^"'`\s,;)]{4,128})""")
# Plain words ("password", vendor defaults) are named in docs and tests on purpose; the
# platform refuses them at run time (platform_defs.credentials.validate) instead.
_WORD = re.compile(r"^[a-z]+$")
_NAME_LIKE = re.compile(r"^([a-z0-9]+[-_./])+[a-z0-9]+$|^[A-Z0-9_]+$")
_PLACEHOLDER_MARKS = ("${", "{", "<", "example", "changeme", "***", "xxxx", "$(")
_PLACEHOLDER_WORDS = frozenset({"password", "passwd", "pass", "secret", "token"})
# The rules that fire on shapes rather than on a known format; only these get the filter.
GENERIC_TYPES = frozenset(
    {
        "Secret Keyword",
        "Basic Auth Credentials",
        "Base64 High Entropy String",
        "Hex High Entropy String",
    }
)


class PubliclyKnownCredentialDetector(BasePlugin):
    secret_type = KNOWN_CREDENTIAL

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for m in _TOKEN.finditer(string):
            value = m.group(1) or m.group(2)
            if not _WORD.match(value) and is_publicly_known(value):
                yield value


class CertificateDetector(RegexBasedDetector):
    """The PEM header at the end of a line or before an escaped newline, so prose and source
    that only name the header are not findings."""

    secret_type = "Certificate"  # pragma: allowlist secret
    denylist = (re.compile(r"-----BEGIN CERTIFICATE-----(?:\s*$|\\n[A-Za-z0-9+/])"),)


def is_name_or_placeholder(secret: str, plugin: BasePlugin) -> bool:
    """True for a generic rule's hit that is an identifier, a path or a template."""
    if plugin.secret_type not in GENERIC_TYPES:
        return False
    if any(c.isspace() for c in secret) or secret.lower() in _PLACEHOLDER_WORDS:
        return True
    if _NAME_LIKE.match(secret.lstrip("/")):
        return True
    if _WORD.match(secret) and is_publicly_known(secret):
        return True  # a vendor default such as MinIO's: public, and refused at run time
    return any(mark in secret.lower() for mark in _PLACEHOLDER_MARKS)
