"""Statistics over all p² inputs, checked against hand-made models whose attention is known."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reporter.interpret.stats import (
    PairError,
    bimodality_coefficient,
    compute_stats,
    default_pairs,
    parse_pairs,
    r_squared,
)
from reporter.measure.capture import attention_over_all_inputs
from reporter.model.task import Task


def test_every_head_has_a_distribution_over_the_four_positions_for_every_input(handmade):
    measured = handmade(13, [["a", "larger"], ["uniform", "plus"]])
    stats = measured.stats
    assert (stats.n_layers, stats.n_heads, len(stats.heads)) == (2, 2, 4)
    for h in stats.heads:
        assert h.weights.shape == (169, 4)
        assert np.allclose(h.weights.sum(-1), 1)
    assert stats.a_share_grid.shape == (2, 2, 13, 13)


def test_means_entropy_and_sharpness_match_the_construction(handmade):
    stats = handmade(13, [["a", "uniform"]]).stats
    on_a, uniform = stats.heads
    assert on_a.mean["a"] > 0.999 and on_a.mean_max > 0.999 and on_a.entropy < 0.01
    assert uniform.mean == pytest.approx({"a": 0.25, "plus": 0.25, "b": 0.25, "equals": 0.25})
    assert uniform.mean_max == pytest.approx(0.25) and uniform.entropy == pytest.approx(1.0)
    assert stats.layers[0].mean["a"] == pytest.approx((on_a.mean["a"] + 0.25) / 2)


def test_a_share_of_a_head_on_the_larger_operand_is_explained_by_both_operands(handmade):
    head = handmade(13, [["larger"]]).stats.heads[0]
    # prefers a exactly when a > b: neither operand alone explains it, and the rule finds a > b.
    assert head.switch.rule == "a > b"
    # On the 13 ties a = b it gives each exactly half: "not more on a", as the rule a > b says.
    assert head.switch.agreement == 1.0
    assert 0.2 < head.switch.explained_by_a < 0.5 and 0.2 < head.switch.explained_by_b < 0.5
    assert head.switch.additive_agreement > 0.9


def test_r_squared_of_a_function_of_the_group_is_one_and_of_noise_near_zero():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 100)
    assert r_squared(groups * 2.0 + 1, groups, 10) == pytest.approx(1.0)
    assert r_squared(rng.normal(size=1000), groups, 10) < 0.03
    assert r_squared(np.ones(1000), groups, 10) == 0.0


def test_bimodality_separates_two_modes_from_one():
    rng = np.random.default_rng(0)
    assert bimodality_coefficient(rng.uniform(size=100_000)) == pytest.approx(5 / 9, abs=0.01)
    assert bimodality_coefficient(np.r_[np.zeros(500), np.ones(500)]) == pytest.approx(1.0)
    assert bimodality_coefficient(rng.normal(size=100_000)) == pytest.approx(1 / 3, abs=0.01)


def test_pairs_are_read_from_the_same_pass(handmade):
    measured = handmade(13, [["larger"]])
    stats = compute_stats(attention_over_all_inputs(measured.model, measured.task), [(3, 9), (9, 3)])
    assert [p["pair"] for p in stats.pairs] == ["3+9", "9+3"]
    assert stats.pairs[0]["heads"][0]["attention"]["b"] > 0.99 and stats.pairs[1]["heads"][0]["attention"]["a"] > 0.99
    assert stats.pairs[0]["answer"] == 12 and stats.pairs[0]["heads"][0]["name"] == "L0H0"


def test_default_pairs_are_the_seeds_scaled_to_the_modulus():
    assert default_pairs(113) == [(5, 8), (90, 90), (50, 0)]
    assert default_pairs(61) == [(5, 8), (49, 49), (50, 0)]
    assert all(max(pair) < 7 for pair in default_pairs(7))
    assert Task(7).n_inputs == 49


@pytest.mark.parametrize(
    "text, message",
    [
        ("5+8,5+8", "pair '5+8' is given twice"),
        ("٣+4", "is not of the form a+b"),
        (",".join(f"{i}+0" for i in range(13)), "13 pairs are too many to draw; give at most 12"),
    ],
)
def test_pairs_that_cannot_be_drawn_are_refused(text, message):
    with pytest.raises(PairError, match=re.escape(message)):
        parse_pairs(text)
