"""Spark job code launched as a subprocess (later a pod) through Dagster Pipes.

`python -m assets.spark_jobs <job>` in a checkout; see `context.py` for what the launcher passes
and how.
"""

# The package's import name, as the launcher must spell it after `python -m`: `assets.spark_jobs`
# in a checkout, `platform_defs.defs.spark_jobs` from the wheel (which installs no top-level
# `assets`). Derived, never written out, so the command and the install cannot disagree.
MODULE = __name__
