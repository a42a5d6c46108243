"""The code location's definitions, one package per domain (as dagster-open-platform groups
them): each holds its assets, checks, jobs, schedules and sensors side by side.

- `platform`: namespace, object store, bucket, preflight; the bootstrap and remediation jobs;
  the run-failure alert.
- `security`: the service identities; credential rotation and re-provisioning jobs.
- `warehouse`: the Iceberg warehouse, inventory, maintenance, REST catalog and recovery; the
  table sensor and the nightly schedule.
- `health`: the live checks, health history, the store health and metrics sensors, the hourly
  schedule.
- `cluster`: the kubernetes target's checks, drift and health sensors, and re-apply job.
- `spark_jobs`: not definitions, the Spark programs the warehouse assets launch
  (`python -m assets.spark_jobs <job>`).
- `definitions.py`: `build(settings)`, the composition the entry point calls.

`platform_defs.definitions` is the only module that names this package, which a checkout imports
as `assets` and the wheel installs as `platform_defs.defs`: so its modules import each other
relatively (`from ..platform.provision import OWNERS`), never by the name `assets`.
"""
