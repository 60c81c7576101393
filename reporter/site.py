"""Build the HTML site from the Markdown pages with mkdocs-material."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUILD_EPOCH = "1700000000"  # fixed SOURCE_DATE_EPOCH: the sitemap carries no build date
PR_SET_PDEATHSIG = 1


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
    values = {"INHERIT": base.resolve(), "docs_dir": docs_dir.resolve(), "site_dir": site_dir.resolve()}
    path.write_text("".join(f"{key}: {json.dumps(str(value))}\n" for key, value in values.items()))  # JSON is YAML
    return path


STOPS = {signal.SIGINT, signal.SIGTERM}


def die_with_parent() -> None:
    """In the child, before mkdocs starts: be killed when modreport dies, even by SIGKILL (Linux), and take
    Ctrl-C and SIGTERM again (the parent blocked them while it started the child)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


@contextmanager
def child(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """Start ``command``; however this process is stopped (Ctrl-C, SIGTERM, SIGKILL), the child stops too.

    Ctrl-C and SIGTERM are held back while the child starts, so that neither can land between the fork
    and the moment the child has asked to die with its parent."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        process = subprocess.Popen(command, env=mkdocs_environment(), preexec_fn=die_with_parent, **options)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait()


def build_html(base_config: Path, docs_dir: Path, site_dir: Path) -> None:
    """Run `mkdocs build --strict` from ``docs_dir`` into ``site_dir``."""
    if not base_config.is_file():
        raise SiteError(f"the mkdocs configuration {base_config} is missing.")
    with tempfile.TemporaryDirectory(prefix="modreport-mkdocs-") as folder:
        config = derived_config(base_config, docs_dir, site_dir, Path(folder))
        command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)]
        with child(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            stdout, stderr = process.communicate()
    if process.returncode != 0:
        lines = [line.strip() for line in (stderr + stdout).splitlines() if line.strip()]
        reason = next(
            (l for l in lines if "Error" in l or "WARNING" in l or "Aborted" in l), lines[-1] if lines else "no output"
        )
        raise SiteError(f"mkdocs build failed: {reason}")


def serve(base_config: Path, docs_dir: Path, address: str) -> int:
    """Preview with live reload (`mkdocs serve`); returns its exit code."""
    with tempfile.TemporaryDirectory(prefix="modreport-mkdocs-") as folder:
        config = derived_config(base_config, docs_dir, Path(folder) / "public", Path(folder))
        command = [sys.executable, "-m", "mkdocs", "serve", "--config-file", str(config), "--dev-addr", address]
        with child(command) as server:
            try:
                return server.wait()
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the CLI turns it into this): `child` stops mkdocs
                return 130
