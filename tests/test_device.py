"""--device: where the model runs. This machine has no GPU, so these tests check that the option flows
through every command, that CUDA is refused in one sentence where there is none, and that no stage makes a
tensor on torch's default device instead of the model's."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch

from reporter.cache import Cache
from reporter.cache_codec import encode
from reporter.cache_keys import baseline_reads, measurements_reads
from reporter.measurement import measure
from reporter.model.checkpoint import read_checkpoint
from tests.conftest import TINY_TRAIN, invoke
from tests.handmade import handmade_model

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def analysed(checkpoint, path, *options):
    result = invoke("analyze", "--checkpoint", checkpoint, "--json", path, "--no-cache", *options)
    assert result.exit_code == 0, result.output
    return path.read_bytes()


def test_device_cpu_gives_the_same_report_as_no_option(tiny_checkpoint, tmp_path):
    plain = analysed(tiny_checkpoint, tmp_path / "plain.json")
    on_cpu = analysed(tiny_checkpoint, tmp_path / "cpu.json", "--device", "cpu")
    assert plain == on_cpu
    assert json.loads(plain)["provenance"]["device"] == "cpu"


@NO_CUDA
def test_device_auto_picks_the_cpu_without_cuda(tiny_checkpoint, tmp_path):
    report = json.loads(analysed(tiny_checkpoint, tmp_path / "auto.json", "--device", "auto"))
    assert report["provenance"]["device"] == "cpu"
    assert "--device" not in report["provenance"]["command"]  # the CPU's report, as without the option


@NO_CUDA
@pytest.mark.parametrize("command", ["train", "analyze", "build", "compare"])
def test_device_cuda_without_cuda_is_one_sentence_and_nothing_written(command, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    arguments = {
        "train": ["--out", out, *TINY_TRAIN],
        "analyze": ["--checkpoint", tiny_checkpoint, "--json", out],
        "build": ["--checkpoint", tiny_checkpoint, "--out", out, "--no-html"],
        "compare": [tiny_checkpoint, tiny_checkpoint, "--json", out],
    }[command]
    result = invoke(command, *arguments, "--device", "cuda")
    assert result.exit_code == 2
    assert "--device cuda needs a CUDA GPU that torch can use, and this machine has none" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_training_with_device_cpu_writes_the_same_checkpoint(tiny_checkpoint, tmp_path):
    result = invoke("train", "--out", tmp_path / "again", *TINY_TRAIN, "--device", "cpu")
    assert result.exit_code == 0, result.output
    for name in ("model.safetensors", "config.json"):
        again, first = (tmp_path / "again" / name).read_bytes(), (tiny_checkpoint / name).read_bytes()
        assert again == first or (name == "config.json" and strip_times(again) == strip_times(first)), name


def strip_times(config: bytes) -> dict:
    """config.json without the wall-clock times of its history, which differ from run to run."""
    data = json.loads(config)
    for record in data["training"]["history"]:
        record.pop("wall_time")
    return data


def test_provenance_page_says_on_which_device_the_report_was_measured(built):
    assert "| measured on (torch device) | cpu |" in (built / "site" / "provenance.md").read_text()


def test_measurements_made_on_another_device_are_another_cache_entry(tiny_checkpoint, tmp_path):
    files, cache = read_checkpoint(tiny_checkpoint), Cache(tmp_path / "cache")
    for reads in (functools.partial(measurements_reads, key_frequency=0.1), baseline_reads):
        on = {device: reads(files, device=device) for device in ("cpu", "cuda")}
        assert cache.key(on["cpu"]) != cache.key(on["cuda"])


def test_no_stage_makes_its_tensors_on_the_default_device_instead_of_the_models():
    model, _, task = handmade_model(7, [["a", "b"], ["equals", "b"]], readout=True)
    model.to(torch.float64, print_details=False)
    expected = measure(model, task, 0.1, (0.5, 0))
    torch.set_default_device("meta")  # a tensor made without the model's device lands here and fails to mix
    try:
        measured = measure(model, task, 0.1, (0.5, 0))
    finally:
        torch.set_default_device(None)
    arrays: tuple[dict, dict] = ({}, {})
    assert encode(measured, arrays[0]) == encode(expected, arrays[1])  # every number, as the cache keeps it
    assert arrays[0].keys() == arrays[1].keys()
    assert all(np.array_equal(arrays[0][name], arrays[1][name]) for name in arrays[0])
