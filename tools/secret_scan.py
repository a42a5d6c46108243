"""The repository's secret scan: `python -m tools.secret_scan [repo]` (`make scan-secrets`).

detect-secrets does the scanning, with its standard plugins and heuristic filters plus the
platform's own (`tools/secret_scan_plugins.py`): the publicly known credentials by SHA-256
digest (so the guide's sample password is caught without being written down here), PEM
certificates, and a filter for names that only look like secrets. On top of detect-secrets,
this wrapper adds what a line-based scanner cannot see: files whose names say key material
(.pem, .key, .p12, ...), whatever they hold.

It scans every file git tracks or would track (untracked but not ignored), so generated
credentials under ignored state directories are never read. One finding per secret and line,
named by the most specific rule; findings name the file, line and rule, never the secret. A
line that must hold a look-alike (a test's deliberately fake key) carries detect-secrets' own
marker, `pragma: allowlist secret`, in a comment. No `.secrets.baseline`: the repository
scans clean, so there is nothing to baseline, and a baseline would hide a reintroduced secret
whose hash it already lists.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detect_secrets.core import scan
from detect_secrets.settings import transient_settings

from tools import secret_scan_plugins as plugins

ALLOW_MARKER = "pragma: allowlist secret"
KEY_FILE = "Key Or Certificate File"
KEY_FILE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".crt", ".der")
# Every plugin detect-secrets 1.5 ships (what `detect-secrets scan` uses by default), with
# their default limits except one: hex strings need 3.5 bits per character rather than 3.0, so
# short hex ids (kustomize's 10-character name hashes, pod-template-hash) stay below it while
# 32+ character hex secrets do not.
_LIMITS = {"Base64HighEntropyString": 4.5, "HexHighEntropyString": 3.5}
_PLUGINS = [
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "Base64HighEntropyString",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "HexHighEntropyString",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "IPPublicDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
]
_FILTERS = [
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_templated_secret",
]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def settings() -> dict[str, Any]:
    """detect-secrets settings: its plugins and filters plus the platform's own."""
    own = f"file://{Path(plugins.__file__).resolve()}"
    return {
        "plugins_used": [
            *({"name": n, **({"limit": _LIMITS[n]} if n in _LIMITS else {})} for n in _PLUGINS),
            {"name": "PubliclyKnownCredentialDetector", "path": own},
            {"name": "CertificateDetector", "path": own},
        ],
        "filters_used": [
            *({"path": f} for f in _FILTERS),
            {"path": f"{own}::is_name_or_placeholder"},
        ],
    }


def _rank(rule: str) -> int:
    """Which rule names a secret several rules found: known values, then formats, then
    keyword-style context, then entropy alone."""
    if rule == plugins.KNOWN_CREDENTIAL:
        return 0
    if rule not in plugins.GENERIC_TYPES:
        return 1
    return 3 if "Entropy" in rule else 2


def tracked_files(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    return [p for p in out.decode().split("\0") if p and (repo / p).is_file()]


def _text_files(repo: Path, files: list[str]) -> Iterator[str]:
    for rel in files:
        with (repo / rel).open("rb") as fh:
            if b"\0" not in fh.read(8192):
                yield rel  # binary files: key material in binary form is caught by name


def _scan_one(path: str) -> list[tuple[int, str, str]]:
    """One file's findings as (line, secret hash, rule)."""
    return [(s.line_number, s.secret_hash, s.type) for s in scan.scan_file(path)]


def scan_repo(repo: Path) -> list[Finding]:
    files = tracked_files(repo)
    findings = [Finding(rel, 1, KEY_FILE) for rel in files if rel.endswith(KEY_FILE_SUFFIXES)]
    text = list(_text_files(repo, [f for f in files if not f.endswith(KEY_FILE_SUFFIXES)]))
    best: dict[tuple[str, int, str], str] = {}
    with transient_settings(settings()):
        # One file after another, not detect-secrets' `scan_files`: that forks a pool from the
        # calling process, and a fork of a process with threads (a test session, a Dagster step)
        # can inherit a lock some thread held and hang for ever. The whole repository takes
        # about ten seconds this way.
        for rel in text:
            for line, secret_hash, rule in _scan_one(str(repo / rel)):
                key = (rel, line, secret_hash)
                if key not in best or _rank(rule) < _rank(best[key]):
                    best[key] = rule
    findings += [Finding(path, line, rule) for (path, line, _), rule in best.items()]
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo = Path(args[0] if args else ".").resolve()
    findings = scan_repo(repo)
    for f in findings:
        print(f, file=sys.stderr)
    if findings:
        print(
            f"secret scan: {len(findings)} finding(s) in {repo}. Remove the secret (and rotate "
            f"it if it was ever pushed), or mark a deliberate fake with `# {ALLOW_MARKER}`.",
            file=sys.stderr,
        )
        return 1
    print(f"secret scan (detect-secrets): {len(tracked_files(repo))} files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
