"""Owner-only state: every directory 0700 and every file 0600, whatever the caller's umask.

The state directory holds run history, compute logs (which print what assets saw), store data
and keys, all readable by anyone on the host if created with the usual umask 022. A mode given
to `mkdir` or `open` is masked by the umask, so modes are set with an explicit chmod; entry
points also lower the process umask so files created by libraries (Dagster's SQLite databases
and compute logs, SQLite catalogs, SeaweedFS's volumes) are private from their first byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> None:
    """Make files this process (and its children) create owner-only from now on."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path, root: Path | None = None) -> Path:
    """Create `path` (and missing parents) and chmod it 0700; with `root`, also every
    directory between `root` and `path`, so a state tree created under umask 022 is fixed too.
    Directories above `root` are not the platform's and are left alone."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    chain = [path]
    if root is not None and path.is_relative_to(root):
        chain += [p for p in path.parents if p.is_relative_to(root)]
    for directory in chain:
        if stat.S_IMODE(directory.stat().st_mode) != DIR_MODE:
            directory.chmod(DIR_MODE)
    return path


def private_tree(root: Path) -> None:
    """chmod everything under `root` to 0700 (directories) / 0600 (other files); symlinks are
    neither followed nor changed. Fixes trees left by an older platform or another umask."""
    if not root.is_dir():
        return
    for dirpath, _dirs, files in os.walk(root):  # does not descend into symlinked dirs
        here = Path(dirpath)
        _chmod(here, DIR_MODE)
        for name in files:
            _chmod(here / name, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:  # removed while we walked (a server may rotate its files)
        return
    if stat.S_ISLNK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return
    if stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)


def open_private(path: Path, flags: int) -> int:
    """`os.open` that creates `path` 0600 (and fixes an existing file's mode)."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd
