"""Benchmark: statistics over all p² inputs against a bare forward pass, side by side.

Each measurement runs in a fresh subprocess so that its peak resident memory is its own.
Targets (issue 3): statistics over all 12,769 inputs of the shipped model in at most 1.5x
the time of a bare forward pass over the same inputs; p = 1009 (about a million inputs)
with peak memory at most 2 GB.

    .venv/bin/python benchmarks/analyse.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, resource, sys, time
import torch
from reporter.checkpoint import load_checkpoint
from reporter.model import build_model
from reporter.recipe import Recipe
from reporter.stats import attention_over_all_inputs, compute_stats, default_pairs
from reporter.task import Task, all_pairs, tokens_for
from dataclasses import replace

mode, source, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(2)
if source == "shipped":
    loaded = load_checkpoint("checkpoints/default")
    model, task = loaded.model, loaded.task
else:  # an untrained model of the default shape at modulus `source`: timing and memory only
    recipe = replace(Recipe(), modulus=int(source))
    model, task = build_model(recipe.model_config()), Task(int(source))
    model.eval()

def bare_forward():
    with torch.inference_mode():
        for start in range(0, task.n_inputs, 8192):
            model(tokens_for(task, *all_pairs(task, start, start + 8192)))

def statistics():
    compute_stats(attention_over_all_inputs(model, task), default_pairs(task.modulus))

run = {"forward": bare_forward, "stats": statistics}[mode]
if repeats > 1:
    run()  # warm-up; a single long run (p = 1009) needs none
times = []
for _ in range(repeats):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"best": min(times), "peak_mb": peak_mb, "inputs": task.n_inputs}))
"""


def measure(mode: str, source: str, repeats: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, mode, source, str(repeats)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for source, label in (("shipped", "shipped model, p = 113"), ("1009", "untrained 3x4, p = 1009")):
        repeats = args.repeats if source == "shipped" else 1
        forward = measure("forward", source, repeats)
        stats = measure("stats", source, repeats)
        rows.append(
            (
                label,
                forward["inputs"],
                forward["best"],
                stats["best"],
                stats["best"] / forward["best"],
                forward["peak_mb"],
                stats["peak_mb"],
            )
        )
    print(
        "| model | inputs | bare forward (s) | statistics (s) | ratio (target <= 1.5) | peak RSS forward "
        "(MB) | peak RSS statistics (MB, target <= 2048) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, n, fwd, st, ratio, mem_f, mem_s in rows:
        print(f"| {label} | {n} | {fwd:.3f} | {st:.3f} | {ratio:.2f} | {mem_f:.0f} | {mem_s:.0f} |")


if __name__ == "__main__":
    main()
