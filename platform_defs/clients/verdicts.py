"""The verdicts a health check gives, and the remediation that fits each cause."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    UP = "UP"
    STARTING = "STARTING"
    NOT_READY = "NOT_READY"
    DEGRADED = "DEGRADED"
    READ_ONLY = "READ_ONLY"
    CREDENTIALS_INVALID = "CREDENTIALS_INVALID"
    DOWN = "DOWN"

    @property
    def healthy(self) -> bool:
        return self is Status.UP


class Remediation(enum.StrEnum):
    """What repairs a verdict, named by the asset whose materialization does it."""

    RESTART_STORE = "object_store"
    REPROVISION_IDENTITIES = "service_identities"
