"""The state directory must be writable before anything is provisioned in it.

A read-only or misplaced PLATFORM_STATE_DIR used to surface as a raw `OSError` traceback from
whichever step first wrote there (the Dagster home, the lock, the store's data). Proving it once,
up front, turns every such case into one message that names the directory and the fix.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from platform_defs.errors import StateDirError


def require_writable(path: Path) -> Path:
    """Create `path` (owner-only) if needed and prove a file can be written in it.

    The probe is a temporary file that is removed at once, so a failure leaves nothing behind
    and a success leaves only the directory the run would create anyway.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise StateDirError(
            f"state directory {path} is not writable: {reason}{where}. Set PLATFORM_STATE_DIR "
            "to a directory you can write, or fix its permissions (`ls -ld` each parent "
            "directory; `lsattr -d` shows an immutable flag)."
        ) from None
    return path
