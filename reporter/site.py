"""Build the HTML site from the Markdown pages with mkdocs-material."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD_EPOCH = "1700000000"  # fixed SOURCE_DATE_EPOCH: the sitemap carries no build date


class SiteError(RuntimeError):
    """mkdocs could not build the site; the message is one sentence."""


def mkdocs_environment() -> dict:
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", BUILD_EPOCH)
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


def derived_config(base: Path, docs_dir: Path, site_dir: Path, folder: Path) -> Path:
    """A config in ``folder`` that inherits ``base`` but reads ``docs_dir`` and writes ``site_dir``."""
    path = folder / "mkdocs.yml"
    path.write_text(f"INHERIT: {base.resolve()}\ndocs_dir: {docs_dir.resolve()}\nsite_dir: {site_dir.resolve()}\n")
    return path


def build_html(base_config: Path, docs_dir: Path, site_dir: Path) -> None:
    """Run `mkdocs build --strict` from ``docs_dir`` into ``site_dir``."""
    if not base_config.is_file():
        raise SiteError(f"the mkdocs configuration {base_config} is missing.")
    with tempfile.TemporaryDirectory(prefix="modreport-mkdocs-") as folder:
        config = derived_config(base_config, docs_dir, site_dir, Path(folder))
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)],
            capture_output=True,
            text=True,
            env=mkdocs_environment(),
        )
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        reason = next(
            (l for l in lines if "Error" in l or "WARNING" in l or "Aborted" in l), lines[-1] if lines else "no output"
        )
        raise SiteError(f"mkdocs build failed: {reason}")


def serve(base_config: Path, docs_dir: Path, address: str) -> int:
    """Preview with live reload (`mkdocs serve`); returns its exit code."""
    with tempfile.TemporaryDirectory(prefix="modreport-mkdocs-") as folder:
        config = derived_config(base_config, docs_dir, Path(folder) / "public", Path(folder))
        return subprocess.call(
            [sys.executable, "-m", "mkdocs", "serve", "--config-file", str(config), "--dev-addr", address],
            env=mkdocs_environment(),
        )
