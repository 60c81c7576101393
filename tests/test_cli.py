"""The command group itself: version and help."""

from __future__ import annotations

import subprocess
import sys

from reporter import __version__
from tests.conftest import invoke


def test_version_names_the_tool():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"modreport, version {__version__}"


def test_help_lists_the_commands_without_importing_torch():
    code = "import sys; from reporter.cli import cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    result = invoke("--help")
    for command in ("train", "check"):
        assert command in result.output
