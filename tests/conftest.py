"""Shared fixtures: a tiny model trained once per session through the real CLI, and hand-made
models whose attention is known by construction (tests/handmade.py), measured once each."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from reporter.cli import cli
from tests.handmade import measure, write_handmade

# The tests' models are tiny: one thread runs them fastest, and on a shared machine two threads that
# wait on each other's core can run them ten times slower. Subprocesses inherit the setting.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """The tests' measurements are cached in a folder of their own, never in the user's ~/.cache."""
    os.environ["MODREPORT_CACHE"] = str(tmp_path_factory.mktemp("cache") / "modreport")


# every page of a build, as `modreport build` writes it into site/
PAGES = [
    "404.md",  # what a server shows for an address the site lacks
    "across.md",
    "algorithm.md",
    "fourier.md",
    "heads.md",
    "index.md",
    "layers.md",
    "methodology.md",
    "pairs.md",
    "provenance.md",
    "training.md",
]
REPORT_PAGES = [page for page in PAGES if page != "404.md"]  # the report's own pages (404 is the server's)

# A tiny recipe that reaches 100% held-out accuracy in seconds on 2 cores.
TINY_TRAIN = [
    "--modulus",
    "11",
    "--layers",
    "1",
    "--heads",
    "2",
    "--d-model",
    "64",
    "--d-mlp",
    "128",
    "--epochs",
    "300",
    "--batch-size",
    "32",
    "--lr",
    "1e-2",
    "--norm",
    "None",
    "--seed",
    "0",
]


def invoke(*args: str):
    """Run the CLI in-process as a user would; never lets an exception escape unseen."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "ckpt"
    result = invoke("train", "--out", out, *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def build_with(tiny_checkpoint, tmp_path_factory):
    """build_with(engine) -> a folder holding a full build (Markdown in site/, HTML in public/) of the tiny
    trained model with that site engine, built once per session."""

    @functools.cache
    def build(engine: str) -> Path:
        root = tmp_path_factory.mktemp(f"build-{engine}")
        result = invoke(
            "build",
            "--checkpoint",
            tiny_checkpoint,
            "--out",
            root / "site",
            "--html",
            root / "public",
            "--engine",
            engine,
        )
        assert result.exit_code == 0, result.output
        (root / "output.txt").write_text(result.stdout)  # what the user saw, for the tests of what build says
        return root

    return build


@pytest.fixture(scope="session")
def built(build_with):
    """A full build (Markdown and HTML) of the tiny trained model with the default engine."""
    return build_with("mkdocs")


@pytest.fixture(scope="session")
def shipped_build(tmp_path_factory) -> tuple[Path, Path]:
    """(site, cache): the shipped report's Markdown, built once per session by `modreport build` with a
    cache folder of its own, so that it measures all five shipped runs itself whatever ran before it. The
    shipped models are full-size, not tiny: their build gets every core."""
    root = tmp_path_factory.mktemp("shipped")
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        result = invoke("build", "--out", root / "site", "--no-html", "--cache", root / "cache")
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    return root / "site", root / "cache"


@pytest.fixture(scope="session")
def handmade():
    """handmade(p, [[kind, ...], ...]) -> the model and its stats, labels, trends and findings (default
    thresholds), measured once per session for each (p, heads)."""

    @functools.cache
    def measured(modulus: int, heads: tuple[tuple[str, ...], ...]):
        return measure(modulus, [list(layer) for layer in heads])

    return lambda modulus, heads: measured(modulus, tuple(tuple(layer) for layer in heads))


@pytest.fixture(scope="session")
def handmade_checkpoint(tmp_path_factory):
    """handmade_checkpoint(p, heads) -> a checkpoint directory of that hand-made model, written once."""
    written: dict = {}

    def checkpoint(modulus: int, heads: list[list[str]]) -> Path:
        key = (modulus, tuple(tuple(layer) for layer in heads))
        if key not in written:
            written[key] = write_handmade(tmp_path_factory.mktemp("handmade") / "ckpt", modulus, heads)
        return written[key]

    return checkpoint


def chromium_path() -> str | None:
    return os.environ.get("MODREPORT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium found: install Debian's chromium or set MODREPORT_CHROMIUM")
        pytest.skip("no chromium found: install Debian's chromium or set MODREPORT_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path)
        yield launched
        launched.close()


CACHE_HEADS = [["a:copy", "larger:copy"], ["plus", "b:copy"]]  # the hand-made model of the cache's tests


@pytest.fixture
def checkpoint(handmade_checkpoint, tmp_path):
    """A copy of a small hand-made checkpoint (p = 13, two layers) that a test may damage or change."""
    copy = tmp_path / "ckpt"
    shutil.copytree(handmade_checkpoint(13, CACHE_HEADS), copy)
    return copy


@pytest.fixture
def counted(monkeypatch):
    """How many times the model is measured."""
    import reporter.analysis

    calls = []
    real = reporter.analysis.measure
    monkeypatch.setattr(reporter.analysis, "measure", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls
