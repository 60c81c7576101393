"""Shared fixtures: a tiny model trained once per session through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reporter.cli import cli

# A tiny recipe that reaches 100% held-out accuracy in seconds on 2 cores.
TINY_TRAIN = ["--modulus", "11", "--layers", "1", "--heads", "2", "--d-model", "64", "--d-mlp", "128",
              "--epochs", "300", "--batch-size", "32", "--lr", "1e-2", "--norm", "None", "--seed", "0"]


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
def built(tiny_checkpoint, tmp_path_factory):
    """A full build (Markdown and HTML) of the tiny trained model."""
    root = tmp_path_factory.mktemp("build")
    result = invoke("build", "--checkpoint", tiny_checkpoint, "--out", root / "site", "--html", root / "public")
    assert result.exit_code == 0, result.output
    return root
