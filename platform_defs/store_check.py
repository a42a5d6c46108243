"""Ask the store one cheap question before starting a JVM, so bad credentials fail clearly.

A wrong S3 secret otherwise surfaces from Spark as a 403 wrapped in three layers of Java stack
trace, half a minute after launch. One `bucket_exists` call with the same credentials tells
"store down", "credentials rejected" and "bucket missing" apart in well under a second.
"""

from __future__ import annotations

import urllib3
from minio import Minio
from minio.error import S3Error

from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import BucketError, CredentialsError, StoreUnreachableError

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}


def minio_client(endpoint: StoreEndpoint, timeout: float = 10.0) -> Minio:
    """A minio SDK client for `endpoint`, trusting its CA bundle when there is one."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=max(timeout, 60.0)),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
        ca_certs=str(endpoint.ca_bundle) if endpoint.ca_bundle else None,
        maxsize=16,
    )
    return Minio(
        endpoint.host_port,
        access_key=endpoint.credentials.access_key,
        secret_key=endpoint.credentials.secret_key,
        region=endpoint.region,
        secure=endpoint.secure,
        http_client=http,
    )


def check_store(endpoint: StoreEndpoint, bucket: str) -> None:
    """Raise the platform error that explains why `bucket` on `endpoint` is not usable."""
    try:
        exists = minio_client(endpoint, timeout=5.0).bucket_exists(bucket)
    except S3Error as exc:
        if exc.code in _AUTH_CODES:
            raise CredentialsError(
                f"The store at {endpoint.url} rejected access key "
                f"{endpoint.credentials.access_key!r} ({exc.code}). The secret key does not match "
                "the store's; check PLATFORM_S3_ACCESS_KEY/PLATFORM_S3_SECRET_KEY or the "
                "credentials file the store was started with."
            ) from None
        raise BucketError(
            f"The store at {endpoint.url} refused to check bucket {bucket!r}: "
            f"{exc.code} {exc.message}."
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise StoreUnreachableError(
            f"The object store at {endpoint.url} does not answer ({type(exc).__name__}). Start "
            "it (`make run` for the local store) or fix PLATFORM_S3_ENDPOINT."
        ) from None
    if not exists:
        raise BucketError(
            f"Bucket {bucket!r} does not exist on {endpoint.url}. Materialize the `datalake_bucket` "
            "asset first, or fix PLATFORM_BUCKET."
        )
