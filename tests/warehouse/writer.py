"""One concurrent pyiceberg writer process: `python -m tests.warehouse.writer ID APPENDS ROWS`.

Reads the settings JSON and endpoint from WRITER_SETTINGS / WRITER_URL and the credentials from
PLATFORM_S3_ACCESS_KEY / PLATFORM_S3_SECRET_KEY. Ids are unique per (writer, append, row).
"""

from __future__ import annotations

import json
import os
import sys

import pyarrow as pa

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.iceberg.catalog import append_with_retry, load_catalog
from platform_defs.settings import load_settings

TABLE = "conc.events"


def main() -> None:
    writer, appends, rows = (int(a) for a in sys.argv[1:4])
    settings = load_settings(**json.loads(os.environ["WRITER_SETTINGS"]))
    creds = Credentials(os.environ["PLATFORM_S3_ACCESS_KEY"], os.environ["PLATFORM_S3_SECRET_KEY"])
    endpoint = StoreEndpoint(url=os.environ["WRITER_URL"], credentials=creds)
    table = load_catalog(settings, endpoint).load_table(TABLE)
    for i in range(appends):
        base = writer * 1_000_000 + i * rows
        data = pa.table(
            {"id": pa.array(range(base, base + rows), pa.int64()),
             "writer": pa.array([writer] * rows, pa.int32())}
        )  # fmt: skip
        table = append_with_retry(table, data, attempts=30)


if __name__ == "__main__":
    main()
