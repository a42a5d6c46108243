"""Clients of the outside world that are not Dagster resources: the S3 store, the embedded store
process, health probes and metrics, alerts. Dagster resources (`platform_defs.resources`) and
targets build on them; they import neither."""
