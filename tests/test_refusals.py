"""Bad input is refused with one sentence, a non-zero exit, no traceback, and nothing written."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import TINY_TRAIN, invoke


@pytest.mark.parametrize(
    "options, message",
    [
        (["--modulus", "1"], "the modulus must be at least 2"),
        (["--train-fraction", "1.0"], "the train fraction must lie strictly between 0 and 1"),
        (["--train-fraction", "0"], "the train fraction must lie strictly between 0 and 1"),
        (["--act", "tanh"], "Invalid value for '--act': 'tanh' is not one of 'relu'"),
        (["--norm", "batchnorm"], "Invalid value for '--norm': 'batchnorm' is not one of 'none', 'ln'"),
    ],
)
def test_train_refuses_bad_recipe(tmp_path, options, message):
    out = tmp_path / "never"
    result = invoke("train", "--out", out, *TINY_TRAIN, *options)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "build"])
def test_a_shipped_run_is_never_an_output_even_with_force(tiny_checkpoint, tmp_path, monkeypatch, command):
    """The shipped runs are inputs of every report: `--force` replaces a checkpoint of the user's, never one of
    them. (The shipped folder is stood in for by a copy, so that a failure here cannot damage the real one.)"""
    import reporter.resources

    shipped = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, shipped / "seed-4")
    monkeypatch.setattr(reporter.resources, "CHECKPOINTS", shipped)
    before = {p.name: p.read_bytes() for p in (shipped / "seed-4").iterdir()}
    arguments = {
        "train": ["train", "--out", shipped / "seed-4", "--force", *TINY_TRAIN],
        "build": ["build", "--train", "--force", "--checkpoint", shipped / "seed-4", "--out", tmp_path / "site"],
    }[command]
    result = invoke(*arguments)
    assert result.exit_code == 1, result.output
    assert "is part of modreport's shipped runs" in result.output
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in (shipped / "seed-4").iterdir()} == before


def copy_of(checkpoint, tmp_path):
    target = tmp_path / "ckpt"
    shutil.copytree(checkpoint, target)
    return target


def edit_config(directory, change):
    config = json.loads((directory / "config.json").read_text())
    change(config)
    (directory / "config.json").write_text(json.dumps(config))


def edit_weights(directory, change):
    weights = load_file(str(directory / "model.safetensors"))
    change(weights)
    save_file(weights, str(directory / "model.safetensors"))


BROKEN = {
    "missing config": (lambda d: (d / "config.json").unlink(), "config.json is missing"),
    "missing weights": (lambda d: (d / "model.safetensors").unlink(), "model.safetensors is missing"),
    "invalid json": (lambda d: (d / "config.json").write_text('{"model": '), "config.json is not valid JSON"),
    "truncated weights": (
        lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:500]),
        "model.safetensors is not a readable safetensors file",
    ),
    "garbage weights": (
        lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64),
        "is not a readable safetensors file",
    ),
    "unknown config key": (
        lambda d: edit_config(d, lambda c: c["model"].update(init_range=0.02)),
        "model config key 'init_range' is not a TransformerBridgeConfig field",
    ),
    "modulus mismatch": (
        lambda d: edit_config(d, lambda c: c["task"].update(modulus=13)),
        "task modulus 13 needs model d_vocab = 15, but the model has 13",
    ),
    "shape mismatch": (
        lambda d: edit_config(d, lambda c: c["model"].update(d_mlp=48)),
        "tensor 'blocks.0.mlp.in.weight' has shape [128, 64], the config needs [48, 64]",
    ),
    "missing tensor": (
        lambda d: edit_weights(d, lambda w: w.pop("pos_embed.weight")),
        "lacks tensor 'pos_embed.weight'",
    ),
    "extra tensor": (
        lambda d: edit_weights(d, lambda w: w.update(extra=torch.zeros(2))),
        "has tensor 'extra' that the config's model does not have",
    ),
    "wrong dtype": (
        lambda d: edit_weights(d, lambda w: w.update({"embed.weight": w["embed.weight"].double()})),
        "tensor 'embed.weight' is F64, the config needs F32 (float32)",
    ),
    "nan weights": (
        lambda d: edit_weights(d, lambda w: w["blocks.0.attn.q.weight"].__setitem__((0, 0), float("nan"))),
        "tensor 'blocks.0.attn.q.weight' contains NaN or infinite values",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_checkpoint_is_refused_with_one_sentence(tiny_checkpoint, tmp_path, case):
    directory = copy_of(tiny_checkpoint, tmp_path)
    damage, message = BROKEN[case]
    damage(directory)
    result = invoke("check", "--checkpoint", directory)
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_missing_checkpoint_directory_is_refused(tmp_path):
    result = invoke("check", "--checkpoint", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert "does not exist" in result.output
