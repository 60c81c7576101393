"""Interventions: the replay agrees with TransformerLens' hooks, a no-op changes nothing, and ablations
tell an idle head from a needed one."""

from __future__ import annotations

import pytest
import torch

from reporter.measure.capture import capture
from reporter.measure.causal import Interventions, donors, mean_ablation
from reporter.model.edits import HeadOutput, HeadPattern
from reporter.model.engine import replayable
from tests.handmade import analysed, handmade_model

P = 11


def test_no_op_patch_changes_nothing_and_the_replay_matches_the_hooks():
    model, _, task = handmade_model(P, [["a:copy", "equals:constant"], ["frequency:copy", "b:copy"]], readout=True)
    interventions = Interventions(model, capture(model, task))
    checks = interventions.checks
    assert checks.replay and replayable(model.cfg)
    assert checks.noop_delta_loss < 1e-12 and checks.hooks_max_difference < 1e-9
    assert checks.pattern_max_difference < 1e-9
    own = HeadOutput(1, 1, lambda rows, z: z)
    assert abs(interventions.effect(own).delta_loss) < 1e-12


def test_mean_ablation_of_a_constant_write_changes_nothing_and_zero_ablation_does():
    _, _, _measured, _, reading = analysed(P, [["a:copy", "equals:constant"]], readout=True)
    constant = reading.roles[1]
    assert constant.carries.value == "nothing"
    assert abs(constant.effects.ablation_equals.delta_loss) < 1e-9
    assert abs(constant.effects.zero_equals.delta_loss) > 0.01  # zeroing deletes the constant the readout reads


def test_every_kind_of_intervention_matches_run_with_hooks_on_all_inputs():
    model, _, task = handmade_model(P, [["larger:copy", "b:copy"], ["frequency:copy", "equals:constant"]], True)
    clean = capture(model, task)
    interventions = Interventions(model, clean)
    donor = donors(P, "a")
    edits = [
        mean_ablation(clean, 0, 0),
        mean_ablation(clean, 0, 1, everywhere=True),
        HeadOutput(1, 0, lambda rows, z: clean.z[donor[rows], 1, 0]),
        HeadPattern(1, 0, lambda rows, w: torch.full_like(w, 0.25)),
    ]
    everything = slice(0, task.n_inputs)
    for edit in edits:
        replayed, _ = interventions.losses((edit,))
        hooked = torch.nn.functional.cross_entropy(
            interventions.hooked.logits(everything, (edit,)), clean.targets, reduction="none"
        )
        assert (replayed - hooked).abs().max() < 1e-9, type(edit).__name__


def test_donors_change_only_the_named_operand():
    a_donor, b_donor = donors(P, "a"), donors(P, "b")
    rows = torch.arange(P * P)
    assert ((a_donor // P) != (rows // P)).all() and ((a_donor % P) == (rows % P)).all()
    assert ((b_donor % P) != (rows % P)).all() and ((b_donor // P) == (rows // P)).all()


@pytest.mark.slow
def test_the_only_route_of_b_to_equals_in_a_tiny_trained_model_is_critical(tmp_path):
    from reporter.analysis import Options, analyse
    from tests.conftest import TINY_TRAIN, invoke

    out = tmp_path / "one_head"
    one_head = dict(zip(TINY_TRAIN[::2], TINY_TRAIN[1::2], strict=True)) | {"--heads": "1", "--d-model": "32"}
    result = invoke("train", "--out", out, *(part for pair in one_head.items() for part in pair))
    assert result.exit_code == 0, result.output
    analysis = analyse(out, Options())
    (head,) = analysis.roles
    assert analysis.stats.accuracy["all"] > 0.9  # it has learned the task
    assert head.carries.value in ("a_and_b", "answer")  # the only head: b reaches = through it alone
    assert head.importance.value == "critical"
    assert head.effects.patch_a.delta_loss > 1.0 and head.effects.patch_b.delta_loss > 1.0
    assert head.patching_agrees is True
