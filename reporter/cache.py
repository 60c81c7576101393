"""The analysis cache: a checkpoint's measurements and the figures kept on disk, so that a rebuild runs no
model and draws only what changed.

Each stage's entry is keyed by what that stage reads, and by the format, the packages' versions and
modreport's own code: the measurements by the checkpoint's bytes and the one threshold they use
(`key_frequency`), the untrained baseline by its start point (config, modulus, unembedding scale), each
figure by the values it draws. So a threshold change re-interprets from cached measurements.

The cache is an input (a folder restored on CI from another branch's run, or shared): it holds data, never
paths. An entry's files are read without following links, sizes capped first; `digests.json`, written last,
is checked first; values are decoded field by field (cache_codec.py) and checked against the checkpoint's
shape. An entry that fails is a miss, measured again and replaced; `problems` says so. Nothing is
unpickled. Only folders named by a key inside the cache folder are ever written or removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

from reporter.cache_codec import Damaged, decode, encode, not_finite
from reporter.resources import PACKAGES

# bump when the measurements change shape (5: stand-ins for each head's write; 6: the circuit; 7: two-frequency
# rules and gating frequencies)
FORMAT = 7
KEEP = 16  # entries kept; the oldest beyond this are removed
KEEP_FIGURES = 512  # figure entries kept (a build with five runs draws about 20)
FIGURES = "figures"  # the cache's subfolder of figure entries
DIGESTS = "digests.json"  # written last: the sha256 of each other file of the entry
MAX_VALUES = 64 * 2**20  # values.json of the shipped model is about 0.1 MB
MAX_ARRAYS = 2**30  # arrays.npz: the attention from = over all inputs is 4.9 MB at p = 113
MAX_FIGURE = 32 * 2**20  # a figure's PNG or CSV
MAX_SMALL = 2**16  # digests.json, a figure's index.json
FIGURE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}\.png")  # what the figures name their files: a name, never a path
PNG = b"\x89PNG\r\n\x1a\n"


class CacheError(ValueError):
    """A cache folder that modreport must not use; the message is one sentence."""


class Cache:
    """Measurements by key, in ``folder``: created when first written, and marked as modreport's, so that
    a folder holding anything else is never written into or pruned."""

    def __init__(self, folder: Path):
        from reporter.publish.outputs import marker_kind

        self.folder = Path(folder)
        if self.folder.is_dir() and any(self.folder.iterdir()) and marker_kind(self.folder) != "cache":
            raise CacheError(f"{folder} holds files modreport did not write; choose another --cache folder.")
        if self.folder.exists() and not self.folder.is_dir():
            raise CacheError(f"{folder} exists and is not a folder; choose another --cache folder.")
        self._code: str | None = None  # source_digest(), once per process
        self.problems: list[tuple[str, str]] = []  # (what, why): entries refused and measured again, writes that failed
        self.writable = True  # False once a write has failed: the cache is then only read

    def check_apart(self, outputs) -> None:
        """Refuse a cache folder inside an output folder (every swap would delete it) or holding one."""
        here = Path(os.path.abspath(self.folder))
        for output in outputs:
            there = Path(os.path.abspath(output))
            if here == there or there in here.parents or here in there.parents:
                raise CacheError(f"the cache folder {self.folder} and the output {output} must not hold each other.")

    def key(self, reads: dict, versions: dict | None = None) -> str:
        """The entry of a stage that reads ``reads`` (JSON-able: digests and the few numbers it uses)."""
        if self._code is None:
            self._code = source_digest()
        parts = {"reads": reads, "format": FORMAT, "versions": versions or package_versions(), "code": self._code}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def load(self, reads: dict, kinds: tuple, check=None):
        """The cached values (of the types ``kinds``) of the stage that reads ``reads``, or None. ``check(values)``
        raises ValueError for values that do not fit the checkpoint: the entry is then a miss, like a damaged one."""
        entry = self.folder / self.key(reads)
        files = self.read_entry(entry, {"values.json": MAX_VALUES, "arrays.npz": MAX_ARRAYS})
        if files is None:
            return None
        try:
            data = json.loads(files["values.json"].decode("utf-8"), parse_constant=not_finite)
            with np.load(io.BytesIO(files["arrays.npz"]), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            if not isinstance(data, list) or len(data) != len(kinds):
                raise Damaged("it holds another number of values")
            values = tuple(decode(kind, item, arrays) for kind, item in zip(kinds, data, strict=True))
            if check is not None:
                check(values)
        except (ValueError, KeyError, TypeError, RecursionError, OSError, EOFError, zipfile.BadZipFile) as error:
            self.problems.append((entry.name, str(error) or type(error).__name__))
            return None
        self.touch(entry)
        return values

    def read_entry(self, entry: Path, limits: dict[str, int]) -> dict[str, bytes] | None:
        """The bytes of an entry's files (name -> at most that many bytes), each read once without following a
        link and matched against `digests.json`; None for a missing entry (a plain miss) or a damaged one (noted
        in `problems`)."""
        from reporter.limits import read_bounded

        try:
            if not entry.is_symlink() and not entry.exists():
                return None
            if entry.is_symlink() or not entry.is_dir():
                raise Damaged("it is not a folder of its own")
            digests = json.loads(read_bounded(entry / DIGESTS, MAX_SMALL, "a cache's digests", follow=False))
            if not isinstance(digests, dict) or sorted(digests) != sorted(limits):
                raise Damaged("its digests do not name its files")
            files = {
                name: read_bounded(entry / name, limit, "a cache file", follow=False) for name, limit in limits.items()
            }
            if any(hashlib.sha256(files[name]).hexdigest() != digests[name] for name in limits):
                raise Damaged("a file does not match its digest")
        except (
            OSError,
            ValueError,
            RecursionError,
        ) as error:  # FileShapeError, JSON errors and Damaged are ValueErrors
            self.problems.append((entry.name, str(error) or type(error).__name__))
            return None
        return files

    def touch(self, entry: Path) -> None:
        """Mark ``entry`` recently used (kept longest); a cache that cannot be written is only read."""
        try:
            os.utime(entry, follow_symlinks=False)
        except OSError:
            self.writable = False

    def store(self, reads: dict, values: tuple) -> None:
        """Keep ``values``; a cache folder that cannot be written is left alone (the build goes on)."""
        entry = self.folder / self.key(reads)
        arrays: dict = {}
        data = [encode(value, arrays) for value in values]

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        files = {"values.json": json.dumps(data, allow_nan=False).encode(), "arrays.npz": buffer.getvalue()}
        if self.put(entry, files):
            self.prune()

    def put(self, entry: Path, files: dict[str, bytes]) -> bool:
        """Write ``files`` (name -> bytes) and their digests, last, into a staging folder,
        then put it in ``entry``'s place in one rename (an entry already there, damaged or not ours, is
        replaced: keys name every entry). False, noted once in `problems`, when the cache cannot be written."""
        if not self.writable:
            return False
        staging = None
        try:
            if not self.folder.exists():
                from reporter.publish.outputs import write_marker

                self.folder.mkdir(parents=True)
                write_marker(self.folder, "cache")
            if entry.parent != self.folder:
                if entry.parent.is_symlink():
                    raise OSError(f"{entry.parent} is a link")
                entry.parent.mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".entry-", dir=entry.parent))
            for name, data in files.items():
                (staging / name).write_bytes(data)
            digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
            (staging / DIGESTS).write_text(json.dumps(digests, sort_keys=True))  # last: a complete entry
            if entry.is_symlink() or entry.is_file():
                entry.unlink()  # a link or a file under an entry's name: never followed, replaced
            if entry.is_dir():
                from reporter.publish.outputs import exchange

                exchange(staging, entry)  # staging now holds the old entry, removed below
            else:
                os.rename(staging, entry)
                staging = None
        except OSError as error:
            self.writable = False
            self.problems.append(("write", f"the cache folder {self.folder} cannot be written ({error})"))
            return False
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)  # never a half-written entry left behind
        return True

    def figures(self, plans: list, draw) -> list:
        """The figure of each plan (what `figures.figure_plans` says to draw): from the cache where a
        figure of the same function and values was drawn, else ``draw(plan)``, kept for the next build."""
        versions = package_versions()
        found = []
        for plan in plans:
            entry = self.folder / FIGURES / self.key({"figure": plan.name, "draws": plan.digest()}, versions)
            figure = self.load_figure(entry)
            if figure is None:
                figure = draw(plan)
                self.put(entry, figure_files(figure))
            found.append(figure)
        self.prune_figures()
        return found

    def load_figure(self, entry: Path):
        """The figure kept in ``entry``, or None: its file name a plain name (never a path), its PNG a PNG, its
        alt text and data text."""
        from reporter.publish.figures import Figure

        files = self.read_entry(entry, {"index.json": MAX_SMALL, "figure.png": MAX_FIGURE, "figure.csv": MAX_FIGURE})
        if files is None:
            return None
        try:
            item = json.loads(files["index.json"].decode("utf-8"))
            if not isinstance(item, dict) or not isinstance(item.get("alt"), str):
                raise Damaged("its index is not a figure's")
            if not isinstance(item.get("name"), str) or not FIGURE_NAME.fullmatch(item["name"]):
                raise Damaged("its file name is not one of a figure")
            if not files["figure.png"].startswith(PNG):
                raise Damaged("its image is not a PNG")
            figure = Figure(item["name"], files["figure.png"], item["alt"], files["figure.csv"].decode("utf-8"))
        except (ValueError, RecursionError) as error:
            self.problems.append((entry.name, str(error)))
            return None
        self.touch(entry)
        return figure

    def prune(self) -> None:
        """Keep the KEEP most recently used entries."""
        prune(self.folder, KEEP)

    def prune_figures(self) -> None:
        """Keep the KEEP_FIGURES most recently used figures."""
        prune(self.folder / FIGURES, KEEP_FIGURES)


def prune(folder: Path, keep: int) -> None:
    """Keep the ``keep`` most recently used entries of ``folder`` (named by a key; a link is never followed) and
    remove staging folders a killed run left there (an hour old)."""
    try:
        entries = sorted(
            (p for p in folder.iterdir() if len(p.name) == 32 and p.name.isalnum() and not p.is_symlink()),
            key=lambda p: p.lstat().st_mtime,
            reverse=True,
        )
        for old in entries[keep:]:
            shutil.rmtree(old, ignore_errors=True)
        for staging in folder.glob(".entry-*"):
            if not staging.is_symlink() and time.time() - staging.lstat().st_mtime > 3600:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        return


def figure_files(figure) -> dict[str, bytes]:
    return {
        "figure.png": figure.png,
        "figure.csv": figure.csv.encode(),
        "index.json": json.dumps({"name": figure.name, "alt": figure.alt}).encode(),
    }


def package_versions() -> dict:
    return {name: version(name) for name in PACKAGES}


def source_digest() -> str:
    """sha256 of modreport's own code: a cache entry never outlives the code that made it."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in [*sorted(package.rglob("*.py")), package / "report.schema.json"]:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def default_folder() -> Path:
    """$MODREPORT_CACHE, else $XDG_CACHE_HOME/modreport, else ~/.cache/modreport."""
    if os.environ.get("MODREPORT_CACHE"):
        return Path(os.environ["MODREPORT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modreport"
