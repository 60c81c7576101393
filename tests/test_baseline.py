"""The untrained baseline is the model training starts from: the same init, the recipe's initial unembedding
scale included, measured the same way; the cache keys it by what that start point depends on."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from reporter.analysis import measure_baseline
from reporter.cache_keys import baseline_reads
from reporter.measure.capture import capture
from reporter.measure.causal import Interventions, mean_ablation
from reporter.model import keys
from reporter.model.build import build_model
from reporter.model.checkpoint import read_checkpoint, save_checkpoint
from reporter.model.recipe import Recipe, initial_unembed_scale
from reporter.model.train import initial_model, train

RECIPE = Recipe(modulus=7, n_layers=1, n_heads=2, d_model=16, d_mlp=16, epochs=1, batch_size=64, seed=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-epoch run of the trainer, the parameters it handed its optimiser before the first step, and its
    checkpoint's files."""
    seen = []
    real = torch.optim.AdamW

    def recording(params, **kw):
        params = list(params)
        seen.extend(p.detach().clone() for p in params)
        return real(params, **kw)

    torch.optim.AdamW = recording
    try:
        result = train(RECIPE)
    finally:
        torch.optim.AdamW = real
    folder = tmp_path_factory.mktemp("baseline") / "ckpt"
    folder.mkdir()
    save_checkpoint(result.model, result.config, folder)
    return result, seen, read_checkpoint(folder)


def test_the_baseline_model_is_the_trainers_model_at_step_0(trained):
    _, step0, files = trained
    start = initial_model(files.config["model"], initial_unembed_scale(files.training.recipe))
    assert len(step0) == len(list(start.parameters()))
    for before, mine in zip(step0, start.parameters(), strict=True):
        assert torch.equal(before, mine.detach())
    # The plain build of the config (the old baseline) is not it: the recipe scales the initial unembedding.
    plain, mine = build_model(files.config["model"]).state_dict(), start.state_dict()
    assert [key for key in mine if not torch.equal(mine[key], plain[key])] == [keys.weight(keys.UNEMBED)]
    assert torch.allclose(mine[keys.weight(keys.UNEMBED)], RECIPE.unembed_scale * plain[keys.weight(keys.UNEMBED)])


def test_the_baseline_measures_the_step_0_model(trained):
    result, step0, files = trained
    baseline = measure_baseline(files.config["model"], result.task, files.training)
    model = build_model(files.config["model"])
    with torch.no_grad():
        for parameter, before in zip(model.parameters(), step0, strict=True):
            parameter.copy_(before)
    model.eval()
    model.to(torch.float64, print_details=False)
    clean = capture(model, result.task)
    interventions = Interventions(model, clean)
    expected = [interventions.effect(mean_ablation(clean, 0, head)).delta_loss for head in range(RECIPE.n_heads)]
    assert [e.delta_loss for e in baseline.ablations] == pytest.approx(expected, abs=1e-12)
    assert (baseline.correct == clean.correct).all()


def test_the_cached_baseline_is_keyed_by_the_start_points_unembedding_scale(trained, tmp_path):
    *_, files = trained
    config = json.loads(files.config_bytes)
    config["training"]["recipe"]["unembed_scale"] = 1.0
    other = tmp_path / "ckpt"
    other.mkdir()
    (other / "config.json").write_text(json.dumps(config))
    (other / "model.safetensors").write_bytes(files.weights)
    moved = read_checkpoint(other)
    assert baseline_reads(files)["unembed_scale"] == RECIPE.unembed_scale == asdict(RECIPE)["unembed_scale"]
    assert baseline_reads(moved) != baseline_reads(files)
