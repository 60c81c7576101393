"""The command group itself and every command's contract with the shell: help, version, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reporter import __version__
from reporter.cli import cli
from tests.conftest import invoke


def test_version_names_the_tool():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"modreport, version {__version__}"


def test_help_lists_the_commands_without_importing_torch():
    code = "import sys; from reporter.cli import cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    result = invoke("--help")
    assert result.exit_code == 0
    for command in cli.commands:
        assert command in result.output


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: cli {command} [OPTIONS]")


def test_help_gives_every_command_summary_whole():
    result = invoke("--help")  # at 80 columns, the width of a terminal that reports none
    summaries = result.output.split("Commands:")[1].strip().splitlines()
    assert len(summaries) == len(cli.commands)
    assert not [line for line in summaries if line.rstrip().endswith(("...", "…"))], summaries


def test_modreport_alone_says_where_to_start():
    result = invoke()
    assert result.exit_code == 0
    assert "Start here:" in result.output
    for step in ("modreport build", "public/index.html", "modreport train --out", "modreport compare"):
        assert step in result.output


def test_build_ends_with_a_link_a_terminal_can_open(built):
    said = (built / "output.txt").read_text().splitlines()
    assert said[-1] == (built / "public" / "index.html").resolve().as_uri()
    assert f"modreport serve --out {built / 'site'}" in said[-2]  # the hint serves the folder just built


def test_unknown_command_and_option_exit_2():
    assert invoke("bulid").exit_code == 2
    assert invoke("build", "--outt", "x").exit_code == 2


def test_check_reports_accuracy_and_sha(tiny_checkpoint):
    result = invoke("check", "--checkpoint", tiny_checkpoint)
    assert result.exit_code == 0
    assert "accuracy on all 121 inputs: 100.00%" in result.output
    assert "sha256" in result.output


def test_analyze_writes_its_report_and_prints_a_line_per_head(tiny_checkpoint, tmp_path):
    result = invoke("analyze", "--checkpoint", tiny_checkpoint, "--json", tmp_path / "r.json")
    assert result.exit_code == 0
    assert (tmp_path / "r.json").is_file()
    assert [line.split()[0] for line in result.output.splitlines() if line.startswith("L0H")] == ["L0H0", "L0H1"]


def test_serve_without_a_report_exits_1(tmp_path):
    result = invoke("serve", "--out", tmp_path)
    assert result.exit_code == 1 and result.output.startswith("Error: ")


def test_train_refuses_a_folder_in_use_with_exit_1(tiny_checkpoint):
    from tests.conftest import TINY_TRAIN

    result = invoke("train", "--out", tiny_checkpoint, *TINY_TRAIN)
    assert result.exit_code == 1


def test_suggested_commands_name_the_executable_when_its_venv_is_not_activated(tmp_path, monkeypatch):
    venv_script = tmp_path / ".venv" / "bin" / "modreport"  # run as the README's commands run it
    venv_script.parent.mkdir(parents=True)
    venv_script.write_text("#!/bin/sh\n")
    venv_script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(venv_script), "serve"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))  # the shell does not find `modreport`
    result = invoke("serve", "--out", tmp_path / "nothing")
    assert result.exit_code == 1
    assert f"run {venv_script} build first" in result.output
    monkeypatch.setenv("PATH", str(venv_script.parent))  # activated: the plain name is what the user types
    assert "run modreport build first" in invoke("serve", "--out", tmp_path / "nothing").output
