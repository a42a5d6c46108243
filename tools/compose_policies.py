"""Offline rules for docker-compose.yml: each returns violations, an empty list means pass.

No Docker daemon runs on this project's machines, so `docker compose up` cannot catch a broken
stack before a user does. These rules check the parsed file instead: the things that make a
compose stack fail late or unsafely (an image that no longer pulls, a service started before
its database is ready, a password in the file, a port open to the network, a setting name the
platform does not know). Each rule is a plain function of the parsed YAML, so a test can hand
it a deliberately broken copy and see it fail. The file is checked before interpolation, which
is what the secret rule needs: `${VAR:?...}` must be in the file, the value only in `.env`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

Compose = Mapping[str, Any]
Rule = Callable[[Compose], list[str]]

# Registries/repositories that stopped serving these images (see manifests/README.md).
_DEAD_IMAGE = re.compile(r"^(docker\.io/|index\.docker\.io/)?(minio|bitnami|bitnamilegacy)/")
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
# `${VAR:?message}`: required, no default, compose stops with the message when unset.
_REQUIRED_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
_ANY_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
_URI_PASSWORD = re.compile(r"://[^/:@\s]+:([^@\s]+)@")
_LOOPBACK = ("127.0.0.1", "[::1]", "::1")
# Images whose healthcheck cannot use curl or wget: they do not contain them.
_NO_HTTP_CLIENT = ("quay.io/minio/minio", "lakehouse-platform")


def services(compose: Compose) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, svc in (compose.get("services") or {}).items():
        yield str(name), svc if isinstance(svc, dict) else {}


def environment(svc: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment`, map or list form, as {name: raw value} (None -> "")."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {k: v for k, _, v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _depends_on(svc: Mapping[str, Any]) -> dict[str, str]:
    """{target: condition}; the short (list) form means service_started."""
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(d): "service_started" for d in deps}
    return {str(k): str((v or {}).get("condition", "service_started")) for k, v in deps.items()}


def _has_healthcheck(svc: Mapping[str, Any]) -> bool:
    hc = svc.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable"):
        return False
    test = hc.get("test")
    return bool(test) and test != ["NONE"]


def _one_shot(compose: Compose) -> set[str]:
    """Job containers (init, migration) that exit: services others wait for with
    `service_completed_successfully`. Everything else runs continuously."""
    return {
        target
        for _, svc in services(compose)
        for target, condition in _depends_on(svc).items()
        if condition == "service_completed_successfully"
    }


def schema(compose: Compose, spec: Mapping[str, Any]) -> list[str]:
    """Valid against the Compose Specification's JSON schema (`spec`, vendored in tests/)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(spec)
    return [
        f"schema: {'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    ]


def required_services(compose: Compose, names: Collection[str]) -> list[str]:
    """The stack is whole: every service the platform needs is defined."""
    present = {n for n, _ in services(compose)}
    return [f"service {n!r} is missing" for n in sorted(set(names) - present)]


def image_or_build(compose: Compose) -> list[str]:
    return [
        f"service {n!r} has neither `image` nor `build`"
        for n, svc in services(compose)
        if not svc.get("image") and not svc.get("build")
    ]


def healthchecks(compose: Compose) -> list[str]:
    """Every long-running service says when it is ready, so dependants can wait for it."""
    jobs = _one_shot(compose)
    return [
        f"service {n!r} runs continuously but has no healthcheck"
        for n, svc in services(compose)
        if n not in jobs and not _has_healthcheck(svc)
    ]


def healthcheck_tools(compose: Compose) -> list[str]:
    """No curl/wget in a healthcheck of an image that lacks them: it would never turn healthy."""
    out = []
    for n, svc in services(compose):
        test = (svc.get("healthcheck") or {}).get("test")
        words = test if isinstance(test, list) else str(test or "").split()
        image = str(svc.get("image", ""))
        if image.startswith(_NO_HTTP_CLIENT) and {"curl", "wget"} & {str(w) for w in words}:
            out.append(f"service {n!r}: healthcheck calls curl/wget, which {image} lacks")
    return out


def depends_on(compose: Compose) -> list[str]:
    """Targets exist, and a target with a healthcheck is waited for until it is healthy."""
    svcs = dict(services(compose))
    out = []
    for n, svc in svcs.items():
        for target, condition in _depends_on(svc).items():
            if target not in svcs:
                out.append(f"service {n!r} depends on {target!r}, which is not defined")
            elif _has_healthcheck(svcs[target]) and condition != "service_healthy":
                out.append(
                    f"service {n!r} depends on {target!r} with {condition}; {target!r} has a "
                    "healthcheck, so use `condition: service_healthy`"
                )
    return out


def pinned_images(compose: Compose) -> list[str]:
    """A concrete tag that is not `latest` (or a digest), from a registry that still serves it."""
    out = []
    for n, svc in services(compose):
        image = str(svc.get("image") or "")
        if not image:
            continue
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if "${" in image:
            out.append(f"service {n!r}: image {image!r} is interpolated; pin it in the file")
        elif not digest and tag in ("", "latest"):
            out.append(f"service {n!r}: image {image!r} is not pinned (no tag, or `latest`)")
        if _DEAD_IMAGE.match(name):
            out.append(f"service {n!r}: image {image!r} comes from a repository that is gone")
    return out


def no_literal_secrets(compose: Compose) -> list[str]:
    """Secrets come from .env: a `${VAR:?message}` reference, never a literal or a default."""
    out = []
    for n, svc in services(compose):
        for key, value in environment(svc).items():
            if _SECRET_NAME.search(key) and not _REQUIRED_REF.match(value):
                out.append(
                    f"service {n!r}: {key} must be `${{VAR:?message}}` from .env, not a "
                    "literal, an optional reference or a default"
                )
            for m in _URI_PASSWORD.finditer(value):
                if not _REQUIRED_REF.match(m.group(1)):
                    out.append(f"service {n!r}: {key} has a password in its URI; use ${{VAR:?}}")
    return out


def _published(port: Any) -> tuple[str, bool]:
    """(how it reads, bound to loopback?) for one `ports` entry, short or long syntax."""
    if isinstance(port, dict):
        if "published" not in port:
            return str(port), True  # not published on the host at all
        return str(port), str(port.get("host_ip", "")) in _LOOPBACK
    text = str(port)
    if ":" not in text:
        return text, False  # "9000": every interface, random host port
    host = text.rsplit(":", 2)[0] if text.count(":") >= 2 else ""
    return text, host in _LOOPBACK


def loopback_ports(compose: Compose) -> list[str]:
    """Published ports are reachable from this machine only, never from the network."""
    out = []
    for n, svc in services(compose):
        for port in svc.get("ports") or []:
            shown, ok = _published(port)
            if not ok:
                out.append(f"service {n!r}: port {shown!r} is not bound to 127.0.0.1")
    return out


def declared_volumes(compose: Compose) -> list[str]:
    """Named volumes used by services are declared at the top level (and so kept by name)."""
    declared = set((compose.get("volumes") or {}).keys())
    out = []
    for n, svc in services(compose):
        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict):
                if vol.get("type", "volume") != "volume":
                    continue
                source = str(vol.get("source", ""))
            else:
                source = str(vol).split(":", 1)[0]
            if not source or source.startswith((".", "/", "~", "$")):
                continue  # bind mount or anonymous volume
            if source not in declared:
                out.append(f"service {n!r} mounts volume {source!r}, which is not declared")
    return out


def declared_networks(compose: Compose) -> list[str]:
    """Every service joins explicitly declared networks, never an undeclared name."""
    declared = set((compose.get("networks") or {}).keys())
    out = []
    for n, svc in services(compose):
        nets = svc.get("networks")
        if not nets:
            out.append(f"service {n!r} joins no declared network")
            continue
        for net in nets:
            if net not in declared:
                out.append(f"service {n!r} joins network {net!r}, which is not declared")
    return out


def platform_settings(compose: Compose, fields: Collection[str]) -> list[str]:
    """Every PLATFORM_* name (set or interpolated) is a setting the platform reads; a typo
    would be ignored silently (`extra="ignore"`) and the default used instead."""
    out = []
    for n, svc in services(compose):
        for key, value in environment(svc).items():
            names = {key} | {m.group(1) for m in _ANY_REF.finditer(value)}
            for name in sorted(x for x in names if x.startswith("PLATFORM_")):
                if name not in fields:
                    out.append(f"service {n!r}: {name} is not a platform setting")
    return out


def required_variables(compose: Compose) -> set[str]:
    """Names of every `${VAR...}` the file interpolates (what .env must provide)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            found.update(m.group(1) for m in _ANY_REF.finditer(node))

    walk(compose.get("services"))
    return found


RULES: tuple[Rule, ...] = (
    image_or_build,
    healthchecks,
    healthcheck_tools,
    depends_on,
    pinned_images,
    no_literal_secrets,
    loopback_ports,
    declared_volumes,
    declared_networks,
)


def check(compose: Compose) -> list[str]:
    """Every rule that needs nothing but the file."""
    return [v for rule in RULES for v in rule(compose)]
