"""The testenv's pure parts, without a control plane: rendering of command lines, kwok's
configuration, kubeconfigs and seed objects; PID records that stop exactly what they started;
the loopback guard."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from tests.k8s.loopback_guard import Guard, NonLoopbackConnection, is_loopback
from tools.k8s_testenv import components, layout, pki, procs, seed

PORTS = layout.Ports(2379, 2380, 6443, 10257, 10259, 10250, 18080)


def _env(tmp_path: Path) -> components.Env:
    return components.Env(state=tmp_path / "state", bin=tmp_path / "bin", ports=PORTS)


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in argv[1:] if "=" in a)


def test_apiserver_line_is_loopback_only_and_has_the_flags_a_real_run_needed(
    tmp_path: Path,
) -> None:
    flags = _flags(components.apiserver(_env(tmp_path)))
    assert flags["bind-address"] == flags["advertise-address"] == "127.0.0.1"
    assert flags["endpoint-reconciler-type"] == "none"
    assert flags["kubelet-preferred-address-types"] == "InternalIP"
    assert flags["etcd-servers"] == "http://127.0.0.1:2379"
    assert flags["secure-port"] == "6443"
    assert flags["service-cluster-ip-range"] == layout.SERVICE_CIDR
    assert flags["requestheader-client-ca-file"].endswith("front-proxy-ca.crt")


def test_controller_manager_keeps_flex_volume_dir_in_state(tmp_path: Path) -> None:
    env = _env(tmp_path)
    flags = _flags(components.controller_manager(env))
    assert flags["flex-volume-plugin-dir"] == str(env.state / "flexvolume")
    assert flags["bind-address"] == "127.0.0.1"
    assert flags["leader-elect"] == "false"


def test_every_listener_and_url_is_on_loopback(tmp_path: Path) -> None:
    env = _env(tmp_path)
    lines = [
        components.etcd(env),
        components.apiserver(env),
        components.controller_manager(env),
        components.scheduler(env),
    ]
    # The service-account issuer is a name written into tokens, never dialled.
    urls = [
        v
        for line in lines
        for k, v in _flags(line).items()
        if "://" in v and k != "service-account-issuer"
    ]
    assert urls
    assert all("//127.0.0.1:" in u for u in urls), urls


def test_kwok_config_spells_out_every_option_and_carries_the_stages(tmp_path: Path) -> None:
    stages = tmp_path / "stages"
    for rel in components.STAGE_FILES:
        (stages / rel).parent.mkdir(parents=True, exist_ok=True)
        (stages / rel).write_text(f"apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\n# {rel}\n")
    docs = list(yaml.safe_load_all(components.kwok_config(_env(tmp_path), stages)))
    head = docs[0]
    assert head["kind"] == "KwokConfiguration"
    options = head["options"]
    for name in ("podPlayStageParallelism", "nodePlayStageParallelism", "nodeLeaseParallelism"):
        assert options[name] > 0
    assert options["cidr"] == "192.0.2.0/24"
    assert options["nodeIP"] == "127.0.0.1"
    assert options["serverAddress"] == "127.0.0.1:10250"
    assert docs[1]["kind"] == "ClusterPortForward"
    assert docs[1]["spec"]["forwards"][0]["target"] == {"address": "127.0.0.1", "port": 18080}
    logs = docs[2]
    assert logs["kind"] == "ClusterLogs" and "selector" not in logs["spec"]
    (rule,) = logs["spec"]["logs"]
    assert rule["containers"] == ["spark"], "only the Spark step's container has a log file"
    assert rule["logsFile"] == str(components.spark_container_log(tmp_path / "state"))
    exit_stage = docs[3]
    assert exit_stage["metadata"]["name"] == "container-exit"
    keys = [e["key"] for e in exit_stage["spec"]["selector"]["matchExpressions"]]
    assert f'.metadata.annotations["{components.EXIT_CODE_ANNOTATION}"]' in keys
    assert [d["kind"] for d in docs[4:]] == ["Stage"] * len(components.STAGE_FILES)


def test_kubeconfig_points_at_the_apiserver_with_the_clients_certificate(tmp_path: Path) -> None:
    env = _env(tmp_path)
    doc = yaml.safe_load(components.kubeconfig(env, "scheduler"))
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert doc["users"][0]["user"]["client-certificate"].endswith("scheduler.crt")


def test_pki_identities_and_private_key_modes(tmp_path: Path) -> None:
    root = pki.generate(tmp_path / "pki").root
    admin = x509.load_pem_x509_certificate((root / "admin.crt").read_bytes())
    assert "O=system:masters" in admin.subject.rfc4514_string()
    server = x509.load_pem_x509_certificate((root / "apiserver.crt").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    ca = x509.load_pem_x509_certificate((root / "ca.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    assert all(p.stat().st_mode & 0o077 == 0 for p in root.glob("*.key"))


def test_seed_objects_nodes_default_class_and_pool(tmp_path: Path) -> None:
    items = json.loads(seed.objects(tmp_path, nodes=4, pool=3))["items"]
    kinds = [i["kind"] for i in items]
    assert kinds.count("Node") == 4 and kinds.count("PersistentVolume") == 3
    (sc,) = [i for i in items if i["kind"] == "StorageClass"]
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    nodes = [i for i in items if i["kind"] == "Node"]
    assert all(n["metadata"]["annotations"][seed.KWOK_ANNOTATION] == "fake" for n in nodes)


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = layout.free_ports(7)
    assert len(set(ports)) == 7
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[0]))


def _sleeper() -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(300)"]


def test_stop_signals_exactly_the_recorded_processes(tmp_path: Path) -> None:
    registry = procs.Registry(tmp_path)
    mine = procs.spawn(registry, "sleeper", _sleeper())
    other = subprocess.Popen(_sleeper(), start_new_session=True)
    try:
        assert procs.is_running(mine)
        assert [p.pid for p in registry.load()] == [mine.pid]
        outcome = procs.stop_recorded(registry, grace=5)
        assert outcome == {"sleeper": "terminated"}
        assert not procs.is_running(mine)
        assert other.poll() is None
        assert registry.load() == []
    finally:
        other.kill()
        other.wait()


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    """A record whose start time no longer matches (the PID went to another process) is gone."""
    other = subprocess.Popen(_sleeper(), start_new_session=True)
    try:
        ticks = procs.start_ticks(other.pid)
        assert ticks is not None
        stale = procs.Proc("old", other.pid, ticks - 1, str(tmp_path / "log"))
        assert procs.stop([stale], grace=1) == {"old": "gone"}
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_guard_refuses_non_loopback_before_any_packet_and_records_it() -> None:
    with Guard() as guard, socket.socket() as sock:
        with pytest.raises(NonLoopbackConnection, match=r"192\.0\.2\.7"):
            sock.connect(("192.0.2.7", 80))
        with pytest.raises(NonLoopbackConnection):
            socket.create_connection(("198.51.100.1", 443), timeout=1)
    assert guard.refused == ["('192.0.2.7', 80)", "('198.51.100.1', 443)"]


def test_guard_lets_loopback_through_and_restores_socket() -> None:
    original = socket.socket.connect
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with Guard() as guard, socket.create_connection(listener.getsockname(), timeout=2):
            pass
        assert guard.refused == []
    assert socket.socket.connect is original
    assert is_loopback(("localhost", 80))
    assert is_loopback(("::1", 80, 0, 0))
    assert not is_loopback(("10.0.0.1", 80))


@pytest.mark.parametrize(("ci", "expected"), [("true", "1 failed"), ("", "1 skipped")])
def test_cluster_tests_never_skip_on_ci(tmp_path: Path, ci: str, expected: str) -> None:
    """A `cluster` test that skips (no control plane) is turned into a failure on CI only."""
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n@pytest.mark.cluster\ndef test_needs_env():\n"
        "    pytest.skip('no control plane here')\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.k8s.testenv_session",
            "-p",
            "no:cacheprovider",
            "-c",
            "/dev/null",
            "-o",
            "markers=cluster",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_skips.py"),
        ],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CI": ci, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert expected in done.stdout, done.stdout + done.stderr
    if ci:
        assert "never skip on CI" in done.stdout
        assert "no control plane here" in done.stdout
