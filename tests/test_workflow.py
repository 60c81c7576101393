"""The GitHub Actions workflow, checked offline: schema, security audit, shell steps, and that it
runs the README's setup and `modreport build` and publishes the HTML."""

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


def test_runs_the_readme_setup_then_build_and_publishes_pages():
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"```bash\n(.*?)\n```", readme, re.S).group(1)
    readme_setup = setup.split(" && .venv/bin/modreport")[0]
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
