"""Benchmark: the recipe search, every candidate judged on many seeds trained in one batched computation.

A candidate is a JSON object {"name": ..., "recipe": {Recipe fields}, "levers": {seeds.Levers fields}}. Each is
trained on every seed at once (reporter/model/seeds.py), a run stopping when it has been at 100% held-out for
the recipe's patience, or when it is far behind (``--give-up EPOCH:ACCURACY``, repeatable: held-out accuracy
below ACCURACY at EPOCH). Every run is recorded, failures included, as a JSON line in ``--out``; the table
shows per candidate how many seeds trained within the epochs, the median epochs to 100% held-out, and how many
of the trained runs keep the model worth analysing (decision 3 of issue 22: at least 2/3 of the heads sharp,
mean_max >= 0.6; in each layer after the first at most half its heads with more than 0.6 of their attention
from `=` on `=` itself).

    .venv/bin/python benchmarks/search.py --seeds 0 1 2 3 4 5 6 7 --give-up 35:0.1 \\
        --candidate '{"name": "shipped"}' --candidate '{"name": "dropout", "levers": {"dropout": 0.1}}'
    .venv/bin/python benchmarks/search.py --table /work/out/search.jsonl   # the table of recorded runs
    .venv/bin/python benchmarks/search.py --cost 10 --epochs 2             # ten seeds one by one, then batched
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import torch
import train as train_benchmark  # benchmarks/train.py: the machine's matmul rate and a training epoch's FLOPs

from reporter.model.recipe import Recipe
from reporter.model.seeds import Levers, train_seeds
from reporter.model.train import train

SHARP = 0.6  # mean_max of a sharp head
ON_EQUALS = 0.6  # attention from `=` on `=` itself above which a head reads little of the operands


def analysable(final: dict) -> bool:
    """Decision 3: at least 2/3 of the heads sharp; in each layer after the first, at most half its heads on `=`."""
    heads = [m for layer in final["mean_max"] for m in layer]
    sharp = sum(m >= SHARP for m in heads)
    on_equals = [sum(share > ON_EQUALS for share in layer) for layer in final["on_equals"][1:]]
    return 3 * sharp >= 2 * len(heads) and all(2 * n <= len(final["on_equals"][0]) for n in on_equals)


def candidate_of(text: str) -> tuple[str, Recipe, Levers]:
    spec = json.loads(text)
    recipe_fields, lever_fields = {f.name for f in fields(Recipe)}, {f.name for f in fields(Levers)}
    unknown = sorted(set(spec.get("recipe", {})) - recipe_fields) + sorted(set(spec.get("levers", {})) - lever_fields)
    if unknown:
        raise SystemExit(f"{unknown[0]!r} is not a Recipe or Levers field")
    return spec["name"], replace(Recipe(), **spec.get("recipe", {})), Levers(**spec.get("levers", {}))


def record(name: str, spec: dict, run, recipe: Recipe, levers: Levers) -> dict:
    return {
        "candidate": name,
        "spec": spec,
        "give_up": levers.give_up,
        "modulus": recipe.modulus,
        "seed": run.seed,
        "outcome": run.outcome,
        "first_perfect": run.first_perfect,  # the run trained if it reached 100% held-out within the epochs
        "left_plateau": run.left_plateau,
        "epochs": len(run.history),
        "seconds": round(run.seconds, 1),
        "final": run.final,
        "analysable": analysable(run.final),
        "history": run.history,
    }


def first_perfect(record: dict) -> int | None:
    """The first epoch at 100% held-out, read off the history (runs recorded before `first_perfect` was kept for
    runs that did not hold it for the patience have it there only)."""
    return next((h["epoch"] for h in record["history"] if h["test_accuracy"] == 1.0), None)


def table(records: list[dict]) -> str:
    """One row per candidate and modulus, in the order first recorded."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["candidate"], r["modulus"]), []).append(r)
    lines = [
        "| candidate | p | seeds | trained | median epochs (trained) | analysable (of trained) | the others |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (name, p), runs in groups.items():
        trained = [r for r in runs if first_perfect(r) is not None]
        epochs = [first_perfect(r) for r in trained]
        others = ", ".join(
            f"{r['seed']}: {r['outcome']} at {r['epochs']} ({r['final']['test_accuracy']:.0%})"
            for r in runs
            if first_perfect(r) is None
        )
        median = statistics.median(epochs) if epochs else None
        lines.append(
            f"| {name} | {p} | {len(runs)} | {len(trained)} | {'-' if median is None else f'{median:g}'} "
            f"| {sum(r['analysable'] for r in trained)} | {others or '-'} |"
        )
    return "\n".join(lines)


def agreement(records: list[dict], give_up: tuple) -> str:
    """What the give-up rules would have said of runs recorded without them, against how those runs ended."""
    full = [r for r in records if not r["give_up"]]
    rows = {"stopped, and it never trained": 0, "stopped, but it trained later": 0, "kept, and it trained": 0}
    rows["kept, and it never trained"] = 0
    for r in full:
        first = first_perfect(r)
        stopped = any(
            h["epoch"] == at and h["test_accuracy"] < floor and (first is None or first > at)
            for h in r["history"]
            for at, floor in give_up
        )
        key = {
            (True, False): "stopped, and it never trained",
            (True, True): "stopped, but it trained later",
            (False, True): "kept, and it trained",
            (False, False): "kept, and it never trained",
        }[(stopped, first is not None)]
        rows[key] += 1
    rules = ", ".join(f"below {floor:.0%} held-out at epoch {at}" for at, floor in give_up)
    lines = [f"| the rule ({rules}) on {len(full)} runs recorded in full | runs |", "| --- | ---: |"]
    return "\n".join(lines + [f"| {key} | {n} |" for key, n in rows.items()])


def cost(n: int, epochs: int) -> None:
    """Ten seeds (or ``n``) one by one through train.train's lean forward, then the same seeds batched."""
    recipe = replace(Recipe(), epochs=epochs, patience=epochs + 1)
    start = time.perf_counter()
    for seed in range(n):
        train(replace(recipe, seed=seed), lean=True)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    train_seeds(recipe, list(range(n)))
    batched = time.perf_counter() - start
    rate, work = (
        train_benchmark.matmul_rate(),
        train_benchmark.flops_per_epoch(recipe, round(recipe.train_fraction * recipe.modulus**2), True) * n * epochs,
    )
    print(f"machine: fp32 matmul {rate:.0f} GFLOP/s; each run's setup and per-epoch evaluation included")
    print(f"| {n} seeds x {epochs} epochs | s | s per run-epoch | GFLOP/s (share of matmul) |")
    print("| --- | ---: | ---: | ---: |")
    for label, seconds in (("one by one (train.train, lean forward)", alone), ("batched (seeds.train_seeds)", batched)):
        achieved = work / seconds / 1e9
        print(f"| {label} | {seconds:.1f} | {seconds / n / epochs:.2f} | {achieved:.0f} ({achieved / rate:.0%}) |")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", action="append", default=[], help="JSON: name, recipe, levers")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--give-up", action="append", default=[], help="EPOCH:ACCURACY (held-out)")
    parser.add_argument("--out", type=Path, help="append every run as a JSON line here")
    parser.add_argument("--table", type=Path, help="print the table of the runs recorded in this file")
    parser.add_argument("--agreement", type=Path, help="the --give-up rules against the full runs in this file")
    parser.add_argument("--cost", type=int, default=0, help="time this many seeds one by one against batched")
    parser.add_argument("--epochs", type=int, default=2, help="epochs for --cost")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.table:
        print(table(load(args.table)))
        return
    give_up = tuple((int(e), float(a)) for e, a in (rule.split(":") for rule in args.give_up))
    if args.agreement:
        print(agreement(load(args.agreement), give_up))
        return
    if args.cost:
        cost(args.cost, args.epochs)
        return
    records = []
    for text in args.candidate:
        name, recipe, levers = candidate_of(text)
        levers = replace(levers, give_up=levers.give_up or give_up)

        def watch(epoch: int, runs: list, name: str = name) -> None:
            accuracies = " ".join(f"{r.seed}:{r.history[-1]['test_accuracy']:.2f}" for r in runs)
            print(f"  {name} epoch {epoch}: {accuracies}", file=sys.stderr, flush=True)

        runs = train_seeds(recipe, args.seeds, levers, watch)
        for run in runs:
            records.append(record(name, json.loads(text), run, recipe, levers))
            if args.out:
                with args.out.open("a") as out:
                    out.write(json.dumps(records[-1]) + "\n")
        print(table([r for r in records if r["candidate"] == name]), flush=True)
    if len(args.candidate) > 1:
        print(table(records))


if __name__ == "__main__":
    main()
