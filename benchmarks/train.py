"""Benchmark: the default recipe on seeds 0, 1 and 2, measured in one run.

For each seed: the epoch of first 100% held-out accuracy, epochs run, wall time, final
accuracy on all p² inputs, and how many heads learned sharp attention (mean_max >= 0.6
over all inputs; uniform attention over the 4 positions has 0.25), with where they look.
It also measures this machine's fp32 matmul rate and the fraction of it that training
reaches. Targets (issue 6): 100% held-out accuracy within 50 epochs for each seed; the
default run in at most 60 s.

    .venv/bin/python benchmarks/train.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from reporter.labels import label_heads
from reporter.model import weights_bytes
from reporter.recipe import Recipe
from reporter.stats import attention_over_all_inputs, compute_stats
from reporter.thresholds import Thresholds
from reporter.train import train

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


def flops_per_epoch(recipe: Recipe, n_train: int) -> float:
    """Forward + backward (3x forward) FLOPs of one epoch; the model computes all 4 positions."""
    d, d_mlp, p = recipe.d_model, recipe.d_mlp, recipe.modulus
    per_token = recipe.n_layers * (8 * d * d + 4 * d * d_mlp + 4 * 4 * d) + 2 * d * p
    return 3 * 4 * per_token * n_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    rate = matmul_rate()
    rows = []
    identical = None
    for seed in args.seeds:
        recipe = replace(Recipe(), seed=seed)
        start = time.perf_counter()
        result = train(recipe)
        seconds = time.perf_counter() - start
        training = result.config["training"]
        stats = compute_stats(attention_over_all_inputs(result.model, result.task), [])
        labels = label_heads(stats.heads, Thresholds())
        sharp = [(h, l) for h, l in zip(stats.heads, labels, strict=True) if h.mean_max >= SHARP]
        if seed == Recipe().seed:
            shipped = (ROOT / "checkpoints" / "default" / "model.safetensors").read_bytes()
            identical = weights_bytes(result.model) == shipped
        achieved = flops_per_epoch(recipe, training["split"]["n_train"]) * len(result.history) / seconds / 1e9
        rows.append(
            (
                seed,
                training["first_perfect_epoch"],
                len(result.history),
                seconds,
                stats.accuracy["all"],
                len(sharp),
                len(stats.heads),
                achieved,
                ", ".join(f"L{h.layer}H{h.head} {l.kind.value} {h.mean_max:.2f}" for h, l in sharp),
            )
        )
    print(
        f"machine: fp32 matmul {rate:.0f} GFLOP/s on {torch.get_num_threads()} threads; "
        f"one epoch = {flops_per_epoch(Recipe(), round(0.9 * 113**2)):.2e} FLOP"
    )
    if identical is not None:
        print(
            f"seed {Recipe().seed} weights byte-identical to checkpoints/default/model.safetensors: "
            f"{'yes' if identical else 'NO'}"
        )
    print()
    print(
        "| seed | first 100% held-out | epochs run | wall time (s) | accuracy, all inputs | heads mean_max "
        ">= 0.6 | training GFLOP/s (share of matmul) | sharp heads: label, mean_max |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for seed, first, epochs, seconds, accuracy, n_sharp, n_heads, achieved, detail in rows:
        print(
            f"| {seed} | {first if first else 'never'} | {epochs} | {seconds:.1f} | {accuracy:.2%} | "
            f"{n_sharp}/{n_heads} | "
            f"{achieved:.0f} ({achieved / rate:.0%}) | {detail} |"
        )


if __name__ == "__main__":
    main()
