"""The rules quoted for a head's pattern: a switching head that one frequency does not decide gets the two that
do, tested by its own intervention; a head whose pattern follows the answer gets the frequency it is gated by.
Known answers: preferences built from chosen frequencies, and `answer_gated_model`, whose layer-1 heads score
b's position by cos and sin of 2π·FREQUENCY·(a + b)/p."""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from reporter.analysis import interpret, measure
from reporter.interpret.roles import frequency_test, switch_rule
from reporter.interpret.stats import Attention, compute_stats
from reporter.interpret.thresholds import Thresholds
from reporter.measure.causal import Effect
from reporter.measure.fourier import preference_rule
from reporter.measure.rules import frequency_fit
from reporter.publish.report import rule_record
from tests.handmade import FREQUENCY, answer_gated_model

P = 13


def sides(p: int, waves: list[tuple[int, float, float]], sharpness: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """[input] attention to a and to b of a head that prefers the operand with the larger Σ w·cos(2π k x / p + φ)."""
    x = np.arange(p)
    h = sum(w * np.cos(2 * math.pi * k * x / p + phi) for k, w, phi in waves)
    to_a = 1 / (1 + np.exp(-sharpness * (h[:, None] - h[None, :])))  # [a, b]
    return to_a.reshape(-1), 1 - to_a.reshape(-1)


def test_a_choice_that_one_frequency_does_not_decide_is_given_the_two_that_do():
    a_side, b_side = sides(P, [(2, 1.0, 0.3), (5, 0.8, -1.1)])
    one, t = preference_rule(a_side, b_side, P), Thresholds()
    assert one.frequencies == (2,) and one.accuracy < t.rule_decides  # the strongest alone is not enough
    rule = switch_rule(a_side, b_side, P, t)
    assert rule.frequencies == (2, 5) and rule.accuracy >= t.rule_decides  # (a = b is a tie, which neither names)
    assert rule.strongest_accuracy == pytest.approx(one.accuracy)
    assert rule.weights[1] == pytest.approx(0.8, rel=0.05) and rule.phases[1] == pytest.approx(-1.1, abs=0.05)


def test_a_choice_one_frequency_decides_keeps_one():
    a_side, b_side = sides(P, [(4, 1.0, 0.7), (6, 0.05, 0.0)])
    rule = switch_rule(a_side, b_side, P, Thresholds())
    assert rule.frequencies == (4,) and rule.accuracy >= Thresholds().rule_decides


def test_a_choice_no_two_frequencies_decide_keeps_the_strongest():
    a_side, b_side = sides(P, [(1, 1.0, 0.0), (3, 0.9, 1.0), (6, 0.85, 2.0)])
    t = replace(Thresholds(), rule_decides=1.0)
    rule = switch_rule(a_side, b_side, P, t)
    assert preference_rule(a_side, b_side, P, 2).accuracy < 1.0 and rule.frequencies == (1,)


def test_the_two_frequency_rule_is_tested_by_its_own_pattern():
    a_side, b_side = sides(P, [(2, 1.0, 0.3), (5, 0.8, -1.1)])
    one, two = preference_rule(a_side, b_side, P), preference_rule(a_side, b_side, P, 2)
    effects = type("Effects", (), {"pattern_frequency": Effect(2.0, 0.5), "pattern_two_frequencies": Effect(0.0, 1.0)})
    assert frequency_test(one, effects).delta_loss == 2.0 and frequency_test(two, effects).delta_loss == 0.0


def test_the_two_frequency_fit_keeps_both_frequencies_and_nothing_else():
    x = torch.arange(P, dtype=torch.float64)
    f = 2.0 * torch.cos(2 * math.pi * 3 * x / P) + 1.0 * torch.sin(2 * math.pi * 5 * x / P)
    noise = 0.1 * torch.cos(2 * math.pi * 6 * x / P)
    grid = (f + noise)[:, None, None] + torch.zeros(P, P, 1, dtype=torch.float64)  # [a, b, key]
    chosen, fit = frequency_fit(grid, 2)
    assert chosen == (3, 5)
    assert torch.allclose(fit[..., 0], f[:, None].expand(P, P), atol=1e-9)


@functools.cache
def gated_reading():
    model, _, task = answer_gated_model(P)
    measured = measure(model, task, Thresholds().key_frequency)
    stats = compute_stats(Attention(task, measured.weights, measured.correct), [])
    return interpret(stats, measured, Thresholds())


def test_an_answer_gated_head_gets_the_frequency_it_is_gated_by():
    head = next(r for r in gated_reading().roles if r.name == "L1H0")
    assert head.effects.rule == "answer" and head.sufficiency.value == "sufficient"
    assert head.effects.gating_frequency == FREQUENCY and head.effects.gating_share > 0.9
    record = rule_record(head, Thresholds())
    assert record["kind"] == "answer" and record["frequencies"] == [FREQUENCY]


def test_a_head_whose_pattern_never_varies_has_no_gating_share():
    head = next(r for r in gated_reading().roles if r.name == "L0H0")  # it always looks at b
    assert head.effects.gating_share == pytest.approx(0.0, abs=1e-6)
