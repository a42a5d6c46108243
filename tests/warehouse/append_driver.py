"""A Spark driver of its own for tests that kill one: reads its job from stdin (JSON: state dir,
bucket, endpoint url and keys, table, rows) so no key is on its command line, then appends
`rows` rows to the table through the platform's own session code and prints `committed`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.spark.session import start_session
from tests.warehouse.conftest import make_settings


def main() -> None:
    job = json.loads(sys.stdin.readline())
    settings = make_settings(Path(job["state_dir"]), job["bucket"], catalog_name=job["catalog"])
    endpoint = StoreEndpoint(job["url"], Credentials(job["access_key"], job["secret_key"]))
    spark = start_session(settings, endpoint, app_name="append-driver")
    print("started", flush=True)
    spark.range(job["rows"]).selectExpr(
        "id", "repeat(sha2(CAST(id AS STRING), 256), 4) AS payload"
    ).repartition(4).writeTo(f"{job['catalog']}.{job['table']}").append()
    print("committed", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
