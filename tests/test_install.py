"""A non-editable install (pip install ., with the project's constraints) builds the shipped report from
any folder: the templates, the mkdocs configuration and the shipped checkpoint are package data, and
nothing is trained or written into the installation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_installed_modreport_builds_the_shipped_report_from_another_folder(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    install = subprocess.run(
        [venv / "bin" / "pip", "install", "-q", "-c", ROOT / "constraints.txt", ROOT],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    installed = next((venv / "lib").glob("python3*/site-packages/reporter"))
    before = tree(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    build = subprocess.run([venv / "bin" / "modreport", "build"], cwd=elsewhere, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "training" not in build.stderr
    assert (elsewhere / "public" / "index.html").is_file()
    assert tree(elsewhere / "site") == tree(ROOT / "site")  # the committed report of the shipped model
    assert {k: v for k, v in tree(installed).items() if "__pycache__" not in k} == {
        k: v for k, v in before.items() if "__pycache__" not in k
    }
