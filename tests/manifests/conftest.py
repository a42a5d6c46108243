"""Fixtures for the offline manifest tests: a scratch copy of `manifests/` prepared by the tool.

Tests never write into the repository's own `generated/` directories: those may hold a
developer's real cluster secrets. Paths come from this file, not the working directory, because
the suite-wide conftest moves every test into a temporary directory.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import platform_defs  # noqa: E402
from platform_defs.k8s import prepare, render  # noqa: E402

OVERLAYS = ("dev", "prod")
# The same plus the optional REST catalog component (manifests/components/rest-catalog).
CATALOG_OVERLAYS = tuple(prepare.REST_CATALOG_OVERLAYS)

# The package under test must be this checkout's, not another one installed in the venv.
assert Path(platform_defs.__file__).resolve().is_relative_to(REPO), platform_defs.__file__


@dataclass(frozen=True)
class Rendered:
    overlay: str
    path: Path
    text: str
    docs: list[render.Document]

    def one(self, kind: str, name: str) -> render.Document:
        found = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
        return found[0]

    def kinds(self, kind: str) -> list[render.Document]:
        return [d for d in self.docs if d["kind"] == kind]


def copy_manifests(dest: Path) -> Path:
    """`manifests/` without any generated secrets, so tests start from what git holds."""
    target = dest / "manifests"
    shutil.copytree(REPO / "manifests", target, ignore=shutil.ignore_patterns("generated"))
    return target


@pytest.fixture(scope="session")
def prepared_manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = copy_manifests(tmp_path_factory.mktemp("manifests"))
    for overlay in OVERLAYS:
        prepare.prepare(overlay, manifests_dir=target, env={})
    return target


@pytest.fixture(scope="session")
def rendered(prepared_manifests: Path) -> dict[str, Rendered]:
    out = {}
    for overlay in OVERLAYS:
        path = prepared_manifests / "overlays" / overlay
        text = render.render(path)
        out[overlay] = Rendered(overlay, path, text, render.load_documents(text))
    return out


@pytest.fixture(scope="session")
def rendered_catalog(prepared_manifests: Path) -> dict[str, Rendered]:
    """`<overlay>-rest-catalog` for both overlays, prepared like a user would."""
    out = {}
    for overlay in CATALOG_OVERLAYS:
        prepare.prepare(overlay, manifests_dir=prepared_manifests, env={})
        path = prepared_manifests / "overlays" / overlay
        text = render.render(path)
        out[overlay] = Rendered(overlay, path, text, render.load_documents(text))
    return out


@pytest.fixture
def scratch_manifests(tmp_path: Path) -> Path:
    """A fresh, unprepared copy for tests that run the prepare tool themselves."""
    return copy_manifests(tmp_path)
