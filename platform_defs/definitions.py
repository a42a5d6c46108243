"""The single definitions entry point of the code location.

Settings are loaded here once at import so that a bad PLATFORM_* value fails `dagster definitions
validate`, `dagster job execute` and the UI's code-location load with the message that names it.

The domains (the repository's `assets/` folder) are imported by one of two names: `assets` in a
checkout, `platform_defs.defs` from the wheel, which installs them there so that no generic
top-level `assets` package lands in site-packages (pyproject's wheel `sources`). This module is
the only one that names them; inside, the domains import each other relatively.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings

import dagster as dg

from platform_defs.private import restrict_umask
from platform_defs.settings import load_settings

INSTALLED_DOMAINS, CHECKOUT_DOMAINS = "platform_defs.defs", "assets"

# Every Dagster process that loads this code (`job execute`, the code server, step workers)
# then writes run history, compute logs and catalogs owner-only, whatever the shell's umask.
restrict_umask()
# Dagster's own Pipes client calls a preview API of itself on every Spark step; the warning
# is about Dagster's internals, which no user of this project can act on.
warnings.filterwarnings(
    "ignore",
    message="Function `PipesMessageReader.expected_writer_count`",
    category=dg.PreviewWarning,
)
settings = load_settings()


def domains_package() -> str:
    """`platform_defs.defs` when the wheel is installed, else the checkout's `assets`."""
    installed = importlib.util.find_spec(INSTALLED_DOMAINS) is not None
    return INSTALLED_DOMAINS if installed else CHECKOUT_DOMAINS


composition = importlib.import_module(f"{domains_package()}.definitions")
defs: dg.Definitions = composition.build(settings)
