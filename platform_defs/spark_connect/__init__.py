"""The platform's long-lived Spark Connect server (local target) and the clients that attach to
it: Spark steps and the `make pyspark` / `make spark-sql` shells, when PLATFORM_SPARK_MODE=connect."""
