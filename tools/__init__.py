"""Repository tooling (secret scan, compose rules, manifest policies): run by `make` and the
tests, never imported by the runtime packages and never shipped in the wheel."""
