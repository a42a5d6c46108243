"""The command line of each component, the kubeconfigs they use and kwok's configuration.

Pure functions of the layout (paths, ports): rendering is tested without starting anything.
Facts these lines encode, each found on a real run:
- the apiserver advertises 127.0.0.1 with `--endpoint-reconciler-type=none` (the default
  reconciler writes a loopback address into the `kubernetes` EndpointSlice, which the API
  itself refuses), and reaches kwok's kubelet endpoint by the node's InternalIP;
- the controller-manager writes a flex-volume plugin directory outside its state unless given
  `--flex-volume-plugin-dir`;
- kwok's binary applies no defaults to a configuration file: every option is spelled out;
- kwok serves a container's log from a CRI-format file named by a `ClusterLogs` rule (selected by
  namespace/name and container name only, one fixed file per rule), and a follow of it never
  ends (its CRI stub answers `Unavailable`, which cri-client reads as "still running").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tools.k8s_testenv import layout
from tools.k8s_testenv.pki import Pki


@dataclass(frozen=True)
class Env:
    """One environment's paths and ports."""

    state: Path
    bin: Path
    ports: layout.Ports

    @property
    def pki(self) -> Pki:
        return Pki(self.state / "pki")

    @property
    def server(self) -> str:
        return f"https://{layout.HOST}:{self.ports.apiserver}"

    def kubeconfig(self, who: str = "admin") -> Path:
        return self.state / f"{who}.kubeconfig"

    @property
    def kwok_config(self) -> Path:
        return self.state / "kwok.yaml"


# The Spark step's container (platform_defs/k8s/pipes.py names it `spark`): kwok runs none, so a
# test that plays the kubelet for it writes the process's output here in CRI format, and sets
# EXIT_CODE_ANNOTATION when the process has exited (the `container-exit` stage below).
SPARK_CONTAINER = "spark"
EXIT_CODE_ANNOTATION = "testenv.lakehouse.platform/exit-code"


def spark_container_log(state: Path) -> Path:
    return state / "pod-logs" / f"{SPARK_CONTAINER}.log"


def kubeconfig(env: Env, who: str) -> str:
    """A kubeconfig for client certificate `who` (JSON is valid YAML, and needs no library)."""
    pki = env.pki
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "testenv",
                "cluster": {
                    "server": env.server,
                    "certificate-authority": str(pki.path("ca.crt")),
                },
            }
        ],
        "users": [
            {
                "name": who,
                "user": {
                    "client-certificate": str(pki.path(f"{who}.crt")),
                    "client-key": str(pki.path(f"{who}.key")),
                },
            }
        ],
        "contexts": [{"name": "testenv", "context": {"cluster": "testenv", "user": who}}],
        "current-context": "testenv",
    }
    return json.dumps(doc, indent=2) + "\n"


def etcd(env: Env) -> list[str]:
    p = env.ports
    client = f"http://{layout.HOST}:{p.etcd_client}"
    peer = f"http://{layout.HOST}:{p.etcd_peer}"
    return [
        str(env.bin / "etcd"),
        "--name=testenv",
        f"--data-dir={env.state / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=testenv={peer}",
        "--log-level=warn",
        # A disposable store: fsync per write would only slow the tests down.
        "--unsafe-no-fsync",
        "--quota-backend-bytes=1073741824",
    ]


def apiserver(env: Env) -> list[str]:
    pki, p = env.pki, env.ports
    return [
        str(env.bin / "kube-apiserver"),
        f"--etcd-servers=http://{layout.HOST}:{p.etcd_client}",
        f"--bind-address={layout.HOST}",
        f"--advertise-address={layout.HOST}",
        f"--secure-port={p.apiserver}",
        "--endpoint-reconciler-type=none",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={pki.path('apiserver-kubelet-client.crt')}",
        f"--kubelet-client-key={pki.path('apiserver-kubelet-client.key')}",
        f"--kubelet-certificate-authority={pki.path('ca.crt')}",
        f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
        f"--tls-cert-file={pki.path('apiserver.crt')}",
        f"--tls-private-key-file={pki.path('apiserver.key')}",
        f"--client-ca-file={pki.path('ca.crt')}",
        f"--service-account-key-file={pki.path('sa.pub')}",
        f"--service-account-signing-key-file={pki.path('sa.key')}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        f"--requestheader-client-ca-file={pki.path('front-proxy-ca.crt')}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.path('front-proxy-client.crt')}",
        f"--proxy-client-key-file={pki.path('front-proxy-client.key')}",
        f"--cert-dir={env.state / 'apiserver-certs'}",
        "--profiling=false",
        "--v=1",
    ]


def _delegated(env: Env, who: str, port: int) -> list[str]:
    """Flags the controller-manager and scheduler share: their kubeconfig for the API and for
    delegated authn/z of their own HTTPS endpoint, on loopback, with the front-proxy CA."""
    kc = env.kubeconfig(who)
    return [
        str(env.bin / f"kube-{who}"),
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        f"--bind-address={layout.HOST}",
        f"--secure-port={port}",
        f"--cert-dir={env.state / f'{who}-certs'}",
        f"--requestheader-client-ca-file={env.pki.path('front-proxy-ca.crt')}",
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    ]


def controller_manager(env: Env) -> list[str]:
    pki = env.pki
    return [
        *_delegated(env, "controller-manager", env.ports.controller_manager),
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.path('sa.key')}",
        f"--root-ca-file={pki.path('ca.crt')}",
        f"--cluster-signing-cert-file={pki.path('ca.crt')}",
        f"--cluster-signing-key-file={pki.path('ca.key')}",
        f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
        "--allocate-node-cidrs=false",
        f"--flex-volume-plugin-dir={env.state / 'flexvolume'}",
    ]


def scheduler(env: Env) -> list[str]:
    return _delegated(env, "scheduler", env.ports.scheduler)


def kwok(env: Env) -> list[str]:
    return [
        str(env.bin / "kwok"),
        f"--kubeconfig={env.kubeconfig('kwok')}",
        f"--config={env.kwok_config}",
    ]


def kwok_options(env: Env) -> dict[str, object]:
    """Every KwokConfiguration option, spelled out (the binary defaults none from a file)."""
    pki = env.pki
    return {
        "cidr": layout.POD_CIDR,
        "nodeIP": layout.HOST,
        "nodeName": "",
        "nodePort": env.ports.kwok,
        "tlsCertFile": str(pki.path("kwok-serving.crt")),
        "tlsPrivateKeyFile": str(pki.path("kwok-serving.key")),
        "manageSingleNode": "",
        "manageAllNodes": False,
        "manageNodesWithAnnotationSelector": "kwok.x-k8s.io/node=fake",
        "manageNodesWithLabelSelector": "",
        "disregardStatusWithAnnotationSelector": "",
        "disregardStatusWithLabelSelector": "",
        "serverAddress": f"{layout.HOST}:{env.ports.kwok}",
        "enableDebuggingHandlers": True,
        "enableContentionProfiling": False,
        "enableProfilingHandler": False,
        "podPlayStageParallelism": 4,
        "nodePlayStageParallelism": 4,
        "nodeLeaseDurationSeconds": 40,
        "nodeLeaseParallelism": 4,
        "podsOnNodeSyncParallelism": 4,
        "enablePodsOnNodeSyncListPager": True,
        "enablePodsOnNodeSyncStreamWatch": False,
        "enableCRDs": [],
    }


# kwok's own stage files (copied out of its module at build time) that make nodes Ready with a
# lease heartbeat and pods Running/Ready, completed and deleted.
STAGE_FILES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


def kwok_config(env: Env, stages_dir: Path) -> str:
    """The multi-document file kwok reads: its configuration, then the stages."""
    head = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "metadata": {"name": "testenv"},
        "options": kwok_options(env),
    }
    forward = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterPortForward",
        "metadata": {"name": "every-pod-to-loopback"},
        "spec": {"forwards": [{"target": {"address": layout.HOST, "port": env.ports.forward}}]},
    }
    logs = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": {"name": "spark-container-log"},
        "spec": {
            "logs": [
                {
                    "containers": [SPARK_CONTAINER],
                    "logsFile": str(spark_container_log(env.state)),
                    "follow": True,
                }
            ]
        },
    }
    parts = [json.dumps(head, indent=2), json.dumps(forward, indent=2), json.dumps(logs, indent=2)]
    parts.append(CONTAINER_EXIT_STAGE.strip())
    for rel in STAGE_FILES:
        parts.append((stages_dir / rel).read_text().strip())
    return "\n---\n".join(parts) + "\n"


# A Running pod whose container a test ran and saw exit (EXIT_CODE_ANNOTATION, set only by that
# test) terminates as a kubelet reports it: the container `terminated` with that exit code,
# phase Succeeded (0) or Failed. The stock pod-complete stage completes only Job-owned pods.
CONTAINER_EXIT_STAGE = f"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: container-exit
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.annotations["{EXIT_CODE_ANNOTATION}"]'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      {{{{ $code := index .metadata.annotations "{EXIT_CODE_ANNOTATION}" }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: Ready
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{{{ $code }}}}
            finishedAt: {{{{ $now | Quote }}}}
            reason: {{{{ if eq $code "0" }}}}Completed{{{{ else }}}}Error{{{{ end }}}}
      {{{{ end }}}}
      phase: {{{{ if eq $code "0" }}}}Succeeded{{{{ else }}}}Failed{{{{ end }}}}
"""
