"""The GitHub Actions workflows, checked offline: schema, security audit, shell steps; that report.yml
runs the README's test command, the README's setup and `modreport build`, and publishes the HTML only
once the tests have passed; and that sweep.yml trains and analyses one run per job and builds the
Across runs page from all of them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "report.yml"
SWEEP = ROOT / ".github" / "workflows" / "sweep.yml"
WORKFLOWS = pytest.mark.parametrize("path", [WORKFLOW, SWEEP], ids=["report", "sweep"])
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=ROOT)


def workflow(path: Path = WORKFLOW) -> dict:
    return yaml.safe_load(path.read_text())


@WORKFLOWS
def test_workflow_matches_the_github_schema(path):
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


@WORKFLOWS
def test_workflow_passes_the_security_audit(path):
    result = run(BIN / "zizmor", "--offline", "--no-progress", path)
    assert result.returncode == 0, result.stdout + result.stderr


@WORKFLOWS
def test_run_steps_pass_shellcheck(path, tmp_path):
    for job in workflow(path)["jobs"].values():
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


@WORKFLOWS
def test_every_action_is_pinned_to_a_commit(path):
    for job in workflow(path)["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def plan(seeds: str, moduli: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """The sweep's plan step, run by bash as the runner runs it, with the inputs in its environment."""
    step = workflow(SWEEP)["jobs"]["plan"]["steps"][0]
    output = tmp_path / "output"
    output.write_text("")
    env = {**os.environ, "SEED_LIST": seeds, "MODULUS_LIST": moduli, "GITHUB_OUTPUT": str(output)}
    return subprocess.run(["bash", "-c", step["run"]], capture_output=True, text=True, env=env)


def test_sweep_is_launched_by_hand_with_seeds_and_moduli():
    triggers = workflow(SWEEP)[True]
    assert list(triggers) == ["workflow_dispatch"]
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"seeds", "moduli"}


def test_sweep_plans_one_run_per_seed_and_modulus(tmp_path):
    result = plan("0, 1 2", "113,97", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    line = (tmp_path / "output").read_text().strip()
    assert line.startswith("runs=")
    runs = json.loads(line.removeprefix("runs="))
    assert runs == [{"modulus": p, "seed": seed} for p in (113, 97) for seed in (0, 1, 2)]


@pytest.mark.parametrize("seeds", ["1; rm -rf ~", "$(id)", "-1", ""])
def test_sweep_refuses_seeds_that_are_not_whole_numbers(seeds, tmp_path):
    result = plan(seeds, "113", tmp_path)
    assert result.returncode == 1
    assert "::error::" in result.stdout
    assert (tmp_path / "output").read_text() == ""


def test_each_sweep_job_trains_then_analyses_and_uploads_its_run_and_cache():
    job = workflow(SWEEP)["jobs"]["run"]
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.runs) }}"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0] == readme_commands()[0].split(" && .venv/bin/modreport")[0]  # the README's setup
    assert runs[1].startswith(".venv/bin/modreport train ") and '--seed "$SEED"' in runs[1]
    assert runs[2].startswith(".venv/bin/modreport analyze ") and "--cache sweep/cache" in runs[2]
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "sweep/cache" in upload["with"]["path"] and "sweep/runs" in upload["with"]["path"]
    assert upload["with"]["include-hidden-files"] is True  # the folders' .modreport markers travel with them


def test_sweep_builds_the_across_runs_page_from_every_run_and_publishes_it():
    jobs = workflow(SWEEP)["jobs"]
    build = jobs["build"]
    assert build["needs"] == ["run"]
    download = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] is True and download["with"]["path"] == "sweep"
    script = next(s["run"] for s in build["steps"] if "modreport build" in s.get("run", ""))
    assert '"${runs[@]}"' in script and "--cache sweep/cache" in script and "--html public" in script
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact@") for s in build["steps"])
    assert jobs["deploy"]["needs"] == ["build"]
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow(SWEEP)["permissions"] == {}
    assert workflow(SWEEP)["concurrency"] == workflow()["concurrency"]  # one publication at a time


def test_sweep_build_names_every_downloaded_run(tmp_path):
    script = next(s["run"] for s in workflow(SWEEP)["jobs"]["build"]["steps"] if "modreport build" in s.get("run", ""))
    for run_name in ("p113-seed-0", "p113-seed-1", "p97-seed-0"):
        (tmp_path / "sweep" / "runs" / run_name).mkdir(parents=True)
    fake = tmp_path / ".venv" / "bin" / "modreport"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')  # prints the arguments it was given
    fake.chmod(0o755)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    arguments = result.stdout.splitlines()
    assert arguments[:3] == ["build", "--checkpoint", "sweep/runs/p113-seed-0"]
    assert [arguments[i + 1] for i, a in enumerate(arguments) if a == "--runs"] == [
        "sweep/runs/p113-seed-0",
        "sweep/runs/p113-seed-1",
        "sweep/runs/p97-seed-0",
    ]
