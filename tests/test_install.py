"""A non-editable install (pip install .) builds the shipped report from any folder: the templates, the
mkdocs configuration and the shipped checkpoint are package data, and nothing is trained or written into
the installation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def clean_copy(destination: Path) -> Path:
    """The files git tracks (with their working-tree content), so that building the wheel writes nothing into
    the checkout and picks up nothing a previous build left there."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, target = ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def test_every_subpackage_of_reporter_is_installed():
    # The slow test below finds a missing one only after a full build; this finds it at once.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    subpackages = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "reporter").rglob("__init__.py")}
    assert subpackages <= listed


@pytest.mark.slow
def test_an_installed_modreport_builds_the_shipped_report_from_another_folder(shipped_build, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    # modreport alone is installed; its dependencies are the tests' own, which the README's setup installed
    # from pyproject (pip install -e .[test]): a path line in a .pth file, which puts that folder on sys.path
    # after the new venv's own and does not run its .pth files, so the checkout's editable install stays out.
    # No gigabytes of torch are installed again, and none is fetched from an index.
    (site_packages / "tests_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    source = clean_copy(tmp_path / "source")
    install = subprocess.run(
        [venv / "bin" / "pip", "install", "-q", "--no-deps", source], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-2000:]
    installed = site_packages / "reporter"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import reporter; print(reporter.__file__)"],
        cwd=elsewhere,  # python -c puts its working folder first on sys.path: not the checkout's
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).parent == installed, where.stderr  # the installed copy, not the checkout
    before = tree(installed)
    # The measurements the checkout's own build cached: the installed copy is the same code with the same
    # packages, so it finds them (and measures no run again) and renders the pages itself.
    cache = tmp_path / "cache"
    shutil.copytree(shipped_build[1], cache)
    build = subprocess.run(
        [venv / "bin" / "modreport", "build", "--cache", cache], cwd=elsewhere, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    assert "training" not in build.stderr
    assert "causal" not in build.stderr, "the installed copy measured again what the checkout had cached"
    assert (elsewhere / "public" / "index.html").is_file()
    assert tree(elsewhere / "site") == tree(ROOT / "site")  # the committed report of the shipped model
    assert {k: v for k, v in tree(installed).items() if "__pycache__" not in k} == {
        k: v for k, v in before.items() if "__pycache__" not in k
    }
