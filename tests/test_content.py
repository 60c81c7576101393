"""What positions and head writes carry, on models whose answer is known by construction."""

from __future__ import annotations

import pytest
import torch

from reporter.interpret.roles import Carries, head_carries, position_carries
from reporter.interpret.thresholds import Thresholds
from reporter.measure.content import anova
from tests.handmade import analysed

P = 11


def grid(function) -> torch.Tensor:
    """[p², 3] a vector-valued function of (a, b), row a * p + b."""
    a, b = torch.meshgrid(torch.arange(P, dtype=torch.float64), torch.arange(P, dtype=torch.float64), indexing="ij")
    return function(a.reshape(-1), b.reshape(-1))


@pytest.mark.parametrize(
    "function, a, b, answer",
    [
        (lambda a, b: torch.stack([a, a**2, 1 + 0 * a], -1), 1.0, 0.0, 0.0),
        (lambda a, b: torch.stack([torch.sin(b), b, 0 * b], -1), 0.0, 1.0, 0.0),
        (lambda a, b: torch.stack([torch.cos(2 * torch.pi * ((a + b) % P) / P), 0 * a, 0 * a], -1), 0.0, 0.0, 1.0),
    ],
)
def test_analysis_of_variance_finds_what_a_function_depends_on(function, a, b, answer):
    shares = anova(grid(function), P)
    assert shares.a == pytest.approx(a, abs=1e-9) and shares.b == pytest.approx(b, abs=1e-9)
    assert shares.answer == pytest.approx(answer, abs=1e-9)


def test_a_constant_has_no_spread_and_a_sum_splits_evenly():
    constant = anova(grid(lambda a, b: torch.stack([1 + 0 * a, 2 + 0 * a], -1)), P)
    assert constant.spread == 0 and constant.rms == pytest.approx(5**0.5)
    both = anova(grid(lambda a, b: torch.stack([a, b], -1)), P)
    assert both.a == pytest.approx(0.5) and both.b == pytest.approx(0.5) and both.interaction == pytest.approx(0)


def test_head_that_attends_to_a_with_zero_output_carries_nothing_and_is_inert():
    _, _, _, _, reading = analysed(P, [["a", "b:copy"]], readout=True)
    silent, copier = reading.roles
    assert silent.looks.kind.value == "attends_a"
    assert silent.carries is Carries.nothing and silent.importance.value == "inert"
    assert copier.carries is Carries.b


def test_head_that_copies_a_carries_a():
    _, _, _measured, _, reading = analysed(P, [["a:copy", "b:copy"]], readout=True)
    on_a = reading.roles[0]
    assert on_a.carries is Carries.a
    assert on_a.write.shares.a == pytest.approx(1.0)
    # Patching b cannot move what a head that reads only a writes.
    assert abs(on_a.effects.patch_b.delta_loss) < 1e-12


def test_positions_before_layer_zero_hold_a_constant_and_plus_holds_a_once_it_read_it():
    _, _, measured, _, _reading = analysed(P, [["a:copy", "equals"], ["plus", "b"]])
    t = Thresholds()
    first = {row.position: position_carries(row, t) for row in measured.contents if row.layer == 0}
    assert first == {"a": Carries.a, "plus": Carries.nothing, "b": Carries.b, "equals": Carries.nothing}
    second = {row.position: position_carries(row, t) for row in measured.contents if row.layer == 1}
    assert second["plus"] is Carries.a  # layer 0's head 0 copied a into every position that sees it


def test_head_that_looks_at_plus_where_plus_holds_a_reads_a():
    _, _, _, _, reading = analysed(P, [["a:copy", "equals"], ["plus", "b"]])
    on_plus = reading.roles[2]  # layer 1, head 0
    assert on_plus.looks.kind.value == "attends_plus"
    assert on_plus.reads.kind.value == "attends_a"


def test_a_silent_head_is_judged_against_its_layer():
    _, _, measured, _, _ = analysed(P, [["a:copy", "b:constant"]])
    t = Thresholds()
    copier, constant = measured.writes
    assert head_carries(copier, t) is Carries.a
    assert constant.relative_spread < t.silent_spread and head_carries(constant, t) is Carries.nothing
