"""Benchmark: what a rebuild of the shipped headline report pays for, measured in one run.

Prints two tables:

1. `modreport build` (the shipped checkpoint, its five runs compared, HTML included): cold (an empty
   cache), then each in a fresh process as a user runs it: a warm rebuild with no change, and a warm
   rebuild after `--set focus=0.6`, which re-interprets the cached measurements and redraws only the
   figures whose values changed. Goal (issue 19): the second at most 1.5x the first.
2. What the cold build read: how many times each checkpoint file was opened and hashed (sha256 over the
   whole file), and how many models were built. Counted by wrapping `open`, safetensors' `load_file`,
   `os.open`, `hashlib.sha256` and `build_model` in this process, whatever the code under test calls them for.

    .venv/bin/python benchmarks/rebuild.py [--cache DIR]

Without --cache it uses an empty temporary folder; with one, that folder is emptied first. --keep DIR
copies the cold build's Markdown pages into DIR (a new folder), e.g. to compare them with site/.
"""

from __future__ import annotations

import argparse
import builtins
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"


class Reads:
    """Opens of the checkpoints' files and sha256 digests of whole files, by file name, in this process."""

    def __init__(self) -> None:
        self.opens: Counter = Counter()
        self.hashes: Counter = Counter()
        self.builds: Counter = Counter()
        self.sizes: dict[int, set[str]] = {}
        for folder in CHECKPOINTS.iterdir():
            for name in ("config.json", "model.safetensors"):
                if (folder / name).is_file():
                    self.sizes.setdefault((folder / name).stat().st_size, set()).add(name)

    def install(self) -> None:
        """Wrap the functions that read, hash and build (until the process ends)."""
        import safetensors.torch

        import reporter.model.build

        reads, real_open, real_load, real_sha256 = self, io.open, safetensors.torch.load_file, hashlib.sha256
        real_build = reporter.model.build.build_model

        def counting_open(file, *args, **kwargs):
            reads.opened(file)
            return real_open(file, *args, **kwargs)

        real_os_open = os.open

        def counting_os_open(path, flags, mode=0o777, *, dir_fd=None):  # a file read inside an opened folder
            if dir_fd is not None and str(path) in ("config.json", "model.safetensors"):
                reads.opens[str(path)] += 1
            else:
                reads.opened(path)
            return real_os_open(path, flags, mode, dir_fd=dir_fd)

        def counting_load(filename, *args, **kwargs):
            reads.opened(filename)
            return real_load(filename, *args, **kwargs)

        class CountingSha256:
            def __init__(self, data=b"", **kwargs):
                self.inner, self.size = real_sha256(data, **kwargs), len(data)

            def update(self, data) -> None:
                self.inner.update(data)
                self.size += len(data)

            def hexdigest(self) -> str:
                reads.hashed(self.size)
                return self.inner.hexdigest()

            def digest(self) -> bytes:
                reads.hashed(self.size)
                return self.inner.digest()

            def __getattr__(self, name):  # name, digest_size, copy, ...: as hashlib's own
                return getattr(self.inner, name)

        def counting_build(config, **kwargs):
            model = real_build(config, **kwargs)
            device = next(model.parameters()).device.type
            reads.builds["on the meta device (shapes only)" if device == "meta" else "with weights"] += 1
            return model

        io.open = builtins.open = counting_open
        os.open = counting_os_open
        safetensors.torch.load_file = counting_load
        hashlib.sha256 = CountingSha256
        reporter.model.build.build_model = counting_build

    def opened(self, file) -> None:
        if isinstance(file, (str, Path)) and Path(file).parent.parent == CHECKPOINTS:
            self.opens[Path(file).name] += 1

    def hashed(self, size: int) -> None:
        for name in self.sizes.get(size, ()):
            self.hashes[name] += 1


def build_arguments(cache: Path, folder: Path, *extra: str) -> list[str]:
    return ["build", "--cache", str(cache), "--out", str(folder / "site"), "--html", str(folder / "public"), *extra]


def fresh_build(cache: Path, folder: Path, *extra: str) -> float:
    """Wall time of `modreport build` in a fresh process."""
    command = [sys.executable, "-c", "from reporter.cli import main; main()", *build_arguments(cache, folder, *extra)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def cold_build(cache: Path, folder: Path, reads: Reads) -> float:
    """Wall time of the cold build, run in this process so that its reads are counted."""
    from click.testing import CliRunner

    from reporter.cli import cli

    reads.install()
    start = time.perf_counter()
    result = CliRunner().invoke(cli, build_arguments(cache, folder), catch_exceptions=False)
    seconds = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"the cold build failed: {result.output[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache folder to use (emptied first)")
    parser.add_argument("--keep", type=Path, default=None, help="copy the cold build's Markdown site/ here")
    args = parser.parse_args()
    runs = sum(1 for p in CHECKPOINTS.iterdir() if (p / "config.json").is_file())
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch) / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        folder = Path(scratch) / "build"
        reads = Reads()
        cold = cold_build(cache, folder, reads)
        if args.keep:
            shutil.copytree(folder / "site", args.keep)
        unchanged = min(fresh_build(cache, folder) for _ in range(2))
        focus = fresh_build(cache, folder, "--set", "focus=0.6")
        focus_again = fresh_build(cache, folder, "--set", "focus=0.6")
    ratio = focus / unchanged
    print(f"\n| `modreport build`, the shipped checkpoint with its {runs} runs | wall (s) | note |")
    print("| --- | ---: | --- |")
    print(f"| cold (empty cache), in this process | {cold:.1f} | |")
    print(f"| warm, no change (fresh process, best of 2) | {unchanged:.1f} | the unit |")
    print(
        f"| warm, after `--set focus=0.6` (fresh process) | {focus:.1f} | "
        f"{ratio:.2f}x no change (goal <= 1.5x: {'met' if ratio <= 1.5 else 'missed'}) |"
    )
    print(f"| ... the same again (its figures now cached) | {focus_again:.1f} | |")
    print("\n| the cold build | config.json | model.safetensors |\n| --- | ---: | ---: |")
    print(f"| files opened (all {runs} runs) | {reads.opens['config.json']} | {reads.opens['model.safetensors']} |")
    print(f"| whole-file sha256 | {reads.hashes['config.json']} | {reads.hashes['model.safetensors']} |")
    print("\n| models built in the cold build | count |\n| --- | ---: |")
    for kind, count in sorted(reads.builds.items()):
        print(f"| {kind} | {count} |")


if __name__ == "__main__":
    main()
