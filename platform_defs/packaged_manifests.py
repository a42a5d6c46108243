"""Where the Kubernetes manifests come from when the platform runs without a checkout.

The wheel carries `manifests/` as package data (`platform_defs/_manifests`, see pyproject's
wheel `sources`). It is not rendered in place: the prepare tool writes the overlay's secrets
into `overlays/<env>/generated/`, and kustomize only reads files inside the overlay, so a
render needs a writable copy. Site-packages is the wrong place for secrets (shared, often
read-only, and replaced on every upgrade, which would generate new root credentials and roll
MinIO under its clients). The packaged tree is therefore copied to `<state>/manifests`, next
to the platform's other state, on every resolution: files the package changed are updated,
files it no longer has are removed, and every `generated/` directory is left alone.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from platform_defs.errors import ManifestError

PACKAGE_DIR = "_manifests"
GENERATED = "generated"
# A source checkout (or an editable install of one): the repository's own manifests/.
CHECKOUT = Path(__file__).resolve().parents[1] / "manifests"


def packaged() -> Path | None:
    """The manifests inside the installed package, or None (a checkout has none)."""
    root = importlib.resources.files("platform_defs") / PACKAGE_DIR
    return root if isinstance(root, Path) and root.is_dir() else None


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and GENERATED not in p.relative_to(root).parts
    }


def materialize(source: Path, target: Path) -> Path:
    """Make `target` hold `source`'s files (generated/ excepted, on both sides); idempotent."""
    wanted = _files(source)
    for rel in sorted(wanted):
        src, dest = source / rel, target / rel
        if not dest.is_file() or dest.read_bytes() != src.read_bytes():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    if target.is_dir():
        for stale in _files(target) - wanted:
            (target / stale).unlink()
    return target


def resolve(state_dir: Path) -> Path:
    """The checkout's manifests/, else the packaged copy materialized under `state_dir`."""
    if CHECKOUT.is_dir():
        return CHECKOUT
    source = packaged()
    if source is None:
        raise ManifestError(
            f"No Kubernetes manifests: {CHECKOUT} does not exist and the installed "
            f"platform_defs has no {PACKAGE_DIR}/ (a wheel built without them). Set "
            "PLATFORM_MANIFESTS_DIR to a `manifests` directory, or reinstall the package."
        )
    return materialize(source, state_dir / "manifests")
