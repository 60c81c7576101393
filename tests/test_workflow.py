"""The GitHub Actions workflow, checked offline: schema, security audit, shell steps, and that it
runs the README's test command, the README's setup and `modreport build`, and publishes the HTML only
once the tests have passed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "report.yml"
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=ROOT)


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_matches_the_github_schema():
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_passes_the_security_audit():
    result = run(BIN / "zizmor", "--offline", "--no-progress", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_run_steps_pass_shellcheck(tmp_path):
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                script = tmp_path / "step.sh"
                script.write_text("#!/usr/bin/env bash\n" + step["run"])
                result = run(BIN / "shellcheck", script)
                assert result.returncode == 0, result.stdout


def test_triggers_on_push_to_main_and_by_hand():
    triggers = workflow()[True]  # YAML reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)[:2]


def test_runs_the_readme_setup_then_build_and_publishes_pages():
    readme_setup = readme_commands()[0].split(" && .venv/bin/modreport")[0]
    build = workflow()["jobs"]["build"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert readme_setup in runs
    assert any(r.startswith(".venv/bin/modreport build") for r in runs)
    uses = [step.get("uses", "") for job in workflow()["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    setup_python = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup_python["with"]["cache"] == "pip"
    assert workflow()["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_a_test_job_runs_exactly_the_readme_test_command():
    test = workflow()["jobs"]["test"]
    runs = [step["run"] for step in test["steps"] if "run" in step]
    assert runs == [readme_commands()[1]]
    # The README's command installs Debian's chromium with apt: the job runs as root in a Debian image.
    assert test["container"].startswith("python:3.11-") and "bookworm" in test["container"]
    assert test["permissions"] == {"contents": "read"}
    uses = [step.get("uses", "") for step in test["steps"]]
    assert any(u.startswith("actions/cache@") for u in uses)  # pip's downloads are cached


def test_publishes_only_after_the_tests_and_the_build_pass():
    jobs = workflow()["jobs"]
    assert set(jobs["deploy"]["needs"]) == {"test", "build"}
    assert "environment" not in jobs["test"] and "needs" not in jobs["test"]


def test_every_action_is_pinned_to_a_commit():
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
