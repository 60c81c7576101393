"""The analysis cache: a checkpoint's measurements and the figures kept on disk, so that a rebuild runs no
model and draws only what changed.

Each stage's entry is keyed by what that stage reads, and by the format, the packages' versions and
modreport's own code: the measurements by the checkpoint's bytes and the one threshold they use
(`key_frequency`), the untrained baseline by the model config and the modulus, each figure by the
values it draws. So a threshold change re-interprets from cached measurements. Entries are JSON and a
NumPy archive read with `allow_pickle=False`: nothing is unpickled. Only folders named by a key inside
the cache folder are ever written or removed, and an unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import shutil
import tempfile
import time
import types
import typing
from importlib.metadata import version
from pathlib import Path

import numpy as np

from reporter.resources import PACKAGES

FORMAT = 4  # bump when the measurements change shape
KEEP = 16  # entries kept; the oldest beyond this are removed
KEEP_FIGURES = 512  # figure entries kept (a build with five runs draws about 20)
FIGURES = "figures"  # the cache's subfolder of figure entries


def encode(value, arrays: dict):
    """A JSON-able copy of ``value``; arrays go into ``arrays`` and are referred to by name."""
    if dataclasses.is_dataclass(value):
        return {f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        name = f"array{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {key: encode(v, arrays) for key, v in value.items()}
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def decode(kind, data, arrays: dict):
    """The value of type ``kind`` that `encode` turned into ``data``."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if data is None else decode(options[0], data, arrays)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: decode(hints[f.name], data[f.name], arrays) for f in dataclasses.fields(kind)})
    if kind is np.ndarray:
        return arrays[data["array"]]
    if origin in (list, tuple):
        (item,) = typing.get_args(kind)[:1]
        return [decode(item, v, arrays) for v in data]
    return data


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

    def key(self, reads: dict, versions: dict | None = None) -> str:
        """The entry of a stage that reads ``reads`` (JSON-able: digests and the few numbers it uses)."""
        if self._code is None:
            self._code = source_digest()
        parts = {"reads": reads, "format": FORMAT, "versions": versions or package_versions(), "code": self._code}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def load(self, reads: dict, kinds: tuple):
        """The cached values (of the types ``kinds``) of the stage that reads ``reads``, or None."""
        entry = self.folder / self.key(reads)
        try:
            data = json.loads((entry / "values.json").read_text())
            with np.load(entry / "arrays.npz", allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            values = tuple(decode(kind, item, arrays) for kind, item in zip(kinds, data, strict=True))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        os.utime(entry)  # recently used: kept longest
        return values

    def store(self, reads: dict, values: tuple) -> None:
        """Keep ``values``; a cache folder that cannot be written is left alone (the build goes on)."""
        entry = self.folder / self.key(reads)
        arrays: dict = {}
        data = [encode(value, arrays) for value in values]

        def write(staging: Path) -> None:
            (staging / "values.json").write_text(json.dumps(data, allow_nan=True))
            np.savez(staging / "arrays.npz", **arrays)

        if self.put(entry, write):
            self.prune()

    def put(self, entry: Path, write) -> bool:
        """Fill a staging folder with ``write(staging)`` and rename it to ``entry`` (kept when it exists);
        False when the cache folder cannot be written."""
        try:
            if not self.folder.exists():
                from reporter.publish.outputs import write_marker

                self.folder.mkdir(parents=True)
                write_marker(self.folder, "cache")
            entry.parent.mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".entry-", dir=entry.parent))
            write(staging)
            if entry.exists():
                shutil.rmtree(staging)
            else:
                os.rename(staging, entry)
        except OSError:
            return False
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
                self.put(entry, lambda staging, f=figure: save_figure(f, staging))
            found.append(figure)
        self.prune_figures()
        return found

    def load_figure(self, entry: Path):
        """The figure kept in ``entry``, or None."""
        from reporter.publish.figures import Figure

        try:
            item = json.loads((entry / "index.json").read_text())
            figure = Figure(
                item["name"], (entry / "figure.png").read_bytes(), item["alt"], (entry / "figure.csv").read_text()
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        os.utime(entry)
        return figure

    def prune(self) -> None:
        """Keep the KEEP most recently used entries; remove staging folders a killed run left (an hour old)."""
        for staging in self.folder.glob(".entry-*"):
            if staging.is_dir() and time.time() - staging.stat().st_mtime > 3600:
                shutil.rmtree(staging, ignore_errors=True)
        entries = sorted(
            (p for p in self.folder.iterdir() if p.is_dir() and len(p.name) == 32 and p.name.isalnum()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)

    def prune_figures(self) -> None:
        """Keep the KEEP_FIGURES most recently used figures."""
        folder = self.folder / FIGURES
        try:
            entries = sorted(
                (p for p in folder.iterdir() if p.is_dir() and len(p.name) == 32 and p.name.isalnum()),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
        except OSError:
            return
        for old in entries[KEEP_FIGURES:]:
            shutil.rmtree(old, ignore_errors=True)
        for staging in folder.glob(".entry-*"):
            if staging.is_dir() and time.time() - staging.stat().st_mtime > 3600:
                shutil.rmtree(staging, ignore_errors=True)


def save_figure(figure, staging: Path) -> None:
    (staging / "figure.png").write_bytes(figure.png)
    (staging / "figure.csv").write_text(figure.csv)
    (staging / "index.json").write_text(json.dumps({"name": figure.name, "alt": figure.alt}))


def measurements_reads(files, key_frequency: float) -> dict:
    """What `analysis.measure` reads: the checkpoint's bytes, and the one threshold it uses."""
    return {
        "stage": "measurements",
        "config": files.config_sha256,
        "weights": files.weights_sha256,
        "key_frequency": key_frequency,
    }


def baseline_reads(files) -> dict:
    """What `analysis.measure_baseline` reads: the model block (its seed included) and the modulus; no weights."""
    return {"stage": "baseline", "model": files.config["model"], "modulus": files.task.modulus}


def package_versions() -> dict:
    return {name: version(name) for name in PACKAGES}


def digest(value) -> str:
    """sha256 of a value made of dataclasses, arrays, lists, dicts, enums and plain numbers and strings: two
    values with the same digest draw the same figure. Anything else is a TypeError, never a guess."""
    arrays: dict = {}
    text = json.dumps(plain(encode(value, arrays)), sort_keys=True, allow_nan=True)
    hashed = hashlib.sha256(text.encode())
    for name in sorted(arrays, key=lambda n: int(n.removeprefix("array"))):
        array = np.ascontiguousarray(arrays[name])
        hashed.update(f"{name}{array.dtype.str}{array.shape}".encode())
        hashed.update(array.tobytes())
    return hashed.hexdigest()


def plain(value):
    """``value`` (as `encode` left it) with enums as their values; refuses what JSON would only stringify."""
    if isinstance(value, dict):
        return {str(key): plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return [type(value).__name__, plain(value.value)]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot key a figure by a {type(value).__name__}")


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
