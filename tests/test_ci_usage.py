"""CI usage stays true: the workflow people copy is valid and runs the project's commands, every
job it or the README executes exists, and every job has a run-config file that Dagster accepts
(so `dagster job execute -m platform_defs.definitions -j <job> -c config/<job>.yaml` works)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema
import pytest
import yaml

from platform_defs.definitions import defs

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "platform.yml"
# config/<job>.yaml, except the bootstrap job whose file predates the convention.
CONFIG_FILES = {"bootstrap_platform": "config/bootstrap.yaml"}
_EXECUTE = re.compile(r"(?:dagster job execute|dg launch)\b[^\n`]*")


def _jobs() -> set[str]:
    return {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}


def _config_file(job: str) -> str:
    return CONFIG_FILES.get(job, f"config/{job}.yaml")


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def _run_lines(workflow: dict[str, Any]) -> list[str]:
    return [
        line.strip()
        for job in workflow["jobs"].values()
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
    ]


def _executions(text: str) -> list[tuple[str, str | None]]:
    """(job, config file or None) for every `dagster job execute` command in `text`."""
    out = []
    for m in _EXECUTE.finditer(text.replace("\\\n", " ")):
        args = m.group(0).split()
        flag = next((f for f in ("-j", "--job") if f in args), None)
        if flag is None:
            continue  # prose that names the command, not a command line
        job = args[args.index(flag) + 1]
        config = args[args.index("-c") + 1] if "-c" in args else None
        out.append((job, config))
    return out


def test_workflow_is_valid_against_the_github_schema() -> None:
    schema = json.loads((ROOT / "tests/schemas/github-workflows.json").read_text())
    jsonschema.Draft7Validator(schema).validate(_workflow())


def test_workflow_runs_make_test_and_make_run_on_python_311_and_java_17() -> None:
    workflow = _workflow()
    assert "make test" in _run_lines(workflow)
    assert "make run" in _run_lines(workflow)
    for name, job in workflow["jobs"].items():
        uses = {str(s.get("uses", "")).split("@")[0]: s for s in job["steps"]}
        assert "actions/checkout" in uses, name
        assert str(uses["actions/setup-python"]["with"]["python-version"]) == "3.11", name
        assert str(uses["actions/setup-java"]["with"]["java-version"]) == "17", name
        assert job.get("timeout-minutes"), f"{name} has no timeout"


def test_every_job_the_workflow_or_readme_executes_exists_with_its_config() -> None:
    texts = {
        "workflow": WORKFLOW.read_text(),
        "README.md": (ROOT / "README.md").read_text(),
        "Makefile": (ROOT / "Makefile").read_text(),
    }
    seen = 0
    for where, text in texts.items():
        for job, config in _executions(text):
            if job.startswith("<"):
                continue  # the documented template `-j <job>`
            seen += 1
            assert job in _jobs(), f"{where} executes unknown job {job!r}"
            if config is not None and "$" not in config:
                assert (ROOT / config).is_file(), f"{where}: {config} does not exist"
    assert seen >= 3


@pytest.mark.parametrize("job", sorted(_jobs()))
def test_every_job_has_a_config_file_dagster_accepts(job: str) -> None:
    path = ROOT / _config_file(job)
    assert path.is_file(), f"add {path.relative_to(ROOT)} so CI can run {job} like every other job"
    run_config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dg.validate_run_config(defs.resolve_job_def(job), run_config)


def test_no_config_file_for_a_job_that_does_not_exist() -> None:
    expected = {_config_file(j) for j in _jobs()}
    present = {f"config/{p.name}" for p in (ROOT / "config").glob("*.yaml")}
    assert present <= expected, f"config files for no job: {sorted(present - expected)}"


def test_the_command_parser_finds_job_and_config() -> None:
    text = "x\n.venv/bin/dagster job execute -m platform_defs.definitions \\\n  -j nope -c config/nope.yaml\n"
    assert _executions(text) == [("nope", "config/nope.yaml")]
    assert _executions("`.venv/bin/dg launch --job nope -c config/nope.yaml`") == [
        ("nope", "config/nope.yaml")
    ]
    assert "nope" not in _jobs()
