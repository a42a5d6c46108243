"""The Iceberg REST catalog: the URL every engine (Spark, pyiceberg, DuckDB, polars, Trino)
attaches to, served by a local Java process in front of the platform's JDBC catalog."""
