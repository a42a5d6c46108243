"""Spark job code launched as a subprocess (later a pod) through Dagster Pipes.

`python -m assets.spark_jobs <job>`; see `context.py` for what the launcher passes and how.
"""
