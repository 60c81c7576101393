"""Benchmark: every stage of the analysis of the shipped model, and whole builds, measured in one run.

Prints two tables:

1. One row per stage on the shipped checkpoint (p = 113, all 12,769 inputs, float64): its wall time
   and that time in "forward passes" (a bare TransformerLens forward over all inputs, measured first).
   Goal (issue 11): all causal experiments together at most 10 forward passes (moonshot 5).
2. `modreport build` as a user runs it, each in a fresh process: cold (empty cache) and warm (the same
   checkpoint and options again), for the headline report alone and with the shipped runs compared.
   Goals: cold at most 30 s (moonshot 15 s), warm at most 5 s; with 5 runs, cold at most 5x the single
   build and warm at most 5 s.

    .venv/bin/python benchmarks/analyse.py [--skip-builds]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def stage_rows() -> list[tuple[str, float, str]]:
    import torch

    from reporter.analysis import Options, interpret, measure_baseline
    from reporter.interpret.sensitivity import sensitivity
    from reporter.interpret.stats import Attention, compute_stats, default_pairs
    from reporter.interpret.thresholds import Thresholds
    from reporter.limits import batch_for
    from reporter.measure.capture import capture
    from reporter.measure.causal import Interventions, head_effects, score_scale
    from reporter.measure.content import head_writes, position_contents
    from reporter.measure.fourier import logit_spectrum
    from reporter.measure.rules import rules
    from reporter.model.checkpoint import load_checkpoint
    from reporter.model.task import all_pairs, tokens_for
    from reporter.publish.figures import draw_all

    checkpoint = ROOT / "checkpoints" / "default"
    loaded, load_time = timed(load_checkpoint, checkpoint, torch.float64)
    model, task = loaded.model, loaded.task

    batch = batch_for(model.cfg.d_model, model.cfg.d_mlp, model.cfg.d_vocab_out)  # the capture's batch

    def bare_forward():
        with torch.inference_mode():
            for start in range(0, task.n_inputs, batch):
                model(tokens_for(task, *all_pairs(task, start, start + batch)))

    bare_forward()  # warm-up
    _, forward = timed(bare_forward)
    clean, capture_time = timed(capture, model, task)
    interventions, checks_time = timed(Interventions, model, clean)
    found_rules, rules_time = timed(rules, clean, score_scale(model.cfg))
    effects, effects_time = timed(head_effects, interventions, found_rules)
    split = loaded.training.split if loaded.training else None
    singles = {(e.layer, e.head): e.ablation_equals.delta_loss for e in effects}
    *circuit, (name, total, _) = circuit_rows(model, clean, interventions, singles, split)
    circuit.append((name, total, f"goal <= 5 forward passes: {'met' if total <= 5 * forward else 'missed'}"))
    _, contents_time = timed(position_contents, clean)
    _, writes_time = timed(head_writes, model, clean)
    _, fourier_time = timed(logit_spectrum, clean, Thresholds().key_frequency)
    _, baseline_time = timed(measure_baseline, loaded.config["model"], task, loaded.training)

    from reporter.analysis import analyse

    analysis = analyse(checkpoint, Options())  # for the stages after measuring (uses no cache)
    stats = compute_stats(Attention(task, clean.weights, clean.correct), default_pairs(task.modulus))
    reading, interpret_time = timed(interpret, stats, analysis.measured, Thresholds())
    _, sweep_time = timed(sensitivity, stats, analysis.measured, reading, Thresholds(), interpret)
    _, figures_time = timed(draw_all, analysis)
    n_experiments = 11 * len(effects) - sum(1 for e in effects if e.layer == model.cfg.n_layers - 1)
    causal = checks_time + rules_time + effects_time
    return [
        ("load the checkpoint (float64)", load_time, ""),
        ("bare TransformerLens forward over all inputs", forward, "the unit"),
        ("capture: one hooked pass keeping what the stages read", capture_time, ""),
        ("causal: replay checked against run_with_hooks", checks_time, ""),
        ("causal: rules for every head's pattern", rules_time, ""),
        (f"causal: {n_experiments} interventions on all inputs", effects_time, ""),
        ("causal, all together", causal, f"goal <= 10 forward passes: {'met' if causal <= 10 * forward else 'missed'}"),
        *circuit,
        ("content: every position at every layer's input", contents_time, ""),
        ("content: every head's write at =", writes_time, ""),
        ("fourier: logit spectrum, restricted and excluded loss", fourier_time, ""),
        ("baseline: the untrained model, measured", baseline_time, ""),
        ("interpret: labels, roles, findings", interpret_time, ""),
        ("sensitivity: every threshold moved 4 ways", sweep_time, ""),
        ("figures (19, with their CSV)", figures_time, ""),
    ], forward


def circuit_rows(model, clean, interventions, singles, split) -> list[tuple[str, float, str]]:
    """The circuit stage (measure/circuit.py) part by part, as `measure_circuit` runs it."""
    import torch

    from reporter.interpret.thresholds import Thresholds
    from reporter.measure.attribution import logit_attribution
    from reporter.measure.channels import candidates, channels, write_spectra
    from reporter.measure.components import components
    from reporter.measure.fourier import logit_spectrum
    from reporter.measure.head_groups import agreement
    from reporter.measure.neurons import embedding_sparsity, neurons
    from reporter.measure.products import products
    from reporter.measure.stages import stages, stream
    from reporter.model.engine import Forward

    forward, p = Forward(model, torch.float64), clean.task.modulus
    keys = logit_spectrum(clean, Thresholds().key_frequency).key_frequencies
    found, stream_time = timed(stream, forward, clean)
    blocks, blocks_time = timed(components, interventions, singles)
    table, stages_time = timed(stages, forward, clean, split)
    _, products_time = timed(products, forward, clean, found)
    layers, neurons_time = timed(neurons, forward, found.residuals, p)
    _, sparsity_time = timed(embedding_sparsity, forward, p)
    frequencies = candidates(table, layers, keys)
    _, attribution_time = timed(logit_attribution, forward, clean, found, frequencies)
    _, channels_time = timed(channels, forward, interventions, found, frequencies)
    _, spectra_time = timed(write_spectra, forward, interventions, found)
    _, groups_time = timed(agreement, clean)
    n_blocks = len(blocks.components) + len(blocks.head_pairs)
    rows = [
        ("circuit: the residual stream's parts at `=`", stream_time, ""),
        (f"circuit: blocks and heads ablated together ({n_blocks} components and pairs)", blocks_time, ""),
        ("circuit: stage-by-stage shares, read-outs", stages_time, ""),
        ("circuit: where the products form", products_time, ""),
        ("circuit: every MLP neuron's frequencies", neurons_time, ""),
        ("circuit: the embedding's sparsity", sparsity_time, ""),
        (f"circuit: read-out attribution ({len(frequencies)} frequencies)", attribution_time, ""),
        (f"circuit: channels, each frequency removed ({len(frequencies)})", channels_time + spectra_time, ""),
        ("circuit: head groups (agreement matrix)", groups_time, ""),
    ]
    total = sum(seconds for _, seconds, _ in rows)
    return [*rows, ("circuit, all together", total, "")]


def build_time(arguments: list[str], cache: Path, folder: Path) -> float:
    command = [
        sys.executable,
        "-c",
        "from reporter.cli import main; main()",
        "build",
        *arguments,
        "--cache",
        str(cache),
        "--out",
        str(folder / "site"),
        "--html",
        str(folder / "public"),
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def build_rows() -> list[tuple[str, float, str]]:
    shipped = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cache = folder / "cache"
        alone = ["--checkpoint", str(ROOT / "checkpoints" / "default"), "--runs", str(ROOT / "checkpoints" / "default")]
        cold = build_time(alone, cache, folder / "one")
        warm = build_time(alone, cache, folder / "one")
        rows += [("build, headline report only, cold", cold, "goal <= 30 s"), ("... warm", warm, "goal <= 5 s")]
        shutil.rmtree(cache)
        if len(shipped) > 1:
            runs = [a for p in shipped for a in ("--runs", str(p))]
            cold_all = build_time(["--checkpoint", str(ROOT / "checkpoints" / "default"), *runs], cache, folder / "all")
            warm_all = build_time(["--checkpoint", str(ROOT / "checkpoints" / "default"), *runs], cache, folder / "all")
            rows += [
                (
                    f"build with {len(shipped)} runs compared, cold",
                    cold_all,
                    f"{cold_all / cold:.1f}x the single build (goal <= 5x)",
                ),
                ("... warm", warm_all, "goal <= 5 s"),
            ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-builds", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"threads: {torch.get_num_threads()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    rows, forward = stage_rows()
    print("\n| stage | wall (s) | forward passes | note |\n| --- | ---: | ---: | --- |")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / forward:.1f} | {note} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the stages above: {peak:.0f} MB")
    if not args.skip_builds:
        print("\n| build (a fresh process each) | wall (s) | note |\n| --- | ---: | --- |")
        for name, seconds, note in build_rows():
            print(f"| {name} | {seconds:.1f} | {note} |")


if __name__ == "__main__":
    main()
