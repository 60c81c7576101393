"""The forward engine: every kind of typed edit gives the same losses through the float64 replay and through
TransformerLens' run_with_hooks, a no-op edit gives the clean logits, and a block's mean-ablation matters
exactly where the block was built to matter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reporter.measure.capture import capture
from reporter.measure.causal import Interventions, block_mean_ablation, donors, mean_ablation
from reporter.model.build import build_model, model_config
from reporter.model.edits import BlockOutput, HeadOutput, HeadPattern, ResidualEdit
from reporter.model.engine import HookedRun, Replay
from reporter.model.task import Task
from tests.handmade import handmade_model

P = 11


@pytest.fixture(scope="module")
def random_model():
    """A small model with norms and real MLPs, its weights moved off their init, and its clean capture."""
    task = Task(P)
    torch.manual_seed(3)
    config = model_config(task, n_layers=2, n_heads=2, d_model=16, d_mlp=32, act_fn="gelu", normalization_type="LN")
    model = build_model(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    model.eval()
    model.to(torch.float64, print_details=False)
    return model, task, capture(model, task)


def direction_removed(direction: torch.Tensor):
    """A value that takes ``direction``'s component out of a residual [rows, d_model]: a change, not a swap."""
    unit = direction / direction.norm()
    return lambda rows, x: x - (x @ unit)[:, None] * unit


DIRECTION = torch.linspace(-1.0, 2.0, 16, dtype=torch.float64)  # [d_model]
EDITS = {  # name -> edits built from the clean capture
    "head z at =, patched from another a": lambda c: [
        HeadOutput(1, 0, lambda rows, z: c.z[donors(P, "a")[rows], 1, 0])
    ],
    "head z everywhere, mean": lambda c: [mean_ablation(c, 0, 1, everywhere=True)],
    "head pattern, uniform": lambda c: [HeadPattern(0, 1, lambda rows, w: torch.full_like(w, 0.25))],
    "attention output at =, mean": lambda c: [block_mean_ablation(c, 0, "attn")],
    "attention output everywhere, mean": lambda c: [block_mean_ablation(c, 0, "attn", everywhere=True)],
    "MLP output at =, mean": lambda c: [block_mean_ablation(c, 1, "mlp")],
    "MLP output everywhere, mean": lambda c: [block_mean_ablation(c, 0, "mlp", everywhere=True)],
    "residual after embed, a direction removed": lambda c: [ResidualEdit("embed", direction_removed(DIRECTION))],
    "residual after attn0, a direction removed": lambda c: [ResidualEdit("attn0", direction_removed(DIRECTION))],
    "residual after mlp0, halved": lambda c: [ResidualEdit("mlp0", lambda rows, x: 0.5 * x)],
    "residual after mlp1, the final norm's input": lambda c: [ResidualEdit("mlp1", direction_removed(DIRECTION))],
    "a head pair": lambda c: [mean_ablation(c, 0, 0), mean_ablation(c, 1, 1)],
    "a mean everywhere and a patch at = from another input": lambda c: [
        block_mean_ablation(c, 0, "mlp", everywhere=True),
        HeadOutput(1, 0, lambda rows, z: c.z[donors(P, "b")[rows], 1, 0]),
    ],
    "head z everywhere, a value that differs by input": lambda c: [
        HeadOutput(0, 1, lambda rows, z: z * (1.0 + (rows % 3)[:, None, None]), everywhere=True)
    ],
    "a pattern and an MLP in different blocks": lambda c: [
        HeadPattern(1, 1, lambda rows, w: torch.full_like(w, 0.25)),
        block_mean_ablation(c, 0, "mlp"),
    ],
}


@pytest.mark.parametrize("name", EDITS)
def test_every_kind_of_edit_gives_the_same_loss_through_the_replay_and_the_hooks(random_model, name):
    model, task, clean = random_model
    edits = EDITS[name](clean)
    everything = slice(0, task.n_inputs)
    replayed = F.cross_entropy(Replay(model, clean).logits(everything, edits), clean.targets, reduction="none")
    hooked = F.cross_entropy(HookedRun(model, task).logits(everything, edits), clean.targets, reduction="none")
    assert (replayed - hooked).abs().max() < 1e-8
    assert (hooked - clean.loss).abs().max() > 1e-6  # the edit did something, so agreeing is not trivial


@pytest.mark.parametrize("name", [name for name in EDITS if "everywhere" in name])
def test_edits_everywhere_replayed_in_chunks_that_split_a_value_of_a_match_the_hooks(random_model, name):
    """With means everywhere the replay runs the positions before b once per value of a in each chunk: chunks of
    5 rows start and end inside a run of p rows that share a, and must give the hooks' logits all the same."""
    model, task, clean = random_model
    edits = EDITS[name](clean)
    replay, hooked = Replay(model, clean), HookedRun(model, task)
    for start in range(0, task.n_inputs, 5):
        rows = slice(start, min(start + 5, task.n_inputs))
        assert (replay.logits(rows, edits) - hooked.logits(rows, edits)).abs().max() < 1e-10, rows


NO_OPS = {
    "head z at =": lambda: HeadOutput(1, 1, lambda rows, z: z),
    "head z everywhere": lambda: HeadOutput(0, 0, lambda rows, z: z, everywhere=True),
    "head pattern": lambda: HeadPattern(0, 0, lambda rows, w: w),
    "attention output": lambda: BlockOutput(1, "attn", lambda rows, out: out),
    "MLP output everywhere": lambda: BlockOutput(0, "mlp", lambda rows, out: out, everywhere=True),
    "residual after embed": lambda: ResidualEdit("embed", lambda rows, x: x),
    "residual after attn1": lambda: ResidualEdit("attn1", lambda rows, x: x),
}


@pytest.mark.parametrize("name", NO_OPS)
def test_an_edit_that_changes_nothing_gives_the_clean_logits(random_model, name):
    model, task, clean = random_model
    everything = slice(0, task.n_inputs)
    for engine in (Replay(model, clean), HookedRun(model, task)):
        assert (engine.logits(everything, [NO_OPS[name]()]) - clean.logits).abs().max() < 1e-10


def test_mean_ablating_a_block_matters_where_it_writes_the_operand_and_nowhere_else():
    # layer 0 copies a into a slot the readout reads; layer 1's heads write nothing; the MLPs are zero
    model, _, task = handmade_model(P, [["a:copy", "equals:constant"], ["b", "plus"]], readout=True)
    interventions = Interventions(model, capture(model, task))
    c = interventions.capture
    assert interventions.checks.replay
    for everywhere in (False, True):  # the readout reads what layer 0 copied: the loss moves (either way)
        assert abs(interventions.effect(block_mean_ablation(c, 0, "attn", everywhere)).delta_loss) > 0.01
    for layer, block in ((1, "attn"), (0, "mlp"), (1, "mlp")):
        for everywhere in (False, True):
            effect = interventions.effect(block_mean_ablation(c, layer, block, everywhere))
            assert abs(effect.delta_loss) < 1e-12, (layer, block, everywhere)


def test_an_edit_of_a_block_the_model_does_not_have_is_refused(random_model):
    model, _, clean = random_model
    with pytest.raises(ValueError, match="block 2"):
        Replay(model, clean).logits(slice(0, 4), [HeadOutput(2, 0, lambda rows, z: z)])
    with pytest.raises(ValueError, match="'attn' or 'mlp'"):
        BlockOutput(0, "norm", lambda rows, out: out)
    with pytest.raises(ValueError, match="after 'embed'"):
        ResidualEdit("unembed", lambda rows, x: x)
