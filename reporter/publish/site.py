"""Build the HTML site from the Markdown pages with mkdocs-material (the default) or Zensical.

Both engines read the same configuration (templates/mkdocs.yml) and the same Markdown. Whatever an
engine reports, its output is swapped in only when it holds every page: Zensical has been seen to exit
0 with an empty site after a template error.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

ENGINES = ("mkdocs", "zensical")  # the first is the default
BUILD_EPOCH = "1700000000"  # fixed SOURCE_DATE_EPOCH: mkdocs's sitemap carries no build date
PR_SET_PDEATHSIG = 1
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# GLightbox, which Zensical's pages would otherwise fetch from the internet when a page shows an image:
# the copy that mkdocs-glightbox ships, published where that plugin publishes it for mkdocs.
GLIGHTBOX = {  # where the site publishes it -> the file in mkdocs_glightbox/glightbox/
    "assets/javascripts/glightbox.min.js": "glightbox.min.js",
    "assets/stylesheets/glightbox.min.css": "glightbox.min.css",
}


class SiteError(RuntimeError):
    """The site engine could not build the site; the message is one sentence."""


def engine_environment() -> dict:
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", BUILD_EPOCH)
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


def derived_config(folder: Path, settings: dict) -> Path:
    """A config ``folder``/mkdocs.yml holding ``settings`` (one JSON value a key; JSON is YAML), typically
    `INHERIT` of the shipped configuration and the folders to read and write."""
    path = folder / "mkdocs.yml"
    # ensure_ascii=False: YAML reads a JSON \u escape of a character outside the BMP (an emoji in a folder
    # name) as two lone surrogates, which mkdocs refuses
    text = "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in settings.items())
    path.write_text(text, encoding="utf-8")
    return path


STOPS = {signal.SIGINT, signal.SIGTERM}


def die_with_parent() -> None:
    """In the child, before the engine starts: be killed when modreport dies, even by SIGKILL (Linux), and
    take Ctrl-C and SIGTERM again (the parent blocked them while it started the child)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


@contextmanager
def child(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """Start ``command``; however this process is stopped (Ctrl-C, SIGTERM, SIGKILL), the child stops too.

    Ctrl-C and SIGTERM are held back while the child starts, so that neither can land between the fork
    and the moment the child has asked to die with its parent."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        process = subprocess.Popen(command, env=engine_environment(), preexec_fn=die_with_parent, **options)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait()


def run(engine: str, command: list[str], cwd: Path) -> None:
    """Run an engine's build command; a failure is one SiteError sentence quoting the engine's reason."""
    with child(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd) as process:
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        lines = [ANSI.sub("", line).strip() for line in (stderr + stdout).splitlines()]
        raise SiteError(f"{engine} build failed: {failure_reason([line for line in lines if line])}")


def failure_reason(lines: list[str]) -> str:
    """The line of an engine's output that says why it failed, with the place it names (Zensical prints
    the file and line in a box below its warning)."""
    reason = next(
        (l for l in lines if "Error" in l or "WARNING" in l or "Warning:" in l or "Aborted" in l),
        lines[-1] if lines else "no output",
    )
    place = next((m.group(1) for l in lines if (m := re.search(r"\[ (\S+:\d+:\d+) \]", l))), None)
    source = next((m.group(1).strip() for l in lines if (m := re.match(r"\d+ │ (.*)", l))), None)
    return reason + (f" at {place}" if place else "") + (f" ({source})" if source else "")


SCRATCH = "modreport-site-"  # scratch folders in the temporary directory: "modreport-site-{pid}-XXXX"


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A fresh folder in the temporary directory for the engine's configuration (and Zensical's copy of the
    pages), removed afterwards. One that a killed build left (marked as ours, its process gone) is removed
    first, so that killed builds do not pile up there."""
    from reporter.publish.outputs import marker_kind, write_marker

    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH}*-*"):
        pid = path.name[len(SCRATCH) :].split("-")[0]
        if pid.isdigit() and not alive(int(pid)) and not path.is_symlink() and marker_kind(path) == "scratch":
            shutil.rmtree(path, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{os.getpid()}-"))
    try:
        write_marker(folder, "scratch")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether a process with this id exists (one that is not ours counts as alive: its folder is left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def build_html(base_config: Path, docs_dir: Path, site_dir: Path, engine: str = ENGINES[0]) -> None:
    """Build the site of the Markdown in ``docs_dir`` into ``site_dir`` with ``engine`` (strict: a warning
    fails the build), and check that it holds every page."""
    if not base_config.is_file():
        raise SiteError(f"the site configuration {base_config} is missing.")
    with scratch_folder() as folder:
        if engine == "zensical":
            build_with_zensical(base_config, docs_dir, site_dir, folder)
        else:
            settings = {"INHERIT": str(base_config.resolve()), "docs_dir": str(docs_dir.resolve())}
            config = derived_config(folder, {**settings, "site_dir": str(site_dir.resolve())})
            run(engine, [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)], folder)
    check_every_page(docs_dir, site_dir, engine)


def build_with_zensical(base_config: Path, docs_dir: Path, site_dir: Path, project: Path) -> None:
    """Zensical reads and writes only inside the folder of its configuration (and keeps a cache there):
    build a copy of the pages in the fresh folder ``project``, then move the site into ``site_dir``."""
    shutil.copytree(docs_dir, project / "docs")
    for target, name in GLIGHTBOX.items():
        path = project / "docs" / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(resources.files("mkdocs_glightbox").joinpath("glightbox", name).read_bytes())
    settings = {
        "INHERIT": str(base_config.resolve()),
        "docs_dir": "docs",
        "site_dir": "site",
        # Merged into the shipped configuration's lists. A script that defines GLightbox before the theme's
        # own script runs keeps the theme from fetching it.
        "extra_css": ["assets/stylesheets/glightbox.min.css"],
        "extra": {"polyfills": ["assets/javascripts/glightbox.min.js"]},
    }
    config = derived_config(project, settings)
    run("zensical", [sys.executable, "-m", "zensical", "build", "--strict", "--config-file", str(config)], project)
    built = project / "site"
    for entry in sorted(built.iterdir()) if built.is_dir() else ():  # an engine may exit 0 having built nothing
        shutil.move(entry, site_dir / entry.name)


def check_every_page(docs_dir: Path, site_dir: Path, engine: str) -> None:
    """Refuse a site that lacks index.html or the HTML page of any Markdown page, whatever the engine said."""
    pages = {"index.html"} | {
        page.relative_to(docs_dir).with_suffix(".html").as_posix()
        for page in docs_dir.rglob("*.md")
        if not any(part.startswith(".") for part in page.relative_to(docs_dir).parts)
    }
    missing = [
        name for name in sorted(pages, key=lambda name: (name != "index.html", name)) if not written(site_dir / name)
    ]
    if missing:
        more = f" and {len(missing) - 1} more of the {len(pages)} pages" if len(missing) > 1 else ""
        raise SiteError(f"{engine} reported success but its site lacks {missing[0]}{more}; nothing was replaced.")


def written(page: Path) -> bool:
    return page.is_file() and page.stat().st_size > 0


def check_address(address: str) -> tuple[str, int]:
    """HOST:PORT for `mkdocs serve`, refused in one sentence when the port is out of range or already taken
    (mkdocs would otherwise fail with a traceback)."""
    import socket

    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SiteError(f"--address must be HOST:PORT with a port from 1 to 65535, not {address!r:.80}.")
    port = int(port_text)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as error:
        raise SiteError(
            f"cannot serve on {address!r:.80}: {error.strerror or error}; choose another --address."
        ) from None
    return host, port


def serve(base_config: Path, docs_dir: Path, address: str) -> int:
    """Preview with live reload (`mkdocs serve`); returns its exit code. Zensical cannot serve here: it
    reads only pages inside the folder of its configuration, so it would watch a copy, not ``docs_dir``."""
    with scratch_folder() as folder:
        settings = {"INHERIT": str(base_config.resolve()), "docs_dir": str(docs_dir.resolve())}
        config = derived_config(folder, {**settings, "site_dir": str(folder / "public")})
        command = [sys.executable, "-m", "mkdocs", "serve", "--config-file", str(config), "--dev-addr", address]
        with child(command) as server:
            try:
                return server.wait()
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the CLI turns it into this): `child` stops mkdocs
                return 130
