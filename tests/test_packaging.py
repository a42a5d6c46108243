"""What the wheel ships and how the kubernetes target finds its manifests without a checkout.

The fast tests use a copy of manifests/ in place of the package's `_manifests/`; the slow one
builds the real wheel, installs it into a fresh virtualenv and renders an overlay from a
directory outside the checkout with the kubectl the wheel's dependencies bring."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from platform_defs import packaged_manifests
from platform_defs.errors import ManifestError
from platform_defs.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An install without a checkout: no manifests/ next to the package, a packaged copy."""
    fake_package = tmp_path / "site-packages" / "platform_defs" / "_manifests"
    shutil.copytree(REPO / "manifests", fake_package, ignore=shutil.ignore_patterns("generated"))
    monkeypatch.setattr(packaged_manifests, "CHECKOUT", tmp_path / "nowhere" / "manifests")
    monkeypatch.setattr(packaged_manifests, "packaged", lambda: fake_package)
    return fake_package


def test_manifests_fall_back_to_the_packaged_copy_in_the_state_dir(no_checkout: Path) -> None:
    settings = load_settings()
    resolved = settings.resolved_manifests_dir
    assert resolved == settings.state_dir / "manifests"
    kustomization = "overlays/dev/kustomization.yaml"
    assert (resolved / kustomization).read_bytes() == (no_checkout / kustomization).read_bytes()


def test_the_copy_follows_the_package_and_keeps_generated_secrets(no_checkout: Path) -> None:
    settings = load_settings()
    target = settings.resolved_manifests_dir
    assert target == settings.state_dir / "manifests", "never write into the checkout"
    secret = target / "overlays" / "dev" / "generated" / "root-password"
    secret.parent.mkdir()
    secret.write_text("kept")
    (target / "overlays" / "dev" / "stale.yaml").write_text("from an older version")
    (no_checkout / "overlays" / "dev" / "kustomization.yaml").write_text("# upgraded\n")

    assert settings.resolved_manifests_dir == target
    assert (target / "overlays/dev/kustomization.yaml").read_text() == "# upgraded\n"
    assert not (target / "overlays" / "dev" / "stale.yaml").exists()
    assert secret.read_text() == "kept", "an upgrade must never replace the prepared secrets"


def test_checkout_and_setting_win_over_the_packaged_copy(tmp_path: Path) -> None:
    assert load_settings().resolved_manifests_dir == REPO / "manifests"
    assert load_settings(manifests_dir=tmp_path).resolved_manifests_dir == tmp_path


def test_no_manifests_anywhere_is_one_clear_error(
    no_checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged_manifests, "packaged", lambda: None)
    with pytest.raises(ManifestError) as err:
        load_settings().resolved_manifests_dir  # noqa: B018
    assert "PLATFORM_MANIFESTS_DIR" in str(err.value) and "_manifests" in str(err.value)


# ---- the real wheel ---------------------------------------------------------------------------
def _uv_command() -> list[str]:
    """uv as `make setup` gets it: in this interpreter, in the system python3, or on PATH."""
    for candidate in ([sys.executable, "-m", "uv"], ["python3", "-m", "uv"], ["uv"]):
        try:
            subprocess.run([*candidate, "--version"], capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.CalledProcessError):
            continue
        return candidate
    pytest.fail("uv is not installed; `make setup` installs it (pip install uv==0.13.9).")


def _uv(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "VIRTUAL_ENV"))}
    return subprocess.run(
        [*_uv_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def test_the_domains_never_import_themselves_by_their_checkout_name() -> None:
    """The wheel installs `assets/` as `platform_defs.defs`: an absolute `assets.` import in it
    would work in a checkout and fail only once installed, so each must be relative."""
    absolute = []
    for path in sorted((REPO / "assets").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name == "assets" or name.startswith("assets."):
                    absolute.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
    assert absolute == []


RENDER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import platform_defs
    import importlib.util
    import platform_defs.definitions  # the whole code location loads without the dev group
    from platform_defs.defs.spark_jobs.context import launch_command
    from platform_defs.k8s import prepare, render
    from platform_defs.settings import load_settings

    settings = load_settings(target="kubernetes")
    manifests = settings.resolved_manifests_dir
    prepare.prepare("dev", manifests_dir=manifests, env={})
    docs = render.load_documents(render.render(prepare.overlay_dir(manifests, "dev")))
    print(json.dumps({
        "package": platform_defs.__file__,
        "manifests": str(manifests),
        "kubectl": str(render.find_tool("kubectl")),
        "kinds": sorted({d["kind"] for d in docs}),
        "domains": platform_defs.definitions.domains_package(),
        "assets_importable": importlib.util.find_spec("assets") is not None,
        "spark_step": launch_command("lake_inventory")[1:],
        "jobs": sorted(j.name for j in platform_defs.definitions.defs.jobs),
    }))
    """
)


@pytest.mark.slow
def test_wheel_holds_the_runtime_only_and_renders_without_a_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _uv("build", "--wheel", "-o", str(dist), cwd=REPO)
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"platform_defs", "lakehouse_platform-0.1.0.dist-info"}, "no top-level assets"
    assert "platform_defs/defs/warehouse/iceberg.py" in names
    for module in ("secret_scan", "compose_policies", "policies.py", "manifest_policies"):
        assert not [n for n in names if module in n], f"{module} is tooling, not runtime"
    assert "platform_defs/_manifests/overlays/dev/kustomization.yaml" in names
    assert not [n for n in names if "/generated/" in n], "prepared secrets never ship"

    # A fresh virtualenv with the locked runtime dependencies (no dev group) and the wheel.
    requirements = tmp_path / "requirements.txt"
    exported = _uv("export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", cwd=REPO)
    requirements.write_text(exported.stdout)
    venv = tmp_path / "venv"
    _uv("venv", "--python", sys.executable, str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    install = ("pip", "install", "--python", str(python), "-r", str(requirements), str(wheel))
    try:
        _uv(*install, "--offline", cwd=tmp_path)
    except subprocess.CalledProcessError:
        _uv(*install, cwd=tmp_path)  # not all in the uv cache: PyPI, as `make setup` does
    assert not (venv / "bin" / "pytest").exists(), "the dev group stays out"

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["PLATFORM_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(
        [str(python), "-c", RENDER],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    out = json.loads(proc.stdout)
    assert out["package"].startswith(str(venv)), "imported from the install, not the checkout"
    assert out["manifests"] == str(tmp_path / "state" / "manifests")
    assert out["kubectl"] == str(venv / "bin" / "kubectl")
    assert {"Namespace", "Deployment", "Secret", "Service"} <= set(out["kinds"])
    # The domains load under the installed name; the Spark step's `-m` names it too.
    assert out["domains"] == "platform_defs.defs"
    assert out["assets_importable"] is False
    assert out["spark_step"] == ["-m", "platform_defs.defs.spark_jobs", "lake_inventory"]
    assert {"bootstrap_platform", "iceberg_maintenance", "rotate_credentials"} <= set(out["jobs"])
