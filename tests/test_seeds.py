"""The batched seed trainer (reporter/model/seeds.py): each run in the stack is the run its seed trains alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from reporter.model.engine import Forward
from reporter.model.recipe import Recipe
from reporter.model.seeds import Levers, orthogonalise_, stablemax_log_p, train_seeds
from reporter.model.task import Task, all_inputs
from reporter.model.train import initial_model, train

TINY = Recipe(modulus=11, n_layers=2, n_heads=2, d_model=32, d_mlp=64, batch_size=16, epochs=1, patience=99)


def logits_of(recipe: Recipe, state: dict) -> torch.Tensor:
    model = initial_model(recipe.model_config(), recipe.unembed_scale)
    model.load_state_dict({**model.state_dict(), **state})
    with torch.no_grad():
        return Forward(model)(all_inputs(Task(recipe.modulus)))


def alone(recipe: Recipe) -> torch.Tensor:
    result = train(recipe, lean=True)
    with torch.no_grad():
        return Forward(result.model)(all_inputs(Task(recipe.modulus)))


@pytest.mark.slow
def test_a_run_trained_in_the_stack_equals_the_run_trained_alone_after_an_epoch():
    runs = train_seeds(TINY, [0, 3])
    for run in runs:
        expected = alone(replace(TINY, seed=run.seed))
        got = logits_of(replace(TINY, seed=run.seed), run.state)
        assert torch.allclose(got, expected, atol=1e-5), float((got - expected).abs().max())
        assert run.outcome == "ran out" and len(run.history) == 1


def test_seeds_differ_and_the_stack_does_not_mix_them():
    first, second = train_seeds(TINY, [0, 1])
    (single,) = train_seeds(TINY, [1])
    assert not torch.allclose(first.state["embed.weight"], second.state["embed.weight"])
    assert torch.allclose(second.state["embed.weight"], single.state["embed.weight"], atol=1e-6)


def test_a_run_that_stops_leaves_the_others_as_they_would_be():
    """A give-up rule at the best held-out accuracy of epoch 2 stops every run below it there; the others go on."""
    recipe = replace(TINY, modulus=11, n_layers=1, normalization_type=None, train_fraction=0.8, batch_size=4, lr=1e-2)
    recipe = replace(recipe, d_model=64, d_mlp=128, weight_decay=1.0, epochs=3)
    runs = train_seeds(recipe, [0, 1, 2])
    floor = max(r.history[1]["test_accuracy"] for r in runs)
    behind = {r.seed for r in runs if r.history[1]["test_accuracy"] < floor}
    assert 0 < len(behind) < len(runs)  # these seeds: at least one run on each side
    stopped = train_seeds(recipe, [0, 1, 2], Levers(give_up=((2, floor),)))
    for before, after in zip(runs, stopped, strict=True):
        if before.seed in behind:
            assert after.outcome == "gave up" and len(after.history) == 2
        else:
            assert after.outcome == "ran out" and len(after.history) == 3
            assert torch.allclose(after.state["embed.weight"], before.state["embed.weight"], atol=1e-6)


def test_a_run_at_full_held_out_accuracy_for_the_patience_stops_as_trained():
    """p = 3 (7 training inputs, 2 held out): seed 0 reaches 100% held-out, loses it, then holds it."""
    recipe = Recipe(
        modulus=3, n_layers=1, n_heads=2, d_model=32, d_mlp=64, normalization_type=None, train_fraction=0.8,
        batch_size=2, lr=1e-2, weight_decay=1.0, epochs=200, patience=2,
    )  # fmt: skip
    (run,) = train_seeds(recipe, [0])
    accuracy = [r["test_accuracy"] for r in run.history]
    assert run.outcome == "trained", accuracy
    assert accuracy[-2:] == [1.0, 1.0] and accuracy[-3] < 1.0
    assert accuracy[run.first_perfect - 1] == 1.0 and all(a < 1 for a in accuracy[: run.first_perfect - 1])
    assert run.final["test_accuracy"] == 1.0


EXITS = replace(TINY, lr=3e-3, batch_size=8, epochs=6, decay_scores=False, decay_on_exit=1.0)  # leaves at epoch 4


@pytest.mark.slow
def test_the_decay_switched_on_at_the_plateau_exit_is_the_same_in_both_trainers():
    """train.train and the stack leave the plateau at the same epoch, switch the decay there, spare the queries and
    keys, and end with the same logits; without the switch, or decaying the queries and keys, the logits differ."""
    (run,) = train_seeds(EXITS, [0])
    trained = train(EXITS, lean=True)
    assert trained.config["training"]["plateau_left_epoch"] == run.left_plateau == 4
    with torch.no_grad():
        expected = Forward(trained.model)(all_inputs(Task(EXITS.modulus)))
    assert torch.allclose(logits_of(EXITS, run.state), expected, atol=1e-4)
    for other in (replace(EXITS, decay_on_exit=None), replace(EXITS, decay_scores=True)):
        assert not torch.allclose(alone(other), expected, atol=1e-3)


def test_stablemax_gives_the_probabilities_of_its_definition():
    """s(0) = 1, s(1) = 2, s(-1) = 1/2: probabilities 1/3.5, 2/3.5, 0.5/3.5; the order of the logits is kept."""
    log_p = stablemax_log_p(torch.tensor([[0.0, 1.0, -1.0]], dtype=torch.float64))
    assert torch.allclose(log_p.exp(), torch.tensor([[1 / 3.5, 2 / 3.5, 0.5 / 3.5]], dtype=torch.float64))
    wide = torch.randn(5, 7, dtype=torch.float64) * 30
    assert torch.allclose(stablemax_log_p(wide).exp().sum(-1), torch.ones(5, dtype=torch.float64))
    assert torch.equal(stablemax_log_p(wide).argmax(-1), wide.argmax(-1))


def test_the_orthogonal_gradient_has_no_part_along_each_runs_weight_and_keeps_its_norm():
    weight = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    weight.grad = torch.randn(3, 4, 5, dtype=torch.float64)
    before = weight.grad.clone()
    orthogonalise_({"w": weight})
    for run in range(3):
        g, w = weight.grad[run].flatten(), weight[run].detach().flatten()
        assert abs(float(g @ w)) < 1e-10 * float(g.norm() * w.norm())
        assert torch.isclose(g.norm(), before[run].norm())
        assert not torch.allclose(g, before[run].flatten())
