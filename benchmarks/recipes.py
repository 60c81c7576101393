"""Benchmark: training recipes side by side, each on several seeds (one seed per setting misled before).

Each setting is a JSON object of Recipe fields that differ from the default. For every setting and seed:
the epoch of first 100% held-out accuracy (or the held-out accuracy reached), wall time, and the heads
with learned sharp attention (mean_max >= 0.6 over all inputs). One row per setting, then its median.

    .venv/bin/python benchmarks/recipes.py --seeds 0 1 2 3 --setting '{}' --setting '{"lr": 2e-3}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import fields, replace

import torch

from reporter.interpret.stats import compute_stats
from reporter.measure.capture import attention_over_all_inputs
from reporter.model.recipe import Recipe
from reporter.model.train import train

SHARP = 0.6


class GaveUp(Exception):
    """A screening run that had not reached 100% held-out by the epoch given to give up at."""


def run(recipe: Recipe, lean: bool = False, give_up: int = 0) -> dict:
    """Train once; what the tables report about the run. With ``give_up``, a run that has not reached 100%
    held-out by that epoch is stopped (screening only: it counts as never)."""

    def watch(record: dict) -> None:
        print(
            f"    epoch {record['epoch']}: loss {record['train_loss']:.3f}, train {record['train_accuracy']:.1%}, "
            f"held out {record['test_accuracy']:.1%}, "
            f"last layer's = constant {record['layers'][-1]['constant_share']:.2f}",
            file=sys.stderr,
            flush=True,
        )
        if give_up and record["epoch"] >= give_up and record["test_accuracy"] < 1:
            raise GaveUp(record)

    start = time.perf_counter()
    try:
        result = train(recipe, watch, lean=lean)
    except GaveUp as stopped:
        record = stopped.args[0]
        return {
            "first": None,
            "epochs": record["epoch"],
            "seconds": time.perf_counter() - start,
            "test_accuracy": record["test_accuracy"],
            "train_accuracy": record["train_accuracy"],
            "sharp": 0,
            "heads": 0,
            "gave_up": True,
        }
    seconds = time.perf_counter() - start
    training = result.config["training"]
    stats = compute_stats(attention_over_all_inputs(result.model, result.task), [])
    return {
        "first": training["first_perfect_epoch"],
        "epochs": len(result.history),
        "seconds": seconds,
        "test_accuracy": training["final"]["test_accuracy"],
        "train_accuracy": training["final"]["train_accuracy"],
        "sharp": sum(h.mean_max >= SHARP for h in stats.heads),
        "heads": len(stats.heads),
        "gave_up": False,
    }


def cell(outcome: dict) -> str:
    if outcome["gave_up"]:
        return (
            f"not by epoch {outcome['epochs']}: {outcome['test_accuracy']:.1%} held out, "
            f"{outcome['train_accuracy']:.1%} train"
        )
    if outcome["first"]:
        return f"{outcome['first']} ({outcome['seconds']:.0f} s, {outcome['sharp']}/{outcome['heads']} sharp)"
    return (
        f"never: {outcome['test_accuracy']:.1%} held out, {outcome['train_accuracy']:.1%} train "
        f"({outcome['sharp']}/{outcome['heads']} sharp)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--setting", action="append", default=[], help="JSON object of Recipe overrides")
    parser.add_argument("--lean", action="store_true", help="train through the lean forward (model/engine.py)")
    parser.add_argument("--give-up", type=int, default=0, help="stop a run not at 100%% held-out by this epoch")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (results do not depend on it)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| setting | {' | '.join(f'seed {s}' for s in args.seeds)} | median epochs |", flush=True)
    print(f"| --- | {' | '.join('---:' for _ in args.seeds)} | ---: |", flush=True)
    for setting in args.setting or ["{}"]:
        overrides = json.loads(setting)
        unknown = sorted(set(overrides) - {f.name for f in fields(Recipe)})
        if unknown:
            parser.error(f"{unknown[0]!r} is not a Recipe field")
        outcomes = []
        for seed in args.seeds:
            outcomes.append(run(replace(Recipe(), seed=seed, **overrides), args.lean, args.give_up))
            print(f"  {setting} seed {seed}: {cell(outcomes[-1])}", file=sys.stderr, flush=True)
        epochs = [o["first"] or 10 * o["epochs"] for o in outcomes]  # a failed run counts as far past the end
        median = statistics.median(epochs)
        print(f"| `{setting}` | {' | '.join(cell(o) for o in outcomes)} | {median:g} |", flush=True)


if __name__ == "__main__":
    main()
