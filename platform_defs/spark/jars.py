"""The Spark/Iceberg jars: pinned with sha256 in `jars.lock`, fetched once, then used offline.

Spark's own `spark.jars.packages` resolves from the network at every cold start and trusts
whatever the mirror serves. Instead the lock file names each jar and its digest; `fetch` downloads
into the cache dir once (atomically, verified), and every Spark session start hashes the jars it
puts on `spark.jars` again. A stamp of size and mtime was tried and is not enough: a jar changed
in place with its mtime put back passed it. Hashing the core jars (131 MB) costs about 0.45 s on a
loaded 2-core machine, a small part of a Spark start (several seconds), so it is done once per
session start (`resolve`), not per file access; the hadoop group (775 MB) costs about 3 s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from platform_defs.errors import SparkJarsError

LOCK_PATH = Path(__file__).with_name("jars.lock")
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
FETCH_COMMAND = "python -m platform_defs.spark.jars fetch"
_CHUNK = 1 << 20
# core: on spark.jars; hadoop: the s3a catalog option; rest: the REST catalog server's classpath.
GROUPS = ("core", "hadoop", "rest")


@dataclass(frozen=True)
class JarSpec:
    group: str  # "core", "hadoop" or "rest"
    coordinate: str  # groupId:artifactId:version[:classifier]
    sha256: str

    @property
    def artifact_id(self) -> str:
        return self.coordinate.split(":")[1]

    @property
    def version(self) -> str:
        return self.coordinate.split(":")[2]

    @property
    def classifier(self) -> str:
        """e.g. `tests` (iceberg-core's test jar holds the REST catalog servlet); "" for none."""
        parts = self.coordinate.split(":")
        return parts[3] if len(parts) == 4 else ""

    @property
    def filename(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact_id}-{self.version}{suffix}.jar"

    @property
    def url_path(self) -> str:
        group_id, artifact, version = self.coordinate.split(":")[:3]
        return f"{group_id.replace('.', '/')}/{artifact}/{version}/{self.filename}"

    @property
    def mvn_artifact(self) -> str:
        """`mvn dependency:copy`'s form: groupId:artifactId:version:jar[:classifier]."""
        group_id, artifact, version = self.coordinate.split(":")[:3]
        tail = f":{self.classifier}" if self.classifier else ""
        return f"{group_id}:{artifact}:{version}:jar{tail}"


def read_lock(path: Path = LOCK_PATH) -> list[JarSpec]:
    specs = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or parts[1].count(":") not in (2, 3):
            raise SparkJarsError(
                f"{path}:{lineno} is not `<group> <groupId:artifactId:version[:classifier]> "
                f"<sha256>`: {raw!r}"
            )
        specs.append(JarSpec(group=parts[0], coordinate=parts[1], sha256=parts[2].lower()))
    return specs


def select(specs: Iterable[JarSpec], groups: Sequence[str]) -> list[JarSpec]:
    return [s for s in specs if s.group in groups]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stale_stamp(jar: Path) -> Path:
    """Where earlier versions kept a size/mtime stamp; no longer trusted, removed by `fetch`."""
    return jar.with_name(jar.name + ".verified")


def verified_jar(cache_dir: Path, spec: JarSpec) -> Path:
    """The cached jar for `spec` after hashing it, or a SparkJarsError naming it and the fix."""
    jar = cache_dir / spec.filename
    fetch = f"{FETCH_COMMAND} --group {spec.group}"
    if not jar.is_file():
        raise SparkJarsError(
            f"Spark jar {spec.coordinate} is missing: {jar} does not exist. Run `{fetch}` "
            f"(cache dir {cache_dir}; set PLATFORM_JAR_CACHE_DIR to move it)."
        )
    actual = sha256_of(jar)
    if actual != spec.sha256:
        raise SparkJarsError(
            f"Spark jar {spec.coordinate} at {jar} is corrupted: expected sha256 {spec.sha256} "
            f"(from {LOCK_PATH.name}), found {actual}. Run `.venv/bin/{fetch}`: it replaces "
            "the damaged file with a verified download (or delete the file and run it)."
        )
    return jar


def resolve(cache_dir: Path, groups: Sequence[str] = ("core",)) -> list[Path]:
    """Local paths of the verified jars of `groups`, in lock-file order, for `spark.jars`."""
    return [verified_jar(cache_dir, spec) for spec in select(read_lock(), groups)]


def _download_https(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as resp, dest.open("wb") as out:
        shutil.copyfileobj(resp, out, _CHUNK)


def _download_mvn(spec: JarSpec, dest: Path) -> None:
    """Fallback for machines where only Maven (with its proxy settings) reaches Central."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "mvn",
                "-q",
                "dependency:copy",
                f"-Dartifact={spec.mvn_artifact}",
                f"-DoutputDirectory={tmp}",
                "-Dtransitive=false",
            ],
            check=True,
            capture_output=True,
        )
        shutil.copyfile(Path(tmp) / spec.filename, dest)


def download(spec: JarSpec, dest: Path, repo_url: str = MAVEN_CENTRAL) -> None:
    """Download to a temp file beside `dest`, so a crash never leaves a half jar in place."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        try:
            _download_https(f"{repo_url}/{spec.url_path}", tmp)
        except OSError as https_error:
            try:
                _download_mvn(spec, tmp)
            except (OSError, subprocess.CalledProcessError) as mvn_error:
                raise SparkJarsError(
                    f"Could not download {spec.coordinate}: HTTPS gave {https_error}; "
                    f"`mvn dependency:copy` gave {mvn_error}. Check network/proxy access to "
                    f"{repo_url}, then run `{FETCH_COMMAND}` again."
                ) from mvn_error
        actual = sha256_of(tmp)
        if spec.sha256 != "-" and actual != spec.sha256:
            raise SparkJarsError(
                f"Downloaded {spec.coordinate} has sha256 {actual}, but {LOCK_PATH.name} pins "
                f"{spec.sha256}. The mirror served a different file; do not use it."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(cache_dir: Path, groups: Sequence[str] = ("core", "hadoop")) -> list[Path]:
    """Make the cache hold every jar of `groups`; jars already verified are not downloaded again."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in select(read_lock(), groups):
        dest = cache_dir / spec.filename
        _stale_stamp(dest).unlink(missing_ok=True)
        try:
            paths.append(verified_jar(cache_dir, spec))
            continue
        except SparkJarsError:
            dest.unlink(missing_ok=True)
        print(f"fetching {spec.coordinate}", file=sys.stderr)
        download(spec, dest)
        paths.append(dest)
    return paths


def _central_sha1(spec: JarSpec) -> str:
    with urllib.request.urlopen(f"{MAVEN_CENTRAL}/{spec.url_path}.sha1", timeout=30) as resp:
        return str(resp.read().decode().split()[0].strip().lower())


def relock(cache_dir: Path, path: Path = LOCK_PATH) -> None:
    """Fill the sha256 column: download each jar, check it against Central's published sha1."""
    lines = path.read_text(encoding="utf-8").splitlines()
    specs = {s.coordinate: s for s in read_lock(path)}
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for raw in lines:
        parts = raw.split()
        if raw.lstrip().startswith("#") or len(parts) != 3 or parts[1] not in specs:
            out.append(raw)
            continue
        spec = JarSpec(parts[0], parts[1], "-")
        dest = cache_dir / spec.filename
        download(spec, dest)
        sha1 = hashlib.sha1(dest.read_bytes()).hexdigest()
        if sha1 != _central_sha1(spec):
            raise SparkJarsError(f"{spec.coordinate}: sha1 differs from Maven Central's .sha1")
        out.append(f"{spec.group} {spec.coordinate} {sha256_of(dest)}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    from platform_defs.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m platform_defs.spark.jars")
    parser.add_argument("command", choices=["fetch", "verify", "lock"])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--group", action="append", choices=list(GROUPS))
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or load_settings().resolved_jar_cache_dir
    groups = args.group or ["core", "hadoop"]
    if args.command == "lock":
        relock(cache_dir)
        return 0
    jars = fetch(cache_dir, groups) if args.command == "fetch" else resolve(cache_dir, groups)
    for jar in jars:
        print(jar)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
