"""A secret scanner for the repository: `python -m platform_defs.secret_scan [repo]`.

Run by `make scan-secrets` (part of `make test`). It reads every file git tracks or has staged
and fails on: private keys, certificates, AWS-style access key ids, key/secret/password
assignments with a random-looking literal, files whose names say key material (.pem, .key,
.p12, ...), and any quoted string whose SHA-256 is one of the publicly known credentials in
`platform_defs.credentials` (so the guide's sample password is caught without being written
down here). Findings name the file, line and rule, never the secret. A line that must hold a
look-alike (a test's deliberately fake key) carries the marker `secret-scan: allow`.

A small checker of our own with gitleaks-style rules, rather than a new dependency: the rules
the platform needs fit on one screen, and the hash rule needs the platform's own digests.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from platform_defs.credentials import is_publicly_known

ALLOW_MARKER = "secret-scan: allow"
_B64_LINE = r"\s*\n\s*[A-Za-z0-9+/=]{40,}"
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----" + _B64_LINE)),
    ("certificate", re.compile(r"-----BEGIN CERTIFICATE-----" + _B64_LINE)),
    ("aws-access-key-id", re.compile(r"\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b")),
)
_ASSIGNMENT = re.compile(
    r"""(?i)\b[\w.-]*(secret|password|passwd|pwd|token|secret_?key|access_?key)[\w.-]*"""
    r"""["']?\s*[:=]\s*["']([^"'\s]{12,})["']"""
)
# Values of assignments and quoted strings, compared by digest with the known credentials.
_TOKEN = re.compile(r"""["'`]([^"'`\s]{4,128})["'`]|[:=]\s*([^"'`\s,;)]{4,128})""")
_NAME_LIKE = re.compile(r"^([a-z0-9]+[-_./])+[a-z0-9]+$|^[A-Z0-9_]+$")
_WORD = re.compile(r"^[a-z]+$")
KEY_FILE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".crt", ".der")
MIN_ENTROPY = 3.5  # bits per character: random 40-char secrets score ~5, words ~3


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def scan_text(path: str, text: str) -> list[Finding]:
    """Every finding in one file's text (allow-marked lines excepted)."""
    lines = text.splitlines()
    found: list[Finding] = []

    def add(offset: int, rule: str) -> None:
        line = _line_of(text, offset)
        if ALLOW_MARKER not in (lines[line - 1] if line <= len(lines) else ""):
            found.append(Finding(path, line, rule))

    for rule, pattern in RULES:
        for m in pattern.finditer(text):
            add(m.start(), rule)
    for m in _ASSIGNMENT.finditer(text):
        value = m.group(2)
        if entropy(value) >= MIN_ENTROPY and not _placeholder(value):
            add(m.start(2), "high-entropy-credential-assignment")
    for m in _TOKEN.finditer(text):
        value = m.group(1) or m.group(2)
        # Plain words ("password", vendor defaults) are named in docs and tests on purpose;
        # they are refused at runtime by platform_defs.credentials instead.
        if not _WORD.match(value) and is_publicly_known(value):
            add(m.start(), "publicly-known-credential")
    return found


def _placeholder(value: str) -> bool:
    """Templates, names and identifiers: `${VAR}`, `<your-key>`, `iceberg-minio-config`,
    `PLATFORM_S3_SECRET_KEY`. Generated secrets are mixed-case or unseparated, not these."""
    v = value.lower()
    if _NAME_LIKE.match(value):
        return True
    return any(s in v for s in ("${", "{", "<", "example", "changeme", "***", "xxxx", "$("))


def tracked_files(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    return [p for p in out.decode().split("\0") if p]


def scan_repo(repo: Path) -> list[Finding]:
    findings: list[Finding] = []
    for rel in tracked_files(repo):
        path = repo / rel
        if rel.endswith(KEY_FILE_SUFFIXES):
            findings.append(Finding(rel, 1, "key-or-certificate-file"))
            continue
        try:
            data = path.read_bytes()
        except (IsADirectoryError, FileNotFoundError):
            continue
        if b"\0" in data[:8192]:
            continue  # binary; key material in binary form is caught by name above
        findings += scan_text(rel, data.decode("utf-8", errors="replace"))
    return findings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo = Path(args[0] if args else ".").resolve()
    findings = scan_repo(repo)
    for f in findings:
        print(f, file=sys.stderr)
    if findings:
        print(
            f"secret scan: {len(findings)} finding(s) in {repo}. Remove the secret (and rotate "
            f"it if it was ever pushed), or mark a deliberate fake with `{ALLOW_MARKER}`.",
            file=sys.stderr,
        )
        return 1
    print(f"secret scan: {len(tracked_files(repo))} files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
