"""Spark with Iceberg: pinned jars, a Java check and the one place that builds Spark conf."""
