"""`python -m tools.k8s_testenv build|up|down|status|env` (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tools.k8s_testenv import env, layout


def build() -> int:
    """Run build.sh (a no-op when the keyed build directory is complete)."""
    script = Path(__file__).with_name("build.sh")
    return subprocess.run(["bash", str(script)], check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.k8s_testenv")
    parser.add_argument("command", choices=["build", "up", "down", "status", "env"])
    parser.add_argument("--state", type=Path, default=None, help="state directory")
    args = parser.parse_args(argv)
    state: Path = args.state or layout.default_state_dir()
    try:
        if args.command == "build":
            return build()
        if args.command == "up":
            running = env.up(state)
            print(json.dumps(running.as_dict(), indent=2))
            print(f"export KUBECONFIG={running.kubeconfig}", file=sys.stderr)
        elif args.command == "down":
            print(json.dumps(env.down(state), indent=2))
        elif args.command == "status":
            print(json.dumps(env.status(state), indent=2))
        else:
            print(f"export KUBECONFIG={state / 'admin.kubeconfig'}")
            print(f"export KUBECACHEDIR={state / 'kubecache'}")
    except (layout.NotBuiltError, env.StartError, RuntimeError) as exc:
        print(f"k8s-testenv: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
