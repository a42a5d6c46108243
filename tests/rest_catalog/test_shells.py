"""`make env`, `make sql` and `make spark-sql` as a user runs them, from another directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rest_catalog.conftest import ROWS, TABLE, Lake

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _run(lake: Lake, cmd: list[str], cwd: Path, timeout: float = 120) -> str:
    env = {**os.environ, **lake.env}
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_make_env_output_evals_and_boto3_lists_the_bucket(lake: Lake, tmp_path: Path) -> None:
    script = (
        f'eval "$(make -s -C {REPO} env)" && {sys.executable} -c '
        "\"import boto3, os; s3 = boto3.client('s3'); "
        f"keys = [o['Key'] for o in s3.list_objects_v2(Bucket='{lake.settings.bucket}')"
        ".get('Contents', [])]; print(os.environ['AWS_ACCESS_KEY_ID'].split('-')[1], len(keys))\""
    )
    identity, count = _run(lake, ["bash", "-c", script], tmp_path).split()
    assert identity == "analyst" and int(count) > 0


def test_make_sql_reads_the_table(lake: Lake, tmp_path: Path) -> None:
    sql = f"SELECT count(*) AS n FROM lake.{TABLE}"
    out = _run(lake, ["make", "-s", "-C", str(REPO), "sql", f"SQL={sql}"], tmp_path)
    assert re.search(rf"│\s+{ROWS}\s+│", out), out


def test_spark_sql_reads_the_shared_catalog(lake: Lake, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "platform_defs.shell", "spark-sql", "-e"]
    out = _run(lake, [*cmd, f"SELECT count(*) AS n FROM {TABLE}"], tmp_path, timeout=300)
    assert f"|{ROWS}  |" in out or f"|{ROWS} |" in out, out
