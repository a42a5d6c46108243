"""Find the Java that Spark will use and refuse one it cannot run on.

Without this check a missing or old Java shows up as `JAVA_GATEWAY_EXITED` or an
`UnsupportedClassVersionError` deep in a Py4J traceback. Spark's launcher takes `$JAVA_HOME/bin/java`
when JAVA_HOME is set and `java` on PATH otherwise; we look in the same order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platform_defs.errors import JavaError

SUPPORTED_MAJORS = (17, 21)  # what Spark 4.1 is built and tested for
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')
_REQUIRED = "Spark 4.1 needs Java 17 or 21"
_FIX = (
    "Install OpenJDK 17 (e.g. `apt-get install openjdk-17-jre-headless`) and point JAVA_HOME at it "
    "or put its `bin` on PATH."
)


@dataclass(frozen=True)
class JavaInfo:
    executable: Path
    major: int
    version_line: str


def find_java(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    java_home = env.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if not os.access(candidate, os.X_OK):
            raise JavaError(
                f"JAVA_HOME={java_home} has no executable bin/java. {_REQUIRED}. {_FIX}"
            )
        return candidate
    found = shutil.which("java", path=env.get("PATH", ""))
    if found is None:
        raise JavaError(
            f"No Java found: JAVA_HOME is unset and `java` is not on PATH. {_REQUIRED}. {_FIX}"
        )
    return Path(found)


def parse_major(version_output: str) -> int:
    """`java -version` says `"1.8.0_392"` for Java 8 and `"17.0.15"` from Java 9 on."""
    match = _VERSION.search(version_output)
    if match is None:
        raise JavaError(f"Cannot read the Java version from {version_output!r}. {_REQUIRED}.")
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


def check_java(env: Mapping[str, str] | None = None) -> JavaInfo:
    """The Java Spark will launch, verified to be a supported major version."""
    java = find_java(env)
    try:
        proc = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise JavaError(f"Cannot run {java}: {exc}. {_REQUIRED}. {_FIX}") from exc
    output = proc.stderr or proc.stdout
    major = parse_major(output)
    if major not in SUPPORTED_MAJORS:
        raise JavaError(f"{java} is Java {major}; {_REQUIRED}. {_FIX}")
    return JavaInfo(executable=java, major=major, version_line=output.splitlines()[0])
