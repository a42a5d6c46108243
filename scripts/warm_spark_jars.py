"""Fill the Spark/Iceberg jar cache at image build time, so runs never reach Maven Central.

    python scripts/warm_spark_jars.py <cache-dir>

Spark resolves `spark.jars.packages` through Ivy into `<cache-dir>/ivy`; a local session that
starts and stops is enough. Versions follow the field notes' safe pair for pyspark 4.1.x.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGES = [
    "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0",
    "org.apache.iceberg:iceberg-aws-bundle:1.12.0",
    "org.xerial:sqlite-jdbc:3.50.3.0",
    "org.postgresql:postgresql:42.7.7",
]


def main(cache: Path) -> int:
    from pyspark.sql import SparkSession

    cache.mkdir(parents=True, exist_ok=True)
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("warm-jar-cache")
        .config("spark.jars.packages", ",".join(PACKAGES))
        .config("spark.jars.ivy", str(cache / "ivy"))
        .getOrCreate()
    )
    spark.stop()
    jars = sorted(p.name for p in (cache / "ivy" / "jars").glob("*.jar"))
    print(f"{len(jars)} jars cached in {cache / 'ivy' / 'jars'}")
    return 0 if jars else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
