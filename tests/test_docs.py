"""The README and the CLI must not drift apart: every command and option is documented."""

from __future__ import annotations

import re
from pathlib import Path

from reporter.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_opens_with_the_setup_and_test_commands():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert blocks[0].startswith("python3 -m venv .venv && .venv/bin/python scripts/install.py && ")
    assert blocks[0].endswith(".venv/bin/modreport build")
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert blocks[1] in ci.splitlines()


def test_every_command_and_option_is_in_the_readme():
    for name, command in cli.commands.items():
        assert f"### `modreport {name}`" in README, name
        section = re.split(r"\n#+ ", README.split(f"### `modreport {name}`")[1])[0]
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in section, f"{name} {option}"


def test_readme_documents_no_option_the_cli_lacks():
    for name, command in cli.commands.items():
        section = re.split(r"\n#+ ", README.split(f"### `modreport {name}`")[1])[0]
        known = {opt for param in command.params for opt in param.opts}
        for option in re.findall(r"`(--[a-z-]+)", section):
            assert option in known, f"{name} documents {option}"
