"""The Algorithm page and the circuit's verdicts, on hand-made models whose circuit is known by construction.

`lookup_model` routes `a` and `b` to `=` in layer 0 (the two b-heads each carry half: a redundant pair) and
multiplies in MLP 1, a lookup table, after which the answer is readable. `answer_gated_model` forms the answer in
layer 1's attention: where its heads look depends on both operands, and no MLP is needed. A one-layer model
whose unembedding reads nothing has learned nothing.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from reporter.interpret.circuit import forms_products
from reporter.interpret.thresholds import Thresholds
from reporter.model.checkpoint import save_checkpoint
from tests.circuit_models import frequency_model, lookup_model
from tests.conftest import invoke
from tests.handmade import answer_gated_model


def saved(directory, model, config, task):
    model.to(torch.float32, print_details=False)
    directory.mkdir(parents=True)
    save_checkpoint(model, {"model": config, "task": task.to_json()}, directory)
    return directory


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """name -> (the Markdown pages' folder, report.json) of three hand-made models, built once."""
    root = tmp_path_factory.mktemp("algorithm")
    lookup, lookup_task = lookup_model(7)
    gated, gated_config, gated_task = answer_gated_model(11)
    one, one_task = frequency_model(11, 2, switch=True)
    checkpoints = {
        "lookup": saved(root / "lookup", lookup, lookup.checkpoint_config, lookup_task),
        "gated": saved(root / "gated", gated, gated_config, gated_task),
        "one_layer": saved(root / "one", one, one.checkpoint_config, one_task),
    }
    found = {}
    for name, checkpoint in checkpoints.items():
        out = root / f"{name}-site"
        result = invoke("build", "--checkpoint", checkpoint, "--out", out, "--no-html")
        assert result.exit_code == 0, result.output
        found[name] = (out, json.loads((out / "report.json").read_text()))
    return found


def page(sites, name: str, file: str = "algorithm.md") -> str:
    return (sites[name][0] / file).read_text()


def numbers_in(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers_in(v)]
    if isinstance(value, list):
        return [x for v in value for x in numbers_in(v)]
    return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


@pytest.mark.slow
def test_two_models_with_different_circuits_get_different_algorithms(sites):
    lookup, gated = page(sites, "lookup"), page(sites, "gated")
    assert "MLP 1 multiplies `a` and `b`" in lookup and "it makes the products itself" in lookup
    assert "readable after MLP 1" in lookup
    assert "L0H1 and L0H2 cost" in lookup  # each alone is minor: only together do they show their work
    assert "Attention itself multiplies here" in gated and "multiplies `a` and `b`" not in gated
    assert "hardly needs MLP 0 and MLP 1" in gated  # its MLPs write nothing
    kinds = {name: [s["kind"] for s in sites[name][1]["algorithm"]] for name in ("lookup", "gated")}
    assert kinds["lookup"] != kinds["gated"] and "redundant" in kinds["lookup"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lookup", "gated", "one_layer"])
def test_every_number_on_the_algorithm_page_is_in_report_json(sites, name):
    text = "\n".join(line for line in page(sites, name).splitlines() if not line.startswith("!["))  # not the figure
    values = numbers_in(sites[name][1])
    quoted = re.findall(r"(?<![\w.])(\d+\.\d+)(%?)", text)
    assert quoted
    for number, percent in quoted:
        digits = len(number.split(".")[1])
        shown = {f"{100 * v:.{digits}f}" for v in values} if percent else {f"{v + 0.0:.{digits}f}" for v in values}
        assert number in shown, f"{number}{percent} on the {name} Algorithm page is not in its report.json"


@pytest.mark.slow
def test_a_one_layer_model_that_learned_nothing_says_so_and_has_no_later_stages(sites):
    text = page(sites, "one_layer")
    assert "Everything below describes an unfinished model" in text
    assert "layer 1" not in text and "MLP 1" not in text
    stages = [s["after"] for s in sites["one_layer"][1]["stages"]]
    assert stages == ["embed", "attn0", "mlp0"]
    assert "never becomes readable" in text


@pytest.mark.slow
def test_the_stage_table_shows_where_the_answer_becomes_readable(sites):
    layers = page(sites, "lookup", "layers.md").split("## The residual stream at `=`, stage by stage")[1]
    row = next(line for line in layers.splitlines() if line.startswith("| MLP 1 |"))
    assert row.endswith("| **100.0%** |")  # readable only after the last MLP, and marked there
    before = next(line for line in layers.splitlines() if line.startswith("| Layer 1's attention |"))
    assert "**" not in before


def test_which_block_multiplies_is_decided_by_its_kind():
    t = Thresholds()
    assert forms_products("attention", 0.8, 0.1, t)  # with mean patterns the answer is gone: attention multiplies
    assert not forms_products("attention", 0.8, 0.7, t)  # the answer came in through its values
    assert forms_products("mlp", 0.8, 0.7, t)  # from additive input it still makes the answer: it multiplies
    assert not forms_products("mlp", 0.8, 0.1, t)  # it needs products already in its input
    assert not forms_products("mlp", 0.05, 0.05, t)  # no answer to speak of
