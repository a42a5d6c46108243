"""The kubelet's part for the Spark step's Pipes pod on the loopback control plane, and only that.

kwok schedules the pod and marks it Running, but runs no container. `SparkKubelet` watches the
namespace's pods with the Spark step's label (`pipes.S3_CLIENT_LABEL`, container `spark`) and, for
each one the scheduler placed, runs the container's own command as a local process: the real
`python -m assets.spark_jobs lake_inventory`, real Spark in local mode. It writes the process's
stdout/stderr in CRI log format into the file kwok serves for that container (`ClusterLogs` in
tools/k8s_testenv/components.py), so `PipesK8sClient` reads the Pipes messages through the real
apiserver -> kwok log path, and when the process exits it sets the exit-code annotation that
kwok's `container-exit` stage turns into the container's terminated state and the pod's phase.

What it changes on the way from the pod spec to the process, each as the cluster would:
- `secretKeyRef` values: read from the live Secret the pod names (as the kubelet does); every
  Secret read is recorded, and the test asserts it was the `spark` identity's, never root's;
- the in-cluster Service URL in the Pipes context's endpoint becomes the 127.0.0.1 address the
  store answers at in the test (what cluster DNS and kube-proxy would do; nothing resolves
  `*.svc.cluster.local` here);
- the image: `python` is this checkout's interpreter and the working directory its root (the
  image's /app/.venv and /app), the image's ENV lines point at this machine's equivalents.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import kubernetes
from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    PipesDefaultContextLoader,
    decode_env_var,
    encode_env_var,
)

from platform_defs.k8s import pipes
from platform_defs.settings import load_settings
from tools.k8s_testenv import components

REPO = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 600.0


@dataclass
class Ran:
    """One container the stand-in ran: what the test asserts on."""

    pod: str
    exit_code: int
    secrets_read: set[str]
    seconds: float


@dataclass
class _Clock:
    """CRI timestamps, strictly increasing and always with 9 fractional digits: kwok re-emits
    them as RFC 3339 with trailing zeros cut, and PipesK8sClient joins a line whose timestamp
    differs in length from the one before it onto that line (a split Pipes message)."""

    last: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stamp(self) -> str:
        with self.lock:
            ns = max(time.time_ns(), self.last + 1)
            if ns % 10 == 0:
                ns += 1
            self.last = ns
        secs, frac = divmod(ns, 1_000_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class SparkKubelet:
    """Runs the Spark step's container of every Pipes pod in `namespace` (see module doc)."""

    def __init__(self, kubeconfig: Path, state: Path, namespace: str, store_url: str) -> None:
        self._client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        self._core = kubernetes.client.CoreV1Api(self._client)
        self._namespace, self._store_url = namespace, store_url
        self._log = components.spark_container_log(state)
        self._log.parent.mkdir(parents=True, exist_ok=True)
        self._log.write_bytes(b"")
        self._clock = _Clock()
        self._stop = threading.Event()
        self._started: set[str] = set()
        self.ran: list[Ran] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._watch, name="spark-kubelet", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=PROCESS_TIMEOUT + 30)
        self._client.close()

    def _watch(self) -> None:
        selector = ",".join(f"{k}={v}" for k, v in pipes.S3_CLIENT_LABEL.items())
        watch = kubernetes.watch.Watch()
        while not self._stop.is_set():
            try:
                for event in watch.stream(
                    self._core.list_namespaced_pod,
                    self._namespace,
                    label_selector=selector,
                    timeout_seconds=2,
                ):
                    self._on(event["type"], event["object"])
                    if self._stop.is_set():
                        break
            except Exception as exc:  # reported to the test, which fails on any
                self.errors.append(f"watch: {type(exc).__name__}: {exc}")
                return

    def _on(self, kind: str, pod: Any) -> None:
        containers = pod.spec.containers or []
        if not any(c.name == components.SPARK_CONTAINER for c in containers):
            return
        if kind == "DELETED":
            # The next pod's container log starts empty (a new container, a new log).
            self._log.write_bytes(b"")
            return
        uid = pod.metadata.uid
        if uid in self._started or not pod.spec.node_name or pod.metadata.deletion_timestamp:
            return
        self._started.add(uid)
        try:
            self._run(pod)
        except Exception as exc:
            # As a kubelet that cannot start a container: the pod fails (128, ContainerCannotRun)
            # rather than hang the step; the test fails on `errors`.
            self.errors.append(f"{pod.metadata.name}: {type(exc).__name__}: {exc}")
            self._exited(pod.metadata.name, 128)

    def _secret_value(self, ref: Any, read: set[str]) -> str:
        secret = self._core.read_namespaced_secret(ref.name, self._namespace)
        read.add(ref.name)
        return base64.b64decode(secret.data[ref.key]).decode()

    def _environment(self, container: Any, read: set[str]) -> dict[str, str]:
        # The image's ENV lines (Dockerfile), on this machine.
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(Path.home()),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PLATFORM_JAR_CACHE_DIR": str(load_settings().resolved_jar_cache_dir),
        }
        if java_home := os.environ.get("JAVA_HOME"):
            env["JAVA_HOME"] = java_home
        for var in container.env or []:
            if var.value_from is not None:
                ref = var.value_from.secret_key_ref
                if ref is None:
                    raise RuntimeError(f"{var.name}: only secretKeyRef is played here")
                env[var.name] = self._secret_value(ref, read)
            else:
                env[var.name] = var.value or ""
        # The context travels in the pod's env, inline (PipesEnvContextInjector).
        context = decode_env_var(env[DAGSTER_PIPES_CONTEXT_ENV_VAR])
        endpoint = context[PipesDefaultContextLoader.DIRECT_KEY]["extras"]["endpoint"]
        if not str(endpoint["url"]).endswith(".svc.cluster.local:9000"):
            raise RuntimeError(f"the pod's endpoint is not the in-cluster Service: {endpoint}")
        endpoint["url"] = self._store_url  # cluster DNS + kube-proxy, played
        env[DAGSTER_PIPES_CONTEXT_ENV_VAR] = encode_env_var(context)
        return env

    def _run(self, pod: Any) -> None:
        (container,) = [c for c in pod.spec.containers if c.name == components.SPARK_CONTAINER]
        read: set[str] = set()
        env = self._environment(container, read)
        command = list(container.command or [])
        if command[:1] == ["python"]:
            command[0] = sys.executable  # the image's /app/.venv/bin/python
        began = time.monotonic()
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        lock = threading.Lock()
        with self._log.open("ab", buffering=0) as out:
            copiers = [
                threading.Thread(target=self._copy, args=(stream, name, out, lock), daemon=True)
                for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))
            ]
            for copier in copiers:
                copier.start()
            try:
                code = proc.wait(timeout=PROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            for copier in copiers:
                copier.join(timeout=30)
        self.ran.append(Ran(pod.metadata.name, code, read, time.monotonic() - began))
        self._exited(pod.metadata.name, code)

    def _exited(self, pod: str, code: int) -> None:
        self._core.patch_namespaced_pod(
            pod,
            self._namespace,
            {"metadata": {"annotations": {components.EXIT_CODE_ANNOTATION: str(code)}}},
        )

    def _copy(self, stream: IO[bytes] | None, name: str, out: IO[bytes], lock: Any) -> None:
        assert stream is not None
        for raw in iter(stream.readline, b""):
            line = raw.rstrip(b"\n")
            with lock:
                out.write(f"{self._clock.stamp()} {name} F ".encode() + line + b"\n")
