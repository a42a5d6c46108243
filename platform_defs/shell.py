"""`python -m platform_defs.shell {env,sql,spark-sql,pyspark}`: what `make env`, `make sql`,
`make spark-sql` and `make pyspark` run.

The SQL shells are small read-eval-print loops over `platform_defs.connect` rather than the
engines' own CLIs: Spark's `spark-sql` script takes its settings as `--conf` arguments (the S3 keys
would be on a command line every user can read), and no DuckDB CLI of the version whose extension
packages load offline (1.4.4) is on PyPI. Statements end with `;`; `-e` runs one and exits.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from platform_defs import connect
from platform_defs.errors import PlatformError
from platform_defs.rest_catalog import config as rest_config
from platform_defs.settings import load_settings
from platform_defs.spark.conf import CHECKSUM_ENV
from platform_defs.spark_connect.client import uses_connect


def env_lines(identity: str = rest_config.READ_ONLY) -> list[str]:
    """`export` lines for the AWS CLI, boto3, pyiceberg's `load_catalog(name)`, and `mc`."""
    settings = load_settings()
    store = connect.store_endpoint(identity, settings)
    name = settings.catalog_name.upper()
    values = {
        "AWS_ENDPOINT_URL": store.url,
        "AWS_ACCESS_KEY_ID": store.credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": store.credentials.secret_key,
        "AWS_DEFAULT_REGION": store.region,
        **CHECKSUM_ENV,
        f"PYICEBERG_CATALOG__{name}__URI": settings.rest_catalog_url,
        f"PYICEBERG_CATALOG__{name}__TOKEN": rest_config.read_token(settings, identity),
        f"PYICEBERG_CATALOG__{name}__S3__ENDPOINT": store.url,
    }
    if store.ca_bundle is not None:
        values["AWS_CA_BUNDLE"] = str(store.ca_bundle)
    lines = [f'# {identity} identity; eval "$(make -s env)" (IDENTITY=spark to write)']
    lines += [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    lines.append(
        f'# mc alias set lakehouse {shlex.quote(store.url)} "$AWS_ACCESS_KEY_ID" '
        '"$AWS_SECRET_ACCESS_KEY"'
    )
    return lines


def statements(lines: Iterable[str]) -> Iterator[str]:
    """SQL statements from lines, split at a `;` that ends a line."""
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(buffer).strip().rstrip(";").strip()
            buffer = []
            if text:
                yield text
    rest = "\n".join(buffer).strip()
    if rest:
        yield rest


def _prompted(prompt: str) -> Iterator[str]:
    if not sys.stdin.isatty():  # piped SQL: `make sql < queries.sql`
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return


def repl(run: Callable[[str], None], prompt: str, one: str | None) -> int:
    source: Iterable[str] = [one] if one is not None else _prompted(prompt)
    failed = False
    for sql in statements(source):
        try:
            run(sql)
        except Exception as exc:  # a bad statement: report it, keep the shell
            print(f"Error: {str(exc).splitlines()[0] if str(exc) else exc!r}", file=sys.stderr)
            failed = True
    return 1 if failed and one is not None else 0


def duckdb_shell(one: str | None, write: bool) -> int:
    con = connect.duckdb(write=write)
    if one is None and sys.stdin.isatty():
        print(
            f"DuckDB with the warehouse attached as `{connect.DUCKDB_CATALOG_ALIAS}` (e.g. "
            "SELECT * FROM lake.ops.lake_inventory;). Ctrl-D quits.",
            file=sys.stderr,
        )

    def run(sql: str) -> None:
        relation = con.sql(sql)
        if relation is not None:
            relation.show(max_rows=100)

    return repl(run, "duckdb> ", one)


def spark_sql_shell(one: str | None) -> int:
    started = time.monotonic()
    settings = load_settings()
    session = connect.spark(app_name="lakehouse-spark-sql", settings=settings)
    if one is None and sys.stdin.isatty():
        how = "attached to the Spark Connect server" if uses_connect(settings) else "started"
        print(
            f"Spark SQL on catalog `{settings.catalog_name}` as identity spark "
            f"({how} in {time.monotonic() - started:.0f} s). Ctrl-D quits.",
            file=sys.stderr,
        )

    def run(sql: str) -> None:
        frame = session.sql(sql)
        if frame.columns:  # DDL returns no columns: nothing to show
            frame.show(100, truncate=False)

    try:
        return repl(run, "spark-sql> ", one)
    finally:
        connect.stop_spark(session)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_defs.shell")
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="export lines for AWS CLI / boto3 / mc / pyiceberg")
    env.add_argument("--identity", default=rest_config.READ_ONLY, choices=rest_config.IDENTITIES)
    sql = sub.add_parser("sql", help="DuckDB attached to the REST catalog")
    sql.add_argument("-e", dest="one", default=None, help="run one statement and exit")
    sql.add_argument("--write", action="store_true", help="as spark instead of analyst")
    ssql = sub.add_parser("spark-sql", help="Spark SQL on the shared catalog")
    ssql.add_argument("-e", dest="one", default=None, help="run one statement and exit")
    args = parser.parse_args(argv)
    try:
        if args.command == "env":
            print("\n".join(env_lines(args.identity)))
            return 0
        if args.command == "sql":
            return duckdb_shell(args.one, args.write)
        return spark_sql_shell(args.one)
    except PlatformError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
