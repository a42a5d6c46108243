"""Write the `.env` that docker-compose.yml reads: `python -m platform_defs.compose_env`.

The compose file has no default for any credential (`${VAR:?...}`), so someone has to create
them; doing it by hand invites `minioadmin` or a copy of the guide's sample. This tool generates
each missing value with `platform_defs.credentials.generate`, checks the values already there
with `credentials.validate` (the same refusals as everywhere else in the platform), and writes
the file with mode 0600. It is idempotent: values already present are kept byte for byte, so a
second run changes nothing and a running stack keeps working. Other lines of the file (comments,
your own settings) are kept as they are. Values are never printed.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from platform_defs import credentials
from platform_defs.errors import CredentialsError

Kind = Literal["access_key", "secret"]


@dataclass(frozen=True)
class Variable:
    """One credential compose needs. A secret belongs to a user: the Postgres role `user`, or
    the access key held in the variable `user_variable` (checked as a pair: never equal)."""

    name: str
    kind: Kind
    purpose: str
    user: str = ""
    user_variable: str = ""


# Every `${VAR:?...}` of docker-compose.yml (a test keeps the two lists equal).
VARIABLES: tuple[Variable, ...] = (
    Variable("PLATFORM_S3_ACCESS_KEY", "access_key", "MinIO root user = the platform's root"),
    Variable(
        "PLATFORM_S3_SECRET_KEY",
        "secret",
        "MinIO root password",
        user_variable="PLATFORM_S3_ACCESS_KEY",
    ),
    Variable("DAGSTER_POSTGRES_PASSWORD", "secret", "Postgres role `dagster`", user="dagster"),
    Variable("CATALOG_POSTGRES_PASSWORD", "secret", "Postgres role `iceberg`", user="iceberg"),
)
# What .env.example holds instead of a value; treated as "not set yet".
PLACEHOLDER = "<generated-by-make-compose-env>"
# Values end up inside URIs (postgresql+psycopg2://iceberg:<password>@...) and MinIO's
# environment: only characters that need no quoting anywhere.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._~-]+$")


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them, through python-dotenv's parser (comments,
    `export`, quotes); no interpolation, so a `${VAR}` stays what the file says."""
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value or "" for key, value in values.items()}


def _check(values: Mapping[str, str], path: Path) -> None:
    """Refuse present values the platform would refuse at run time, before compose uses them."""
    for var in VARIABLES:
        value = values.get(var.name)
        if not value:
            continue
        if not _SAFE_VALUE.match(value):
            raise CredentialsError(
                f"{var.name} in {path} is not a usable value (a placeholder copied from "
                ".env.example, or characters that would need quoting in a URI). Delete the "
                "line and run `make compose-env` again to generate one."
            )
    for var in VARIABLES:
        if var.kind != "secret" or not values.get(var.name):
            continue
        user = values.get(var.user_variable, "") if var.user_variable else var.user
        credentials.validate(
            credentials.Credentials(access_key=user or var.name, secret_key=values[var.name]),
            source=f"{var.name} in {path}",
        )


def _generate(var: Variable) -> str:
    pair = credentials.generate()
    return pair.access_key if var.kind == "access_key" else pair.secret_key


def ensure_env(path: Path) -> list[str]:
    """Make `path` hold every compose credential; returns the names it generated (not values).

    A variable that is absent, empty or still `.env.example`'s placeholder is generated (in
    place, so the comments above it stay put); present values are validated and kept. The file
    ends up mode 0600 either way.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    values = {k: v for k, v in parse_env(text).items() if v and v != PLACEHOLDER}
    _check(values, path)
    missing = [v for v in VARIABLES if v.name not in values]
    if not missing:
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return []
    for var in missing:
        values[var.name] = _generate(var)
    _check(values, path)
    names = {v.name for v in missing}
    lines: list[str] = []
    written: set[str] = set()
    # python-dotenv's bindings keep each entry's original text, so every other line (comments,
    # your own settings, even lines it cannot parse) is written back byte for byte.
    for binding in parse_stream(io.StringIO(text)):
        if binding.key in names:
            if binding.key not in written:
                lines.append(f"{binding.key}={values[binding.key]}")
                written.add(binding.key)
            continue
        lines.append(binding.original.string.removesuffix("\n"))
    if not text:
        lines.append(
            "# docker-compose.yml credentials, written by `make compose-env`. Never commit."
        )
    for var in missing:
        if var.name not in written:
            lines += [f"# {var.purpose}", f"{var.name}={values[var.name]}"]
    credentials.write_private_text(path, "\n".join(lines) + "\n")
    return [v.name for v in missing]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="default: ./.env")
    args = parser.parse_args(argv)
    path: Path = args.env_file
    try:
        generated = ensure_env(path)
    except CredentialsError as exc:
        print(f"compose-env: {exc}", file=sys.stderr)
        return 1
    if generated:
        print(f"compose-env: generated {', '.join(generated)} in {path} (mode 0600)")
    else:
        print(f"compose-env: {path} already has every credential; nothing changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
