"""Root's secret lives in two 0600 files and nowhere else: not in what weed persists on its own
(`data/mini.options`, written 0644), not behind the console login, not in the README's backup.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from platform_defs import credentials
from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.s3 import ObjectStore
from platform_defs.settings import PlatformSettings, load_settings
from tests.s3_servers import free_port
from tests.security.conftest import Platform, start_platform

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# The files meant to hold root's secret: the generated credentials and weed's identities file.
ROOT_SECRET_FILES = ("credentials/root.json", "object-store/s3.json")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


def files_holding(root: Path, secret: str) -> dict[str, int]:
    """Every regular file under `root` whose bytes contain `secret`, with its mode."""
    needle = secret.encode()
    found = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            if needle in path.read_bytes():
                found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found


def wait_for_mini_options(settings: PlatformSettings) -> None:
    """weed writes `data/mini.options` once every component is up, which can be after the
    platform saw it healthy: wait for this start's copy (it names this start's S3 port)."""
    path = settings.store_dir / "data" / "mini.options"
    deadline = time.monotonic() + 60
    while f"s3.port={settings.s3_port}" not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"weed never wrote {path}"
        time.sleep(0.2)


def assert_only_credentials_files_hold(settings: PlatformSettings, secret: str) -> None:
    wait_for_mini_options(settings)
    holders = files_holding(settings.state_dir, secret)
    expected = {f"{settings.namespace}/{name}" for name in ROOT_SECRET_FILES}
    assert set(holders) == expected, f"root's secret is in {sorted(holders)}"
    readable = {path: f"{mode:o}" for path, mode in holders.items() if mode & 0o077}
    assert not readable, f"readable by group/other: {readable}"


def test_root_secret_is_only_in_the_private_credentials_files(platform: Platform) -> None:
    ObjectStore(platform.root).client.put_object(
        platform.settings.bucket, "warehouse/x", io.BytesIO(b"x"), 1
    )
    assert_only_credentials_files_hold(platform.settings, platform.root.credentials.secret_key)


def _console_login(url: str, user: str, password: str) -> bool:
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10)
    form = {"username": user, "password": password}
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token:
        form["csrf_token"] = token.group(1)
    session.post(f"{url}/login", data=form, allow_redirects=False, timeout=10)
    return session.get(f"{url}/", allow_redirects=False, timeout=10).status_code == 200


def test_console_login_is_its_own_not_roots_keys(platform: Platform) -> None:
    """The console shows the whole cluster and its settings; its login is a separate generated
    pair, so the console's password is not also the S3 root secret (and vice versa)."""
    url = platform.root.console_url
    assert url
    root = platform.root.credentials
    assert not _console_login(url, root.access_key, root.secret_key), "root's keys open it"
    console = credentials.load_file(platform.settings.credentials_dir / "console.json")
    assert console.secret_key != root.secret_key
    assert _console_login(url, console.access_key, console.secret_key)
    assert not _console_login(url, console.access_key, console.secret_key + "x")


def _settings(state: Path) -> PlatformSettings:
    return load_settings(
        _env_file=None, state_dir=state, s3_port=free_port(), console_port=free_port()
    )


def test_a_store_from_before_keeps_no_copy_of_the_secret(tmp_path: Path) -> None:
    """An existing store dir written by an older platform: `weed.options` with root's keys and
    weed's `mini.options` at 0644 that repeats them (weed reloads it at every start)."""
    settings = _settings(tmp_path / "state")
    creds = credentials.generate()
    credentials.save(settings.generated_credentials_file, creds)
    store = LocalStore(settings)
    legacy = f"admin.user={creds.access_key}\nadmin.password={creds.secret_key}\n"
    store.data_dir.mkdir(parents=True)
    (store.data_dir / "mini.options").write_text(legacy + "webdav=false\n")
    (store.data_dir / "mini.options").chmod(0o644)
    credentials.write_private_text(store.root / "weed.options", legacy)
    try:
        store.ensure_running()
        assert_only_credentials_files_hold(settings, creds.secret_key)
    finally:
        store.stop()


def _backup_recipe() -> list[str]:
    """The commands of the README's consistent-copy recipe for the embedded store, in order:
    the fenced block after the sentence that introduces it, else its inline code spans."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tail = readme[readme.index("For a consistent copy of the embedded store") :]
    paragraph = tail.split("Compose:", 1)[0]
    fenced = re.search(r"```bash\n(.*?)```", paragraph, re.DOTALL)
    lines = fenced.group(1).splitlines() if fenced else re.findall(r"`([^`]+)`", paragraph)
    commands = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    assert any("tar " in c for c in commands), f"no tar command in {commands}"
    return commands


def test_readme_backup_recipe_makes_a_private_archive_without_root_secret(
    tmp_path: Path,
) -> None:
    """Run the README's recipe as written, from a shell with the usual umask 022, against a
    store that holds data. `make` runs the checkout's Makefile; `make run` is stood in for by
    starting the store alone (the whole bootstrap adds nothing to what the archive holds)."""
    state = tmp_path / "state"
    settings = _settings(state)
    store = LocalStore(settings)
    endpoint = store.ensure_running().endpoint
    client = ObjectStore(endpoint)
    client.ensure_bucket("datalake")
    client.client.put_object("datalake", "warehouse/t/data/1.parquet", io.BytesIO(b"row"), 3)
    start_store = (
        f"{REPO}/.venv/bin/python -c 'from platform_defs.clients.local_store import "
        "LocalStore; from platform_defs.settings import load_settings; "
        "LocalStore(load_settings()).ensure_running()'"
    )
    shell_make = (
        'make() { if [ "$1" = run ]; then ' + start_store + "; else "
        f'command make --no-print-directory -C {REPO} "$@"; fi; }}'
    )
    env = {
        **os.environ,
        "PLATFORM_STATE_DIR": str(state),
        "PLATFORM_S3_PORT": str(settings.s3_port),
        "PLATFORM_CONSOLE_PORT": str(settings.console_port),
        "PYTHONPATH": str(REPO),
    }
    work = tmp_path / "work"
    work.mkdir()
    try:
        for command in _backup_recipe():
            command = command.replace("~/.local/state/lakehouse-platform", str(state))
            command = command.replace("<state>", str(state)).replace(
                "<PLATFORM_STATE_DIR>", str(state)
            )
            script = f"umask 022\n{shell_make}\n{command}\n"
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}\n{done.stderr}"
    finally:
        store.stop()

    archives = list(work.glob("*.tgz"))
    assert len(archives) == 1, archives
    archive = archives[0]
    assert archive.stat().st_mode & 0o777 == 0o600, f"archive mode {archive.stat().st_mode:o}"
    secret = endpoint.credentials.secret_key.encode()
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        assert any(m.name.endswith(".dat") for m in members), "the archive holds no volume data"
        holding = [m.name for m in members if secret in (tar.extractfile(m) or io.BytesIO()).read()]
    assert not holding, f"root's secret is in the backup: {holding}"
