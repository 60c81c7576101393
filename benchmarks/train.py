"""Benchmark: the default recipe on every seed and modulus of issue 13, measured in one run.

For each run: the epoch of first 100% held-out accuracy, the epoch the layer-0 plateau was left (the
first epoch whose `=` residual is less than half input-independent), epochs run, wall time, accuracy on
all p² inputs, how many heads learned sharp attention (mean_max >= 0.6 over all inputs; uniform attention
over the 4 positions has 0.25), and the training loop's achieved rate against this machine's fp32 matmul
rate. Each p = 113 seed is trained twice: through the bridge's own forward (the default) and through
the lean forward, whose logits are the same and whose gradients differ by float rounding: a perturbation
that should not matter. Seed 0 must reproduce the shipped weights byte for byte.

    .venv/bin/python benchmarks/train.py [--seeds 0 1 ...] [--moduli 97 127] [--moduli-seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from reporter.interpret.stats import compute_stats
from reporter.measure.capture import attention_over_all_inputs
from reporter.model.build import weights_bytes
from reporter.model.recipe import PLATEAU, Recipe
from reporter.model.train import train

SHARP = 0.6
ROOT = Path(__file__).resolve().parent.parent


def matmul_rate(size: int = 1024, repeats: int = 20) -> float:
    """Best fp32 GFLOP/s of a size x size matmul on this machine's threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def flops_per_epoch(recipe: Recipe, n_train: int, lean: bool) -> float:
    """Forward + backward (3x forward) FLOPs of one epoch: every block at all 4 positions; the lean forward
    runs the last block's output projection and MLP, and the unembedding, at `=` only."""
    d, d_mlp, p, layers = recipe.d_model, recipe.d_mlp, recipe.modulus, recipe.n_layers
    attention = 4 * (6 * d * d + 4 * 4 * d)  # q, k, v at 4 positions; scores and mixing
    rest = 2 * d * d + 4 * d * d_mlp  # output projection and MLP, per position
    tail = (rest + 2 * d * p) if lean else 4 * (rest + 2 * d * p)
    forward = layers * attention + (layers - 1) * 4 * rest + tail
    return 3 * forward * n_train


def run(recipe: Recipe, lean: bool = False) -> dict:
    start = time.perf_counter()
    result = train(recipe, lean=lean)
    seconds = time.perf_counter() - start
    training = result.config["training"]
    stats = compute_stats(attention_over_all_inputs(result.model, result.task), [])
    # the plateau is left when the last layer's `=` input stops being mostly the same vector on every input
    left = next((r["epoch"] for r in result.history if r["layers"][-1]["constant_share"] < PLATEAU), None)
    return {
        "first": training["first_perfect_epoch"],
        "left": left,
        "epochs": len(result.history),
        "seconds": seconds,
        "accuracy": stats.accuracy["all"],
        "test": training["final"]["test_accuracy"],
        "sharp": sum(h.mean_max >= SHARP for h in stats.heads),
        "heads": len(stats.heads),
        "rate": flops_per_epoch(recipe, training["split"]["n_train"], lean) * len(result.history) / seconds / 1e9,
        "weights": weights_bytes(result.model) if recipe == Recipe() and not lean else None,
    }


def row(label: str, outcome: dict, rate: float) -> str:
    first = outcome["first"] or f"never ({outcome['test']:.1%} held out)"
    return (
        f"| {label} | {first} | {outcome['left']} | {outcome['epochs']} | {outcome['seconds']:.1f} | "
        f"{outcome['accuracy']:.2%} | {outcome['sharp']}/{outcome['heads']} | "
        f"{outcome['rate']:.0f} ({outcome['rate'] / rate:.0%}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--moduli", type=int, nargs="*", default=[97, 127])
    parser.add_argument("--moduli-seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    rate = matmul_rate()
    print(f"machine: fp32 matmul {rate:.0f} GFLOP/s on {torch.get_num_threads()} threads", flush=True)
    print(
        "| run | first 100% held-out | plateau left (epoch) | epochs run | wall time (s) | accuracy, all inputs "
        "| heads mean_max >= 0.6 | training GFLOP/s (share of matmul) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    firsts, seconds, succeeded, total = [], [], 0, 0
    shipped = (ROOT / "checkpoints" / "default" / "model.safetensors").read_bytes()
    identical = None
    for seed in args.seeds:
        for lean in (False, True):
            outcome = run(replace(Recipe(), seed=seed), lean=lean)
            label = f"p = 113, seed {seed}" + (", lean forward" if lean else "")
            print(row(label, outcome, rate), flush=True)
            total += 1
            succeeded += bool(outcome["first"])
            if not lean:
                firsts.append(outcome["first"] or 10**6)
                seconds.append(outcome["seconds"])
            if outcome["weights"] is not None:
                identical = outcome["weights"] == shipped
    for modulus in args.moduli:
        for seed in args.moduli_seeds:
            outcome = run(replace(Recipe(), modulus=modulus, seed=seed))
            print(row(f"p = {modulus}, seed {seed}", outcome, rate), flush=True)
            total += 1
            succeeded += bool(outcome["first"])
    print()
    print(f"runs reaching 100% held-out within the epoch limit: {succeeded} of {total}")
    if firsts:
        median, worst = statistics.median(firsts), max(firsts)
        said = {True: "never", False: None}
        print(
            f"p = 113: median epochs to 100% held-out {said[median >= 10**6] or f'{median:g}'}, "
            f"worst {said[worst >= 10**6] or worst}; median wall time {statistics.median(seconds):.1f} s"
        )
    if identical is not None:
        print(f"seed 0 weights byte-identical to checkpoints/default/model.safetensors: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
