"""The shipped checkpoint and the committed site/: the model has learned the task with attention
it learned itself, and site/ is exactly what `modreport build` writes for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reporter.resources import DEFAULT_CHECKPOINT
from tests.conftest import invoke

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_checkpoint_answers_every_input(tmp_path):
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "accuracy on all 12769 inputs: 100.00%" in result.output


# Recipe fields added after the shipped runs were trained, at the values that leave training as it was
ADDED = {"decay_on_exit": None, "decay_scores": True}


def test_shipped_checkpoint_was_trained_by_the_default_recipe():
    from dataclasses import asdict

    from reporter.model.recipe import Recipe

    training = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())["training"]
    assert {**ADDED, **training["recipe"]} == json.loads(json.dumps(asdict(Recipe())))
    assert training["final"]["test_accuracy"] == 1.0


def test_several_runs_of_the_default_recipe_ship_each_with_its_own_seed():
    from dataclasses import asdict, replace

    from reporter.model.recipe import Recipe
    from reporter.resources import shipped_runs

    runs = shipped_runs()
    counted = {
        r["checkpoint"]: r["counted"] for r in json.loads((ROOT / "site" / "comparison.json").read_text())["runs"]
    }
    seeds = []
    for run in runs:
        training = json.loads((run / "config.json").read_text())["training"]
        assert {**ADDED, **training["recipe"]} == json.loads(
            json.dumps(asdict(replace(Recipe(), seed=training["seed"])))
        )
        assert run.name == ("default" if training["seed"] == Recipe().seed else f"seed-{training['seed']}")
        # a run that has not learned the task ships only as one the Across runs page leaves out of its counts
        assert counted[run.name] == (training["final"]["test_accuracy"] == 1.0), f"{run.name} is counted wrongly"
        seeds.append(training["seed"])
    assert len(runs) >= 5 and sorted(seeds) == list(range(len(runs)))  # seeds 0..n-1, each once


@pytest.mark.slow
def test_committed_site_is_what_build_writes(shipped_build):
    site, _ = shipped_build
    fresh = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    committed = {p.relative_to(ROOT / "site"): p.read_bytes() for p in (ROOT / "site").rglob("*") if p.is_file()}
    assert sorted(fresh) == sorted(committed)
    for name in fresh:
        assert fresh[name] == committed[name], f"site/{name} differs from a fresh build: run modreport build"
