"""Classpath and compiled classes of the REST catalog server.

The server is one small Java class (`LakehouseRestCatalog.java`, committed as source) on top of
Apache Iceberg's own REST catalog servlet from iceberg-core's test jar. The class is compiled with
the JDK's `javac` once per source version into the jar cache (outside git), so the repository holds
no build output and an edited source is recompiled on the next start.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from platform_defs.errors import RestCatalogError
from platform_defs.settings import PlatformSettings
from platform_defs.spark import jars
from platform_defs.spark.java import check_java

SOURCE = Path(__file__).with_name("LakehouseRestCatalog.java")
MAIN_CLASS = "LakehouseRestCatalog"
# From group `core`: the catalog databases' JDBC drivers only. Not the Spark runtime, whose Iceberg
# classes would clash with iceberg-core 1.11.0, nor the 1.12.0 aws-bundle, whose AWS SDK lacks the
# Apache HTTP client iceberg-aws 1.11.0 builds (group `rest` has the 1.11.0 bundle).
_CORE_ARTIFACTS = ("sqlite-jdbc", "postgresql")


def classpath(settings: PlatformSettings) -> list[Path]:
    """The verified jars of group `rest` plus the few core jars the server needs."""
    cache = settings.resolved_jar_cache_dir
    specs = [
        s
        for s in jars.read_lock()
        if s.group == "rest" or (s.group == "core" and s.artifact_id in _CORE_ARTIFACTS)
    ]
    return [jars.verified_jar(cache, spec) for spec in specs]


def code_fingerprint() -> str:
    """Changes when the server's source or its pinned jars change (a running server restarts)."""
    return hashlib.sha256(SOURCE.read_bytes() + jars.LOCK_PATH.read_bytes()).hexdigest()


def java_binary() -> Path:
    return check_java().executable


def compiled_classes(settings: PlatformSettings, jar_paths: list[Path]) -> Path:
    """The directory holding the compiled server class, compiling it if this source is new."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    out = settings.resolved_jar_cache_dir / "rest-catalog-classes" / digest
    if (out / f"{MAIN_CLASS}.class").is_file():
        return out
    javac = java_binary().resolve().parent / "javac"
    if not javac.is_file():
        found = shutil.which("javac")
        if found is None:
            raise RestCatalogError(
                f"No `javac` beside {java_binary()} or on PATH: the REST catalog server is "
                "compiled once from platform_defs/rest_catalog/LakehouseRestCatalog.java. Install "
                "a full JDK 17 or 21 (Debian: `apt-get install openjdk-17-jdk-headless`)."
            )
        javac = Path(found)
    tmp = out.with_name(f".{digest}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cp = ":".join(str(j) for j in jar_paths)
    result = subprocess.run(
        [str(javac), "-nowarn", "-d", str(tmp), "-cp", cp, str(SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RestCatalogError(
            f"Compiling {SOURCE.name} failed ({javac}):\n{result.stderr.strip()[-2000:]}"
        )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
