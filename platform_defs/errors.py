"""Errors the platform raises.

Each one is written for the person who has to fix it: it says what is wrong and what to do.
They all derive from `PlatformError` so a CLI or a sensor can catch the whole family and show
the message without a traceback.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class: the message is the whole user-facing explanation."""


class SettingsError(PlatformError):
    """A setting (environment variable or `.env` entry) has a value the platform cannot use."""


class StoreAnswerMixin(Exception):
    """An error that may carry the store's own S3 error code (`InvalidAccessKeyId`,
    `NoSuchBucket`, ...), so callers decide on the code, never by parsing the message."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class CredentialsError(StoreAnswerMixin, PlatformError):
    """Credentials are missing, weak, publicly known or rejected by the store."""


class AccessDeniedError(CredentialsError):
    """The store answered AccessDenied: unknown keys on a HEAD request, or a request outside
    what a service identity may do."""


class StoreStartError(PlatformError):
    """The local object store could not be started (binary missing, port busy, crashed)."""


class StoreUnreachableError(PlatformError):
    """The object store endpoint did not answer within the time allowed.

    `timed_out` tells a store that is slow (connected, no answer in time: load, or frozen)
    from one that refused the connection or dropped it (not running)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class BucketError(StoreAnswerMixin, PlatformError):
    """A bucket name is invalid or a bucket operation was refused."""


class JavaError(PlatformError):
    """Java is missing or the wrong version for Spark."""


class SparkJarsError(PlatformError):
    """The Spark/Iceberg jars are missing from the cache or fail verification."""


class CatalogError(PlatformError):
    """The Iceberg catalog cannot be reached or is misconfigured."""


class NotOnThisTargetError(PlatformError):
    """What a target cannot do by its nature (a cluster on the local target): callers that
    serve both targets catch it to say "not applicable" instead of asking which target it is."""


class ManifestError(PlatformError):
    """The Kubernetes manifests cannot be prepared, rendered or fail a policy."""


class KubernetesError(PlatformError):
    """The Kubernetes API refused a request, or the kubeconfig/context cannot be used."""


class ClusterUnreachableError(KubernetesError):
    """No Kubernetes API answered for the configured context within the time allowed."""


class CrdMissingError(KubernetesError):
    """The manifests use a kind the cluster does not serve (a CRD is not installed); raised
    before anything is applied, naming the CRD and how to install it."""


class RolloutError(KubernetesError):
    """A Deployment/StatefulSet did not finish rolling out; the message says why from the
    cluster's own state (PVCs, pods, events, ingress)."""


class IdentityError(PlatformError):
    """A service identity cannot be created, found, rotated or revoked."""


class TLSConfigError(PlatformError):
    """The store's TLS material (CA, certificate, key) is missing or unusable."""


class StateDirError(PlatformError):
    """The state directory (PLATFORM_STATE_DIR) cannot be created or written."""


class AlreadyRunningError(PlatformError):
    """Another run of the same job holds the state directory's run lock."""


class RestCatalogError(PlatformError):
    """The local Iceberg REST catalog server could not be built, started or reached."""


class SparkConnectError(PlatformError):
    """The platform's Spark Connect server could not be started or reached."""
