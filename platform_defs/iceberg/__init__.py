"""The pyiceberg side of the warehouse: the same catalog Spark uses, without a JVM."""
