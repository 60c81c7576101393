"""The analysis cache: a checkpoint's measurements kept on disk, so that a rebuild runs no model.

An entry is keyed by everything the report depends on: the checkpoint's bytes, the options, and the
versions of modreport and of the packages that compute. Entries are JSON and a NumPy archive read with
`allow_pickle=False`: nothing is unpickled. Only folders named by a key inside the cache folder are
ever written or removed, and an unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import types
import typing
from importlib.metadata import version
from pathlib import Path

import numpy as np

FORMAT = 3  # bump when the measurements change shape
KEEP = 16  # entries kept; the oldest beyond this are removed
PACKAGES = ("modreport", "torch", "transformer-lens", "numpy")


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

    def key(self, directory: Path, options, part: str = "") -> str:
        """The entry of this checkpoint and these options; ``part`` names a second entry beside the
        measurements (the untrained baseline, which only a headline report needs)."""
        from reporter.model.checkpoint import CONFIG_FILE, weights_digest

        parts = {
            "part": part,
            "format": FORMAT,
            "config": hashlib.sha256((Path(directory) / CONFIG_FILE).read_bytes()).hexdigest(),
            "weights": weights_digest(directory),
            "options": {"pairs": options.pairs, "thresholds": dataclasses.asdict(options.thresholds)},
            "versions": {name: version(name) for name in PACKAGES},
            "code": source_digest(),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def load(self, directory: Path, options, kinds: tuple, part: str = ""):
        """The cached values (of the types ``kinds``) for this checkpoint and these options, or None."""
        try:
            entry = self.folder / self.key(directory, options, part)
        except OSError:  # no readable checkpoint there: the caller's own checks will say so
            return None
        try:
            data = json.loads((entry / "values.json").read_text())
            with np.load(entry / "arrays.npz", allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            values = tuple(decode(kind, item, arrays) for kind, item in zip(kinds, data, strict=True))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        os.utime(entry)  # recently used: kept longest
        return values

    def store(self, directory: Path, options, values: tuple, part: str = "") -> None:
        """Keep ``values``; a cache folder that cannot be written is left alone (the build goes on)."""
        entry = self.folder / self.key(directory, options, part)
        arrays: dict = {}
        data = [encode(value, arrays) for value in values]
        try:
            if not self.folder.exists():
                from reporter.publish.outputs import write_marker

                self.folder.mkdir(parents=True)
                write_marker(self.folder, "cache")
            staging = Path(tempfile.mkdtemp(prefix=".entry-", dir=self.folder))
            (staging / "values.json").write_text(json.dumps(data, allow_nan=True))
            np.savez(staging / "arrays.npz", **arrays)
            if entry.exists():
                shutil.rmtree(staging)
            else:
                os.rename(staging, entry)
            self.prune()
        except OSError:
            return

    def load_figures(self, directory: Path, options) -> list | None:
        """The figures drawn for this checkpoint and these options, or None."""
        from reporter.publish.figures import Figure

        folder = self.folder / self.key(directory, options) / "figures"
        try:
            index = json.loads((folder / "index.json").read_text())
            return [
                Figure(
                    item["name"],
                    (folder / item["name"]).read_bytes(),
                    item["alt"],
                    (folder / (item["name"] + ".csv")).read_text(),
                )
                for item in index
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def figures(self, directory: Path, options, draw) -> list:
        """The figures of this checkpoint and these options: from the cache, or ``draw()`` them and keep them."""
        found = self.load_figures(directory, options)
        if found is None:
            found = draw()
            self.store_figures(directory, options, found)
        return found

    def store_figures(self, directory: Path, options, figures: list) -> None:
        """Keep the figures beside the measurements (whose entry must exist); failures are ignored."""
        entry = self.folder / self.key(directory, options)
        if not entry.is_dir() or (entry / "figures").exists():
            return
        try:
            staging = Path(tempfile.mkdtemp(prefix=".figures-", dir=entry))
            for figure in figures:
                (staging / figure.name).write_bytes(figure.png)
                (staging / (figure.name + ".csv")).write_text(figure.csv)
            (staging / "index.json").write_text(json.dumps([{"name": f.name, "alt": f.alt} for f in figures]))
            os.rename(staging, entry / "figures")
        except OSError:
            return

    def prune(self) -> None:
        """Keep the KEEP most recently used entries; remove staging folders a killed run left (an hour old)."""
        import time

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
