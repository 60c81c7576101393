"""A report is never filed under the wrong model: a checkpoint replaced while it is read or while its report
is built (`train --force` into the same folder) gives a report of one model, or a clear error and no report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import reporter.limits
from reporter.model.checkpoint import read_checkpoint
from reporter.publish.outputs import exchange
from tests.conftest import TINY_TRAIN, invoke


def other_model(tmp_path: Path) -> Path:
    """A second tiny checkpoint, of another seed: other weights, another accuracy record."""
    other = tmp_path / "other"
    arguments = [*TINY_TRAIN]
    arguments[arguments.index("--seed") + 1] = "1"
    arguments[arguments.index("--epochs") + 1] = "3"
    result = invoke("train", "--out", other, *arguments)
    assert result.exit_code == 0, result.output
    return other


def test_a_checkpoint_swapped_between_its_two_files_is_read_whole(tiny_checkpoint, tmp_path, monkeypatch):
    """`train --force` swaps the whole folder in one step; the config and the weights still come from one
    checkpoint, the one opened first."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    other = other_model(tmp_path)
    old = read_checkpoint(ckpt)
    real = reporter.limits.read_bounded
    calls = []

    def swap_after_the_config(path, *args, **kwargs):
        data = real(path, *args, **kwargs)
        calls.append(path)
        if len(calls) == 1:
            exchange(other, ckpt)  # the new checkpoint takes the folder's name between the two reads
        return data

    monkeypatch.setattr(reporter.limits, "read_bounded", swap_after_the_config)
    monkeypatch.setattr("reporter.model.checkpoint.read_bounded", swap_after_the_config)
    read = read_checkpoint(ckpt)
    assert len(calls) == 2
    assert (read.config_sha256, read.weights_sha256) == (old.config_sha256, old.weights_sha256)


@pytest.mark.slow
def test_a_checkpoint_replaced_during_its_build_publishes_nothing(tiny_checkpoint, tmp_path, monkeypatch):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    other = other_model(tmp_path)
    first = invoke("build", "--checkpoint", ckpt, "--out", tmp_path / "site", "--no-html")
    assert first.exit_code == 0, first.output
    before = {p: p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    import reporter.publish.render

    real = reporter.publish.render.site_files

    def replaced_meanwhile(*args, **kwargs):
        exchange(other, ckpt)  # as train --out ckpt --force does, while the pages are filled
        return real(*args, **kwargs)

    monkeypatch.setattr(reporter.publish.render, "site_files", replaced_meanwhile)
    second = invoke("build", "--checkpoint", ckpt, "--out", tmp_path / "site", "--no-html", "--no-cache")
    assert second.exit_code == 1, second.output
    assert "changed while its report was being built; nothing was replaced" in second.output
    assert "Traceback" not in second.output
    assert {p: p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()} == before
