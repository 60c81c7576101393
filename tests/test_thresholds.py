"""The one threshold table: every cut-off with its reason, its range and its moves."""

from __future__ import annotations

import math

import pytest

from reporter.interpret.thresholds import Thresholds


def test_every_threshold_has_a_reason_and_a_group():
    for name, reason in Thresholds.reasons():
        assert len(reason) > 20, name
        assert Thresholds.group_of(name) in (
            "labels",
            "carries",
            "causal",
            "fourier",
            "circuit",
            "findings",
            "pages",
            "runs",
        )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("focal", 0.3, "unknown threshold 'focal'"),
        ("focus", math.nan, "must be a finite number"),
        ("focus", math.inf, "must be a finite number"),
        ("focus", 2, "is a share: it must lie in [0, 1], not 2"),
        ("most_inputs", 1.01, "is a share: it must lie in [0, 1]"),
        ("plus_rise", -0.1, "is a share: it must lie in [0, 1]"),
        ("distinct_niches", 2.5, "must be a whole number of at least 1"),
        ("distinct_niches", 0, "must be a whole number of at least 1"),
        ("focus", True, "must be a finite number"),
    ],
)
def test_values_out_of_range_are_refused(name, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Thresholds().with_overrides({name: value})


def test_overrides_keep_counts_whole():
    moved = Thresholds().with_overrides({"distinct_niches": 4.0, "focus": 1})
    assert moved.distinct_niches == 4 and isinstance(moved.distinct_niches, int)
    assert moved.focus == 1.0 and isinstance(moved.focus, float)


def test_a_share_moves_by_factors_and_stays_in_range():
    moves = Thresholds().with_overrides({"most_inputs": 0.9}).moves("most_inputs")
    assert [step for step, _ in moves] == ["× 0.8", "× 0.9", "× 1.1", "× 1.2"]
    assert moves[0][1] == pytest.approx(0.72) and moves[2][1] == pytest.approx(0.99) and moves[3][1] is None
