"""What a build says while it works: each run and each stage of its analysis with its seconds, then the
total time; plain lines when standard error is not a terminal."""

from __future__ import annotations

import re

import pytest

from tests.conftest import invoke

STAGES = ("capture", "causal", "fourier", "content", "circuit", "baseline", "interpret")


@pytest.mark.slow
def test_build_names_each_run_and_stage_and_ends_with_the_total_time(checkpoint, handmade_checkpoint, tmp_path):
    other = handmade_checkpoint(13, [["b:copy", "a:copy"], ["plus", "larger:copy"]])
    result = invoke(
        "build", "--checkpoint", checkpoint, "--runs", other, "--out", tmp_path / "site", "--no-html", "--no-cache"
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    headline = next(line for line in lines if line.startswith(f"      {checkpoint}: "))
    assert re.findall(r"(\w+) \d+\.\d s", headline) == list(STAGES)  # every stage, in order, with its seconds
    assert re.search(r"\(\d+\.\d s\)$", headline)  # and the run's own total
    compared = next(line for line in lines if line.startswith(f"      {other}: "))
    assert re.findall(r"(\w+) \d+\.\d s", compared) == list(STAGES)  # a compared run is measured in full too
    assert lines.index(headline) < lines.index(compared) < lines.index("[3/5] drawing figures")
    assert re.fullmatch(r"Built in \d+\.\d s", lines[-1])
    assert "\r" not in result.stderr and "\x1b" not in result.stderr  # no bar redrawn into a log


@pytest.mark.slow
def test_a_rebuild_says_its_run_was_read_from_the_cache(checkpoint, tmp_path):
    for _ in range(2):
        result = invoke(
            "build", "--checkpoint", checkpoint, "--out", tmp_path / "site", "--no-html", "--cache", tmp_path / "c"
        )
        assert result.exit_code == 0, result.output
    headline = next(line for line in result.stderr.splitlines() if line.startswith(f"      {checkpoint}: "))
    assert re.fullmatch(rf"      {re.escape(str(checkpoint))}: interpret \d+\.\d s \(\d+\.\d s\)", headline)


def test_analyze_and_compare_end_with_their_total_time(checkpoint, handmade_checkpoint, tmp_path):
    analyzed = invoke("analyze", "--checkpoint", checkpoint, "--json", tmp_path / "report.json")
    assert re.search(r"^Analysed in \d+\.\d s$", analyzed.stderr, re.M)
    other = handmade_checkpoint(13, [["b:copy", "a:copy"], ["plus", "larger:copy"]])
    compared = invoke("compare", checkpoint, other)
    assert compared.exit_code == 0, compared.output
    assert f"      {other}: " in compared.stderr and re.search(r"^Analysed in \d+\.\d s$", compared.stderr, re.M)
