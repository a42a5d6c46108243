"""The embedded object store: an S3 server process on 127.0.0.1 that outlives a Dagster run."""

from platform_defs.clients.local_store.process import LocalStore, StoreState

__all__ = ["LocalStore", "StoreState"]
