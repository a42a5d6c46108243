"""Service identities: who may do what in the data-lake bucket, instead of everyone being root.

Root only provisions (the bucket, these identities, rotation). Everything that reads or writes
data runs as one of the roles below, so a leaked Spark key cannot delete the bucket, and a leaked
analyst key cannot change data. A role is defined once, as prefixes, and rendered to each store's
own language: SeaweedFS `actions` in its identities file, MinIO IAM policy documents.

Credentials of each role live next to root's (`<state>/<namespace>/credentials/<role>.json`,
0600) and go through `platform_defs.credentials.validate` on every load and every generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_defs import credentials
from platform_defs.clients.s3 import CANARY_PREFIX
from platform_defs.credentials import Credentials
from platform_defs.errors import IdentityError
from platform_defs.settings import PlatformSettings

SPARK = "spark"
ANALYST = "analyst"
CANARY = "canary"
WAREHOUSE_PREFIX = "warehouse/"
# PLATFORM_CATALOG_TYPE=hadoop (the guide's file-system catalog) writes here, never beside the
# JDBC catalog's tables.
HADOOP_WAREHOUSE_PREFIX = "hadoop-warehouse/"
ROOT = "root"


@dataclass(frozen=True)
class Role:
    """What one identity may do, as key prefixes of the bucket ("" = the whole bucket).

    `list_prefixes` is separate from `read_prefixes` because listing shows names and sizes but
    no content: the Spark inventory job lists the whole bucket yet reads only the warehouse.
    """

    name: str
    description: str
    read_prefixes: tuple[str, ...] = ()
    write_prefixes: tuple[str, ...] = ()
    list_prefixes: tuple[str, ...] = ()

    def access_key_prefix(self, namespace: str) -> str:
        return f"{namespace}-{self.name}"


ROLES: tuple[Role, ...] = (
    Role(
        SPARK,
        "Spark and pyiceberg: read/write the Iceberg warehouses, list the bucket (inventory)",
        read_prefixes=(WAREHOUSE_PREFIX, HADOOP_WAREHOUSE_PREFIX),
        write_prefixes=(WAREHOUSE_PREFIX, HADOOP_WAREHOUSE_PREFIX),
        list_prefixes=("",),
    ),
    Role(ANALYST, "Analysts: read and list everything, change nothing", ("",), (), ("",)),
    Role(
        CANARY,
        "Health canary: its reserved prefix only",
        (CANARY_PREFIX,),
        (CANARY_PREFIX,),
        (CANARY_PREFIX,),
    ),
)
ROLE_NAMES = tuple(r.name for r in ROLES)


def role(name: str) -> Role:
    for candidate in ROLES:
        if candidate.name == name:
            return candidate
    raise IdentityError(f"Unknown service identity {name!r}; the platform has {ROLE_NAMES}.")


# ---- rendering ------------------------------------------------------------------------------
def _resource(bucket: str, prefix: str) -> str:
    return f"{bucket}/{prefix}*" if prefix else bucket


def seaweedfs_actions(r: Role, bucket: str) -> list[str]:
    """SeaweedFS identity actions (checked against weed 4.48: `Read:<bucket>/<prefix>*` limits
    GET to the prefix; `List:<bucket>/<prefix>*` limits ListObjects to that prefix; bucket-level
    `Read:<bucket>` would also allow HEAD bucket and every object, so it is never used for a
    prefix role)."""
    actions = [f"Read:{_resource(bucket, p)}" for p in r.read_prefixes]
    actions += [f"Write:{_resource(bucket, p)}" for p in r.write_prefixes]
    actions += [f"List:{_resource(bucket, p)}" for p in r.list_prefixes]
    return actions


def minio_policy(r: Role, bucket: str) -> dict[str, Any]:
    """An IAM policy for MinIO. No s3:CreateBucket / s3:DeleteBucket / admin action appears."""
    statements: list[dict[str, Any]] = []

    def objects(prefixes: tuple[str, ...]) -> list[str]:
        return [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes]

    if r.read_prefixes:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": objects(r.read_prefixes),
            }
        )
    if r.write_prefixes:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": objects(r.write_prefixes),
            }
        )
    if r.list_prefixes:
        listing: dict[str, Any] = {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        }
        if "" not in r.list_prefixes:
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in r.list_prefixes]}}
        statements.append(listing)
    return {"Version": "2012-10-17", "Statement": statements}


def minio_policy_name(r: Role, bucket: str) -> str:
    return f"platform-{bucket}-{r.name}"


# ---- credentials files ---------------------------------------------------------------------
def credentials_file(settings: PlatformSettings, name: str) -> Path:
    return credentials.identity_file(settings, role(name).name)


def load(settings: PlatformSettings, name: str) -> Credentials:
    """The current credentials of service identity `name` (a known role), validated like
    root's, from the one resolver."""
    return credentials.resolve(settings, role(name).name)


def new_credentials(settings: PlatformSettings, name: str) -> Credentials:
    """Fresh strong credentials for `name`; validated so a weak generator can never slip by."""
    creds = credentials.generate(role(name).access_key_prefix(settings.namespace))
    return credentials.validate(creds, source=f"the generator for identity {name!r}")


def save(settings: PlatformSettings, name: str, creds: Credentials) -> None:
    credentials.validate(creds, source=f"identity {name!r}")
    credentials.save(credentials_file(settings, name), creds)
