"""`modreport train`: a tiny model learns the task, and the checkpoint keeps contract 2."""

from __future__ import annotations

import json
import shutil

from safetensors.torch import load_file

from reporter.model.checkpoint import load_checkpoint
from reporter.model.task import all_inputs, answers
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
    from reporter.model.build import build_model

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


def test_a_run_that_ends_below_full_heldout_accuracy_says_so_and_its_report_warns(tmp_path):
    out = tmp_path / "short"
    result = invoke("train", "--out", out, *TINY_TRAIN[:-4], "--epochs", "3", "--seed", "0")
    assert result.exit_code == 0, result.output
    assert "held-out accuracy never reached 100%" in result.output
    assert "Held-out accuracy ended below 100%" in result.output and "the checkpoint is valid" in result.output
    report = tmp_path / "r.json"
    analyzed = invoke("analyze", "--checkpoint", out, "--json", report)
    assert analyzed.exit_code == 0
    assert json.loads(report.read_text())["warning"]["code"] == "unlearned"
    assert "has not learned the task" in analyzed.output  # worded by the pages' own macro


def test_a_model_right_on_nearly_every_input_but_not_every_held_out_one_is_warned_about(tiny_checkpoint):
    from dataclasses import replace

    from reporter.analysis import Options, analyse
    from reporter.publish.render import terminal

    analysis = analyse(tiny_checkpoint, Options(sweep=False))
    assert analysis.warning is None
    almost = replace(analysis, stats=replace(analysis.stats, accuracy={"all": 0.996, "train": 1.0, "test": 0.974}))
    assert almost.warning.code == "held_out_fails"
    assert terminal("warning_text", almost.warning).startswith(
        "The model answers 97.4% of the inputs it never trained on correctly (99.6%"
    )


def test_train_prints_when_it_reached_full_heldout_accuracy_and_how_long_it_took(tiny_checkpoint, tmp_path):
    result = invoke("train", "--out", tmp_path / "again", *TINY_TRAIN)
    first = json.loads((tiny_checkpoint / "config.json").read_text())["training"]["first_perfect_epoch"]
    assert f"held-out accuracy first reached 100% at epoch {first}" in result.output
    assert any(line.startswith("Trained ") and " s; " in line for line in result.output.splitlines())
