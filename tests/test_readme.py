"""The README stays true: its troubleshooting table quotes messages the code really raises, and
the documents it sends people to exist. (Every setting being in the settings table is checked
in tests/test_settings.py.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Where the platform's messages come from: its code, and the compose file's `${VAR:?message}`.
SOURCES = ("platform_defs", "assets", "docker-compose.yml")


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def troubleshooting_fragments(text: str) -> list[str]:
    """The first cell of each table row, a code span (single or double backticks)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line[2:].split(" | ", 1)[0]
        out.append(cell[2:-2].strip() if cell.startswith("``") else cell[1:-1])
    return out


def _source_text() -> str:
    files = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            *SOURCES,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return "\n".join(
        (ROOT / f).read_text(encoding="utf-8") for f in files if f.endswith((".py", ".yml"))
    )


def test_troubleshooting_table_is_parsed() -> None:
    fragments = troubleshooting_fragments(_section("Troubleshooting"))
    assert len(fragments) >= 20
    assert "run `make compose-env` to write .env" in fragments
    assert all("`" not in f.replace("`make compose-env`", "") for f in fragments), fragments


@pytest.mark.parametrize("fragment", troubleshooting_fragments(_section("Troubleshooting")))
def test_each_troubleshooting_fragment_occurs_in_the_code(fragment: str) -> None:
    assert len(fragment) >= 12, f"{fragment!r} is too short to identify a message"
    assert fragment in _source_text(), f"no message contains {fragment!r}: update the README"


def test_a_fragment_that_is_not_in_the_code_is_caught() -> None:
    assert "The store exploded in an unusual way" not in _source_text()


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    commands = [line.split()[:2] for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == [["make", "run"], ["make", "test"]]


def test_linked_documents_exist() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (ROOT / target).exists(), f"README links to missing {target}"
    for doc in ("manifests/README.md", "manifests/dagster/README.md"):
        assert f"]({doc})" in README
