"""A connection to one Kubernetes API: kubeconfig context or in-cluster service account.

Every request has a bounded timeout and the connection is probed first, so a kubeconfig that
points at a stopped kind cluster fails in seconds with the context's name instead of hanging in
the client library's retries. All object access goes through the `DynamicClient`, so any kind
the overlays contain (including CRDs such as cert-manager's Certificate) is handled alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.dynamic.resource import Resource

from platform_defs.errors import ClusterUnreachableError, KubernetesError
from platform_defs.k8s.render import Document, object_id

# The field manager every apply uses: `kubectl get -o yaml --show-managed-fields` shows which
# fields the platform owns, and a person's `kubectl apply` never silently takes them over.
FIELD_MANAGER = "lakehouse-platform"
IN_CLUSTER = "in-cluster"
TIMEOUT_SETTING = "PLATFORM_K8S_API_TIMEOUT_SECONDS"
Obj = dict[str, Any]


def running_in_cluster() -> bool:
    """Kubernetes sets this variable in every pod; it is how clients detect they are inside."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


@dataclass(frozen=True)
class ClusterTarget:
    """Which API to talk to. `context=None` with no in-cluster env means the current context."""

    context: str | None = None
    kubeconfig: Path | None = None
    timeout: float = 5.0


def _load(target: ClusterTarget) -> tuple[k8s_client.Configuration, str]:
    cfg = k8s_client.Configuration()
    if running_in_cluster() and target.context is None and target.kubeconfig is None:
        k8s_config.load_incluster_config(client_configuration=cfg)
        return cfg, IN_CLUSTER
    file = str(target.kubeconfig) if target.kubeconfig else None
    try:
        _contexts, active = k8s_config.list_kube_config_contexts(config_file=file)
        name = target.context or (active or {}).get("name", "")
        k8s_config.load_kube_config(
            config_file=file, context=name or None, client_configuration=cfg
        )
    except (ConfigException, OSError) as exc:
        where = file or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise KubernetesError(
            f"Cannot use kubeconfig {where} (context {target.context or 'current'}): "
            f"{str(exc).rstrip('.')}. "
            "Create a cluster with `make setup-cluster`, or set PLATFORM_KUBECONFIG / "
            "PLATFORM_KUBE_CONTEXT to one that exists (`kubectl config get-contexts`)."
        ) from None
    return cfg, name


def _bounded(api: k8s_client.ApiClient, timeout: float) -> None:
    """Give every request a (connect, read) timeout: the dynamic client's discovery calls pass
    none, and urllib3 then waits forever on a black-holed address."""
    rest = api.rest_client
    original: Callable[..., Any] = rest.request

    def request(*args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
        return original(*args, _request_timeout=_request_timeout or (timeout, timeout), **kwargs)

    rest.request = request


class Cluster:
    """One API server. Construct with `connect()`; methods return plain dicts (API JSON)."""

    def __init__(
        self, api: k8s_client.ApiClient, context: str, server: str, timeout: float = 5.0
    ) -> None:
        self.api = api
        self.context = context
        self.server = server
        self.timeout = timeout
        self._dynamic: DynamicClient | None = None

    def unreachable(self, exc: BaseException, what: str) -> ClusterUnreachableError:
        """One message for an API server that refused or stopped answering during `what`."""
        timed_out = isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError) or isinstance(
            getattr(exc, "reason", None), urllib3.exceptions.TimeoutError
        )
        bound = (
            f": no answer within {self.timeout:g} s ({TIMEOUT_SETTING} sets the limit)"
            if timed_out
            else ""
        )
        return ClusterUnreachableError(
            f"No Kubernetes API answered for context '{self.context}' at {self.server} "
            f"during {what} ({type(exc).__name__}{bound}). Start the cluster (`make "
            "setup-cluster` for kind), select another context with PLATFORM_KUBE_CONTEXT, or "
            "use PLATFORM_TARGET=local."
        )

    # ---- connection -------------------------------------------------------------------
    def probe(self) -> str:
        """GET /version; the server's gitVersion, or an error naming context and server."""
        try:
            resp = self.api.call_api(
                "/version", "GET", auth_settings=["BearerToken"], _preload_content=False
            )
            version = json.loads(resp.data or b"{}").get("gitVersion", "unknown")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, "GET /version") from None
        except k8s_client.ApiException as exc:
            raise KubernetesError(
                f"The API server for context '{self.context}' ({self.server}) answered "
                f"{exc.status} {exc.reason} to GET /version: check the credentials in the "
                "kubeconfig (an expired token or certificate is the usual cause)."
            ) from None
        return str(version)

    def get_path(self, path: str) -> Obj | None:
        """GET a raw API path (discovery documents); None when the server answers 404."""
        try:
            resp = self.api.call_api(
                path, "GET", auth_settings=["BearerToken"], _preload_content=False
            )
            return dict(json.loads(resp.data or b"{}"))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, f"GET {path}") from None
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                return None
            raise KubernetesError(
                f"GET {path} in context '{self.context}' failed: {exc.status} {exc.reason}: "
                f"{_api_message(exc)}"
            ) from None

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            # A cache per server in the temp dir, not the library's shared default file.
            key = hashlib.sha256(self.server.encode()).hexdigest()[:16]
            cache = Path(tempfile.gettempdir()) / f"lakehouse-discovery-{key}.json"
            self._dynamic = DynamicClient(self.api, cache_file=str(cache))
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Resource:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, f"discovery of {kind}") from None
        except ResourceNotFoundError:
            raise KubernetesError(
                f"The cluster of context '{self.context}' does not serve {kind} "
                f"({api_version}). Install the CRD or operator that provides it (cert-manager "
                "for Certificate, the Prometheus Operator for ServiceMonitor)."
            ) from None

    # ---- object access ----------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Obj | None:
        res = self.resource(api_version, kind)
        try:
            obj = res.get(name=name, namespace=namespace if res.namespaced else None)
        except NotFoundError:
            return None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, f"GET {kind} {name}") from None
        return dict(obj.to_dict())

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, selector: str = ""
    ) -> list[Obj]:
        res = self.resource(api_version, kind)
        kwargs: dict[str, Any] = {"label_selector": selector} if selector else {}
        try:
            found = res.get(namespace=namespace if res.namespaced else None, **kwargs)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, f"LIST {kind}") from None
        return [dict(item) for item in found.to_dict().get("items", [])]

    def _write(self, doc: Document, verb: str, call: Callable[[], Any]) -> Obj:
        """Run one write request; a refusal or a lost connection becomes an error naming the
        object, the context and the server's own message."""
        try:
            return dict(call().to_dict())
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, f"{verb} of {object_id(doc)}") from None
        except k8s_client.ApiException as exc:
            raise KubernetesError(
                f"The {verb} of {object_id(doc)} in context '{self.context}' failed: "
                f"{exc.status} {exc.reason}: {_api_message(exc)}"
            ) from None

    def apply(self, doc: Document, *, dry_run: bool = False) -> Obj:
        """Server-side apply under FIELD_MANAGER, taking over conflicting fields (force)."""
        res = self.resource(doc["apiVersion"], doc["kind"])
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        # "true" as kubectl sends it; the client would render a bool as "True".
        return self._write(
            doc,
            "apply",
            lambda: res.server_side_apply(
                body=doc, field_manager=FIELD_MANAGER, force_conflicts="true", **kwargs
            ),
        )

    def merge_patch(self, doc: Document, patch: Obj) -> Obj:
        """A JSON merge patch (RFC 7386: `null` removes a key) under FIELD_MANAGER: the one way
        to remove a field another manager owns, which server-side apply cannot. Put the
        object's `metadata.resourceVersion` in `patch` to make it conditional."""
        res = self.resource(doc["apiVersion"], doc["kind"])
        meta = doc["metadata"]
        return self._write(
            doc,
            "patch",
            lambda: res.patch(
                body=patch,
                name=meta["name"],
                namespace=meta.get("namespace") if res.namespaced else None,
                content_type="application/merge-patch+json",
                field_manager=FIELD_MANAGER,
            ),
        )

    def pod_log(self, name: str, namespace: str, container: str, *, previous: bool) -> str:
        """The last lines a container wrote (the crashed instance's with `previous`)."""
        try:
            resp = k8s_client.CoreV1Api(self.api).read_namespaced_pod_log(
                name,
                namespace,
                container=container,
                previous=previous,
                tail_lines=20,
                _preload_content=False,  # raw text; the client would str() the bytes
            )
            return bytes(resp.data).decode("utf-8", errors="replace")
        except k8s_client.ApiException as exc:
            return f"(no log: {exc.status} {exc.reason})"


def _api_message(exc: k8s_client.ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.body)
    except ValueError:
        return str(exc.body)


def connect(target: ClusterTarget) -> Cluster:
    """A probed connection: raises ClusterUnreachableError within about `timeout` seconds."""
    cfg, context = _load(target)
    cfg.retries = urllib3.Retry(total=1, connect=1, read=0, backoff_factor=0.1)
    api = k8s_client.ApiClient(cfg)
    _bounded(api, target.timeout)
    cluster = Cluster(api, context, str(cfg.host), target.timeout)
    cluster.probe()
    return cluster
