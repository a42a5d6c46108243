"""A STAND-IN for kube-apiserver, for request-level tests: no real API server can run here.

It is a small `http.server` on 127.0.0.1 that serves what the kubernetes Python client needs
(discovery under /version, /api, /apis, resource lists; GET/list of objects; pod logs) and
answers server-side apply PATCHes the way the real server does for the cases the tests need:
it requires `fieldManager` and the `application/apply-patch+yaml` content type, keeps
resourceVersion when nothing changed, bumps it (and `generation` on spec changes) otherwise,
records a managedFields entry for the manager (FieldsV1 paths of what it sent, with the list
keys the real schemas use for the lists the overlays contain), and stores nothing on
`dryRun=All`. JSON merge patches (`null` removes a key) honour a `metadata.resourceVersion`
precondition. Every request is recorded so tests assert the exact paths, query parameters and
content types. Of the server's defaulting it applies only a StatefulSet's (`partition: 0` when
a `rollingUpdate` block exists or the strategy is untyped, as kube-apiserver v1.37 does, and
its siblings). It does not implement real field ownership transfer, other defaulting or
conflicts: it replaces the top-level fields an apply sends; tests of ownership seed recorded
objects.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

Obj = dict[str, Any]

# (group, version, plural, kind, namespaced): everything the overlays and the diagnosis touch.
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "services", "Service", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "events", "Event", True),
    ("", "v1", "endpoints", "Endpoints", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("apps", "v1", "statefulsets", "StatefulSet", True),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ("cert-manager.io", "v1", "certificates", "Certificate", True),
    ("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True),
]
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    body: Obj | None


@dataclass
class FakeApiServer:
    """Objects live in `objects` keyed by their API path; `requests` holds every request."""

    objects: dict[str, Obj] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # "ns/pod/container" -> text
    # Successive `status` values served for an object path (the last one sticks).
    status_script: dict[str, list[Obj]] = field(default_factory=dict)
    # A recorded discovery (path -> document, e.g. fixtures/discovery_*.json) served instead of
    # the one built from RESOURCES; a discovery path it lacks answers 404, as a real server
    # answers for a group/version nobody installed.
    discovery: dict[str, Obj] | None = None
    _rv: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- paths --------------------------------------------------------------------------
    @staticmethod
    def collection_path(api_version: str, kind: str, namespace: str | None) -> str:
        for group, version, plural, k, namespaced in RESOURCES:
            gv = f"{group}/{version}" if group else version
            if k == kind and gv == api_version:
                root = f"/apis/{gv}" if group else f"/api/{version}"
                ns = f"/namespaces/{namespace}" if namespaced else ""
                return f"{root}{ns}/{plural}"
        raise KeyError(f"{api_version} {kind} is not served by the stand-in")

    def object_path(self, obj: Obj) -> str:
        meta = obj["metadata"]
        base = self.collection_path(obj["apiVersion"], obj["kind"], meta.get("namespace"))
        return f"{base}/{meta['name']}"

    # ---- seeding ------------------------------------------------------------------------
    def put(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("resourceVersion", str(next(self._rv)))
        self.objects[self.object_path(obj)] = obj
        return obj

    def load_fixture(self, path: Path) -> None:
        """A recorded-response fixture: {"lists": [<XxxList>...], "logs": {...}}."""
        data = json.loads(path.read_text())
        for listing in data.get("lists", []):
            kind = listing["kind"].removesuffix("List")
            for item in listing["items"]:
                self.put({"apiVersion": listing["apiVersion"], "kind": kind, **item})
        self.logs.update(data.get("logs", {}))

    # ---- request handling ----------------------------------------------------------------
    def handle(self, method: str, raw_path: str, ctype: str | None, body: bytes) -> tuple[int, Any]:
        url = urlparse(raw_path)
        url = url._replace(path=url.path.rstrip("/") or "/")
        query = parse_qs(url.query)
        parsed = yaml.safe_load(body) if body else None
        with self._lock:
            self.requests.append(Recorded(method, url.path, query, ctype, parsed))
            if method == "GET":
                return self._get(url.path, query)
            if method == "PATCH":
                return self._patch(url.path, query, ctype, parsed)
        return 405, _status(405, "MethodNotAllowed", f"{method} is not served by the stand-in")

    def load_discovery(self, path: Path) -> None:
        self.discovery = {k: v for k, v in json.loads(path.read_text()).items() if k[0] == "/"}

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.discovery is not None and _is_discovery(path):
            if path in self.discovery:
                return 200, self.discovery[path]
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        discovery = _discovery(path)
        if discovery is not None:
            return 200, discovery
        if path.endswith("/log"):
            parts = path.split("/")  # /api/v1/namespaces/<ns>/pods/<pod>/log
            key = f"{parts[4]}/{parts[6]}/{query.get('container', [''])[0]}"
            return 200, self.logs.get(key, "")
        if path in self.objects:
            return 200, self._scripted(path)
        items = self._list(path, query.get("labelSelector", [""])[0])
        if items is not None:
            return 200, items
        name = path.rsplit("/", 1)[-1]
        return 404, _status(404, "NotFound", f'"{name}" not found')

    def _scripted(self, path: str) -> Obj:
        script = self.status_script.get(path)
        if script:
            self.objects[path]["status"] = script.pop(0) if len(script) > 1 else script[0]
        return self.objects[path]

    def _list(self, path: str, selector: str) -> Obj | None:
        for group, version, plural, kind, _ in RESOURCES:
            gv = f"{group}/{version}" if group else version
            if path.endswith(f"/{plural}") and (f"/{gv}/" in path + "/"):
                wanted = dict(p.split("=", 1) for p in selector.split(",") if p)
                items = [
                    o
                    for p, o in sorted(self.objects.items())
                    if p.rsplit("/", 1)[0] == path
                    and wanted.items() <= (o["metadata"].get("labels") or {}).items()
                ]
                return {"apiVersion": gv, "kind": f"{kind}List", "metadata": {}, "items": items}
        return None

    def _patch(
        self, path: str, query: dict[str, list[str]], ctype: str | None, body: Obj | None
    ) -> tuple[int, Any]:
        if ctype == MERGE and body is not None:
            return self._merge_patch(path, body)
        if ctype != APPLY:
            return 415, _status(415, "UnsupportedMediaType", f"unsupported patch type {ctype}")
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            return 422, _status(422, "Invalid", "fieldManager is required for apply patch")
        assert body is not None
        existing = self.objects.get(path)
        result = _defaulted(_merge(existing, body, manager))
        if existing is not None and _content(existing) == _content(result):
            return 200, existing
        meta = result["metadata"]
        meta["resourceVersion"] = str(next(self._rv))
        if existing is None:
            meta.update(uid=f"uid-{meta['resourceVersion']}", creationTimestamp=_now())
            meta["generation"] = 1
        elif existing.get("spec") != result.get("spec"):
            meta["generation"] = int(existing["metadata"].get("generation", 1)) + 1
        if query.get("dryRun") != ["All"]:
            self.objects[path] = result
        return (201 if existing is None else 200), result

    def _merge_patch(self, path: str, body: Obj) -> tuple[int, Any]:
        existing = self.objects.get(path)
        if existing is None:
            return 404, _status(404, "NotFound", f'"{path.rsplit("/", 1)[-1]}" not found')
        meta = existing["metadata"]
        body = copy.deepcopy(body)  # the recorded request keeps what was sent
        wanted_rv = (body.get("metadata") or {}).pop("resourceVersion", None)
        if wanted_rv is not None and wanted_rv != meta["resourceVersion"]:
            return 409, _status(
                409,
                "Conflict",
                "the object has been modified; please apply "
                "your changes to the latest version and try again",
            )
        result = _merge_json(copy.deepcopy(existing), body)
        for entry in result["metadata"].get("managedFields") or []:
            _drop_absent(entry.get("fieldsV1") or {}, result)
        result["metadata"]["resourceVersion"] = str(next(self._rv))
        self.objects[path] = result
        return 200, result

    # ---- serving ----------------------------------------------------------------------
    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                code, payload = fake.handle(
                    self.command,
                    self.path,
                    self.headers.get("Content-Type"),
                    self.rfile.read(length),
                )
                text = payload if isinstance(payload, str) else json.dumps(payload)
                data = text.encode()
                self.send_response(code)
                ctype = "text/plain" if isinstance(payload, str) else "application/json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _do

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"

    def patches(self, *, dry_run: bool = False) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method == "PATCH" and (r.query.get("dryRun") == ["All"]) == dry_run
        ]


def _merge(existing: Obj | None, body: Obj, manager: str) -> Obj:
    result = copy.deepcopy(existing) if existing else {"metadata": {}}
    for key, value in body.items():
        if key != "metadata":
            result[key] = copy.deepcopy(value)
    meta = result["metadata"]
    for key, value in body["metadata"].items():
        if key in ("labels", "annotations"):
            meta[key] = {**(meta.get(key) or {}), **value}
        else:
            meta[key] = value
    sent = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    sent["metadata"] = {k: v for k, v in body["metadata"].items() if k not in _UNTRACKED}
    entry = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": body["apiVersion"],
        "time": _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(sent),
    }
    others = [m for m in meta.get("managedFields", []) if m.get("manager") != manager]
    meta["managedFields"] = [*others, entry]
    return result


# Not tracked in managedFields by the real server.
_UNTRACKED = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp")


def _list_key(element: Obj) -> tuple[str, ...]:
    """The merge keys of the real schemas, for the lists the overlays contain: container and
    Service ports by port and protocol, volume mounts by path, the rest by name."""
    for keys in (("containerPort", "protocol"), ("port", "protocol"), ("mountPath",), ("name",)):
        if keys[0] in element:
            return keys
    return ()


def fields_v1(value: Any) -> Obj:
    """The FieldsV1 set of `value` as the sender's: maps field by field, keyed lists element by
    element (`k:{...}` with a `.` entry), anything else (scalars, atomic lists) whole."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_v1(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
        keys = _list_key(value[0])
        if keys:
            out: Obj = {}
            for e in value:
                key = json.dumps({k: e[k] for k in keys if k in e}, separators=(",", ":"))
                out[f"k:{key}"] = {".": {}, **fields_v1(e)}
            return out
    return {}


def _defaulted(obj: Obj) -> Obj:
    """The defaults a real server gives a StatefulSet (apps/v1 SetDefaults_StatefulSet), owned
    by no manager: the rollout rule and drift must both live with them."""
    if obj.get("kind") == "StatefulSet":
        spec = obj.setdefault("spec", {})
        strategy = spec.setdefault("updateStrategy", {})
        if not strategy.get("type"):  # as the real server: an untyped strategy gets the block
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {})
        if strategy["type"] == "RollingUpdate" and "rollingUpdate" in strategy:
            strategy["rollingUpdate"].setdefault("partition", 0)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("minReadySeconds", 0)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy",
            {"whenDeleted": "Retain", "whenScaled": "Retain"},
        )
    return obj


def _merge_json(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_json(out.get(key), value)
    return out


def _drop_absent(tree: Obj, obj: Any) -> None:
    """Forget owned map fields the object no longer has (what a removal does to ownership)."""
    for key in list(tree):
        if key.startswith("f:") and isinstance(obj, dict):
            if key[2:] not in obj:
                del tree[key]
            else:
                _drop_absent(tree[key], obj[key[2:]])


def _content(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for key in ("resourceVersion", "managedFields", "generation"):
        out["metadata"].pop(key, None)
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _is_discovery(path: str) -> bool:
    """/api, /apis, /api/v1 and /apis/<group>/<version>: not objects, not collections."""
    parts = path.strip("/").split("/")
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)


def _discovery(path: str) -> Obj | None:
    if path == "/version":
        return {
            "major": "1",
            "minor": "33",
            "gitVersion": "v1.33.1",
            "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",  # pragma: allowlist secret
            "gitTreeState": "clean",
            "buildDate": "2025-05-15T08:19:08Z",
            "goVersion": "go1.24.2",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        groups = sorted({(g, v) for g, v, *_ in RESOURCES if g})
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                    "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                }
                for g, v in groups
            ],
        }
    for group, version in {(g, v) for g, v, *_ in RESOURCES}:
        gv = f"{group}/{version}" if group else version
        if path == (f"/apis/{gv}" if group else f"/api/{version}"):
            resources = []
            for g, v, plural, kind, namespaced in RESOURCES:
                if (g, v) == (group, version):
                    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                    resources.append(
                        {
                            "name": plural,
                            "singularName": kind.lower(),
                            "namespaced": namespaced,
                            "kind": kind,
                            "verbs": verbs,
                        }
                    )
                    if kind in ("Deployment", "StatefulSet", "Pod"):
                        resources.append(
                            {
                                "name": f"{plural}/status",
                                "singularName": "",
                                "namespaced": True,
                                "kind": kind,
                                "verbs": ["get", "patch", "update"],
                            }
                        )
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": resources,
            }
    return None


def write_kubeconfig(path: Path, server: str, context: str = "fake-apiserver") -> Path:
    """A kubeconfig whose only context points at `server` (token auth, plain HTTP)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": "stand-in-token"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path
