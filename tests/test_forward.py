"""The lean training forward computes what TransformerLens' forward computes at `=`, on every input."""

from __future__ import annotations

import pytest
import torch

from reporter.model.build import build_model, model_config
from reporter.model.checkpoint import load_checkpoint
from reporter.model.engine import Forward, replayable
from reporter.model.task import EQUALS_POS, Task, all_inputs
from reporter.resources import DEFAULT_CHECKPOINT


def largest_difference(model, tokens) -> float:
    with torch.no_grad():
        return float((model(tokens)[:, EQUALS_POS] - Forward(model)(tokens)).abs().max())


@pytest.mark.slow
def test_the_shipped_model_gives_the_same_logits_on_all_inputs():
    loaded = load_checkpoint(DEFAULT_CHECKPOINT)
    assert replayable(loaded.model.cfg)
    assert largest_difference(loaded.model, all_inputs(loaded.task)) < 1e-5


@pytest.mark.parametrize("norm", ["LN", "LNPre", "RMS", "RMSPre", None])
@pytest.mark.parametrize("act", ["relu", "gelu_new", "solu"])
def test_every_norm_and_activation_it_claims_gives_the_same_logits(norm, act):
    task = Task(13)
    torch.manual_seed(1)
    config = model_config(task, n_layers=2, n_heads=2, d_model=16, d_mlp=32, act_fn=act, normalization_type=norm)
    model = build_model(config)
    with torch.no_grad():
        for parameter in model.parameters():  # trained weights are not at their init: move every one
            parameter.add_(0.3 * torch.randn_like(parameter))
    assert largest_difference(model, all_inputs(task)) < 1e-5


def test_gradients_reach_the_bridges_own_parameters():
    task = Task(7)
    model = build_model(model_config(task, n_layers=2, n_heads=2, d_model=8, d_mlp=16))
    Forward(model)(all_inputs(task)).sum().backward()
    reached = [name for name, p in model.state_dict(keep_vars=True).items() if p.requires_grad and p.grad is not None]
    trainable = [name for name, p in model.state_dict(keep_vars=True).items() if p.requires_grad]
    assert reached == trainable
