"""Fourier: known frequencies come back from spectra and from a switching head's choice."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reporter.measure.fourier import preference_rule, spectrum
from tests.handmade import FREQUENCY, PHASE, analysed


def test_an_embedding_built_from_known_frequencies_gives_them_back():
    p = 31
    x = torch.arange(p, dtype=torch.float64)
    embedding = torch.stack(
        [
            torch.cos(2 * math.pi * 4 * x / p),
            torch.sin(2 * math.pi * 4 * x / p),
            0.5 * torch.cos(2 * math.pi * 9 * x / p + 1.0),
        ],
        -1,
    )
    top = spectrum(embedding, p).top(3)
    assert [k for k, _ in top[:2]] == [4, 9]
    assert top[0][1] == pytest.approx(2 / 2.25) and top[1][1] == pytest.approx(0.25 / 2.25)


def test_a_preference_built_from_one_frequency_is_recovered():
    p = 29
    h = np.cos(2 * math.pi * 5 * np.arange(p) / p + 0.4)
    score = h[:, None] - h[None, :]  # prefers a when h(a) > h(b)
    weight_a = (1 / (1 + np.exp(-40 * score))).reshape(-1)
    rule = preference_rule(weight_a, 1 - weight_a, p)
    assert rule.frequency == 5 and rule.phase == pytest.approx(0.4, abs=0.02)
    assert rule.accuracy > 0.95 and rule.explained > 0.95


def test_a_switch_head_built_with_one_frequency_gets_that_frequency_and_its_rule():
    _, _, _, _, reading = analysed(23, [["frequency:copy", "equals"]], readout=True)
    switch = reading.roles[0]
    assert switch.looks.kind.value == "switches_ab"
    assert switch.preference.frequency == FREQUENCY
    assert switch.preference.phase == pytest.approx(PHASE, abs=0.05)
    assert switch.preference.accuracy > 0.95
    assert switch.effects.rule == "additive"
    assert abs(switch.effects.pattern_rule.delta_loss) < 1e-3  # its scores are exactly additive
    # the rule the pages quote is tested by intervention: its one-frequency pattern stands in for the head's
    assert switch.effects.frequency == FREQUENCY
    assert abs(switch.effects.pattern_frequency.delta_loss) < 1e-3


def test_the_one_frequency_fit_keeps_only_that_frequency():
    from reporter.measure.rules import one_frequency_fit

    p = 19
    x = torch.arange(p, dtype=torch.float64)
    f = 2.0 * torch.cos(2 * math.pi * 4 * x / p + 0.3) + 0.2 * torch.cos(2 * math.pi * 7 * x / p)  # [a]
    g = -1.5 * torch.cos(2 * math.pi * 4 * x / p)  # [b]
    grid = torch.stack([f[:, None] + g[None, :] + 1.0, torch.zeros(p, p, dtype=torch.float64)], -1)  # [a, b, key]
    k, fit = one_frequency_fit(grid)
    assert k == 4
    expected = 2.0 * torch.cos(2 * math.pi * 4 * x / p + 0.3)[:, None] + g[None, :] + 1.0
    assert torch.allclose(fit[..., 0], expected, atol=1e-9) and torch.allclose(
        fit[..., 1], torch.zeros(p, p, dtype=torch.float64)
    )


def test_the_nyquist_frequency_of_an_even_modulus_is_counted_once():
    from reporter.measure.rules import one_frequency_fit

    p = 8
    x = torch.arange(p, dtype=torch.float64)
    # power: (1.7 p / 2)² at k = 1 and at p - 1 (folded: 1.445 p²); p² at k = p/2 = 4, its own mirror
    f = 1.7 * torch.cos(2 * math.pi * x / p) + torch.cos(math.pi * x)  # [a]
    grid = torch.stack([f[:, None] + torch.zeros(p), torch.zeros(p, p, dtype=torch.float64)], -1)  # [a, b, key]
    k, _ = one_frequency_fit(grid)
    assert k == 1  # counting p/2 twice would give it 2 p² and pick it
    shares = spectrum(f[:, None], p).shares  # [frequency - 1]
    assert shares[3] == pytest.approx(1 / 2.445) and shares[0] == pytest.approx(1.445 / 2.445)
