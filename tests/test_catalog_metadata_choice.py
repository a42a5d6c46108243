"""Which metadata file is a table's newest: by the version number in its name, never by mtime
(the function sees only keys), with ties reported instead of guessed. No server needed."""

from __future__ import annotations

import uuid

from platform_defs.iceberg import recovery
from platform_defs.iceberg.lost import tables_from_keys


def _meta(table_dir: str, version: str, gz: bool = False) -> str:
    return f"warehouse/{table_dir}/metadata/{version}-{uuid.uuid4()}{'.gz' if gz else ''}.metadata.json"


def test_newest_by_number_across_both_layouts() -> None:
    keys = [
        _meta("raw.db/events", "00002"),  # pyiceberg layout: <ns>.db/<table>
        _meta("raw.db/events", "00001"),
        "warehouse/raw.db/events/metadata/snap-1-1-abc.avro",
        "warehouse/raw.db/events/data/part-0.parquet",
        _meta("ops/lake_inventory", "99999"),  # Spark's JdbcCatalog layout: <ns>/<table>
        _meta("ops/lake_inventory", "100000"),  # more digits: a string sort would miss it
        _meta("a.b.db/nested", "00001", gz=True),
        "warehouse/legacy/t/metadata/v3.metadata.json",
        "warehouse/legacy/t/metadata/v12.metadata.json",
        "warehouse/legacy/t/metadata/version-hint.text",
        _meta("../escape", "00001").replace("warehouse/", "other/"),
        "warehouse/toplevel/metadata/00001-x.metadata.json",  # no namespace: not a table id
    ]
    found = {t.identifier: t for t in tables_from_keys("lake", keys)}
    assert sorted(found) == ["a.b.nested", "legacy.t", "ops.lake_inventory", "raw.events"]
    assert found["raw.events"].version == 2
    assert found["ops.lake_inventory"].version == 100000
    assert (
        found["legacy.t"].metadata_location
        == "s3://lake/warehouse/legacy/t/metadata/v12.metadata.json"
    )
    assert found["a.b.nested"].namespace == ("a", "b")
    loc = found["raw.events"].metadata_location
    assert loc is not None and loc.startswith("s3://lake/warehouse/raw.db/events/metadata/00002-")


def test_two_files_with_the_newest_number_are_ambiguous_until_named() -> None:
    a, b = _meta("raw.db/tie", "00003"), _meta("raw.db/tie", "00003")
    found = tables_from_keys(
        "lake", [a, b, _meta("raw.db/tie", "00002"), _meta("raw.db/ok", "00001")]
    )
    tie = next(t for t in found if t.identifier == "raw.tie")
    assert tie.metadata_location is None and len(tie.candidates) == 2

    plan, _ = recovery.choose(found, {}, [])
    assert list(plan.register) == ["raw.ok"]
    assert len(plan.problems) == 1 and "raw.tie has 2 metadata files" in plan.problems[0]
    assert "metadata_locations" in plan.problems[0]

    plan, _ = recovery.choose(found, {"raw.tie": f"s3://lake/{b}"}, [])
    assert plan.register == {"raw.ok": found[0].candidates[0], "raw.tie": f"s3://lake/{b}"}
    assert not plan.problems

    plan, _ = recovery.choose(found, {"raw.nope": "s3://lake/x"}, ["raw.tie"])
    assert plan.skipped == ["raw.tie"] and "raw.nope" in plan.problems[0]
