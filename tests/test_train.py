"""`modreport train`: a tiny model learns the task, and the checkpoint keeps contract 2."""

from __future__ import annotations

import json
import shutil

from safetensors.torch import load_file

from reporter.checkpoint import load_checkpoint
from reporter.task import all_inputs, answers
from tests.conftest import TINY_TRAIN, invoke


def test_tiny_model_reaches_full_heldout_accuracy(tiny_checkpoint):
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["training"]["final"]["test_accuracy"] == 1.0
    loaded = load_checkpoint(tiny_checkpoint)
    tokens = all_inputs(loaded.task)
    predicted = loaded.model(tokens)[:, -1, :].argmax(-1)
    assert (predicted == answers(loaded.task, tokens)).float().mean() == 1.0


def test_training_stops_once_heldout_accuracy_holds(tiny_checkpoint):
    training = json.loads((tiny_checkpoint / "config.json").read_text())["training"]
    history = training["history"]
    patience = training["recipe"]["patience"]
    assert training["stopped_early"] and len(history) < 300
    assert [r["test_accuracy"] for r in history[-patience:]] == [1.0] * patience
    assert history[-patience - 1]["test_accuracy"] < 1.0


def test_history_records_losses_accuracies_and_attention_per_layer(tiny_checkpoint):
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    record = config["training"]["history"][0]
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "wall_time"):
        assert isinstance(record[key], float)
    assert len(record["layers"]) == config["model"]["n_layers"]
    layer = record["layers"][0]
    assert 0 <= layer["entropy"] <= 1 and 0.25 <= layer["mean_max"] <= 1


def test_config_names_task_and_split(tiny_checkpoint):
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["task"] == {"modulus": 11, "tokens": {"plus": 11, "equals": 12}, "sequence": ["a", "+", "b", "="]}
    assert config["model"]["d_vocab"] == 13 and config["model"]["d_vocab_out"] == 11
    split = config["training"]["split"]
    assert split["n_train"] + split["n_test"] == 121


def test_same_seed_gives_byte_identical_weights(tiny_checkpoint, tmp_path):
    result = invoke("train", "--out", tmp_path / "again", *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (
        tiny_checkpoint / "model.safetensors"
    ).read_bytes()


def test_save_and_load_give_identical_logits(tiny_checkpoint):
    from reporter.model import build_model

    loaded = load_checkpoint(tiny_checkpoint)
    fresh = build_model(loaded.config["model"])
    fresh.load_state_dict(load_file(str(tiny_checkpoint / "model.safetensors")))
    tokens = all_inputs(loaded.task)
    assert (fresh(tokens) == loaded.model(tokens)).all()


def test_train_refuses_existing_output_without_force(tiny_checkpoint):
    before = (tiny_checkpoint / "model.safetensors").read_bytes()
    result = invoke("train", "--out", tiny_checkpoint, *TINY_TRAIN)
    assert result.exit_code == 1
    assert "already holds a checkpoint; pass --force to replace it" in result.output
    assert (tiny_checkpoint / "model.safetensors").read_bytes() == before


def test_force_replaces_an_existing_checkpoint(tiny_checkpoint, tmp_path):
    out = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, out)
    before = (out / "model.safetensors").read_bytes()
    result = invoke("train", "--out", out, *TINY_TRAIN[:-2], "--seed", "1", "--epochs", "2", "--force")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [".modreport", "config.json", "model.safetensors"]
    assert (out / "model.safetensors").read_bytes() != before


def test_force_never_replaces_a_folder_that_holds_other_files(tmp_path):
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = invoke("train", "--out", out, *TINY_TRAIN[:-2], "--seed", "1", "--epochs", "2", "--force")
    assert result.exit_code == 1
    assert "holds files modreport did not write" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
