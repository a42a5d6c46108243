"""Warehouse health: is every Iceberg table readable, and is it getting expensive to read?

Many small files and a long snapshot history are what make a lake slow and costly; both are
measured per table from Iceberg's own metadata (no data files are read except one row batch to
prove the current snapshot is readable) and compared with configurable limits. Tables over a
limit are what the nightly maintenance job fixes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import PlatformError
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.settings import PlatformSettings


@dataclass(frozen=True)
class TableHealth:
    table: str
    readable: bool
    snapshots: int
    data_files: int
    small_files: int
    detail: str
    latency_ms: float

    def problems(self, settings: PlatformSettings) -> list[str]:
        out = (
            [] if self.readable else [f"{self.table}: current snapshot unreadable ({self.detail})"]
        )
        if self.snapshots > settings.warehouse_max_snapshots:
            out.append(
                f"{self.table}: {self.snapshots} snapshots > {settings.warehouse_max_snapshots}"
            )
        if self.small_files > settings.warehouse_max_small_files:
            out.append(
                f"{self.table}: {self.small_files} small files > {settings.warehouse_max_small_files}"
            )
        return out


@dataclass(frozen=True)
class WarehouseHealth:
    reachable: bool
    detail: str
    tables: list[TableHealth]

    def problems(self, settings: PlatformSettings) -> list[str]:
        if not self.reachable:
            return [f"catalog unreachable: {self.detail}"]
        return [p for t in self.tables for p in t.problems(settings)]


def check_warehouse(settings: PlatformSettings, endpoint: StoreEndpoint) -> WarehouseHealth:
    try:
        catalog = load_catalog(settings, endpoint)
        names = [t for (ns,) in catalog.list_namespaces() for t in catalog.list_tables(ns)]
    except PlatformError as exc:
        return WarehouseHealth(False, str(exc).splitlines()[0], [])
    except Exception as exc:  # the catalog database itself failing is a health verdict
        return WarehouseHealth(False, f"{type(exc).__name__}: {exc}", [])
    tables = [_table_health(catalog, ".".join(name), settings) for name in names]
    return WarehouseHealth(True, f"{len(tables)} tables", tables)


def _table_health(catalog: object, name: str, settings: PlatformSettings) -> TableHealth:
    t0 = time.monotonic()
    try:
        table = catalog.load_table(name)  # type: ignore[attr-defined]
        tasks = list(table.scan().plan_files())
        small = sum(1 for task in tasks if task.file.file_size_in_bytes < settings.small_file_bytes)
        table.scan(limit=1).to_arrow()
        return TableHealth(name, True, len(table.snapshots()), len(tasks), small, "ok", _ms(t0))
    except Exception as exc:
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return TableHealth(name, False, 0, 0, 0, detail, _ms(t0))


def _ms(t0: float) -> float:
    return (time.monotonic() - t0) * 1000
