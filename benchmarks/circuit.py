"""Benchmark: the circuit stage on a shipped checkpoint, each part timed against one `capture` (the one hooked
forward over all p² inputs that every stage reads), and its main numbers.

Goal (issue 20): the whole circuit stage at most 5 full forward passes' worth at p = 113.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/circuit.py [--checkpoint checkpoints/default]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "default")
    args = parser.parse_args()

    import torch

    from reporter.interpret.circuit import harmonics, head_groups, internal_frequencies, together_kind, writers
    from reporter.interpret.thresholds import Thresholds
    from reporter.measure.attribution import logit_attribution
    from reporter.measure.capture import capture
    from reporter.measure.causal import Interventions
    from reporter.measure.channels import channels, write_spectra
    from reporter.measure.components import components
    from reporter.measure.fourier import logit_spectrum, preference_rule
    from reporter.measure.head_groups import agreement, picks_a
    from reporter.measure.neurons import embedding_sparsity, neurons
    from reporter.measure.products import products
    from reporter.measure.stages import stages, stream
    from reporter.model.checkpoint import load_checkpoint
    from reporter.model.engine import Forward

    loaded = load_checkpoint(args.checkpoint, dtype=torch.float64)
    model, task = loaded.model, loaded.task
    split = loaded.training.split if loaded.training else None
    clean, forward_time = timed(capture, model, task)
    interventions, setup = timed(Interventions, model, clean)  # the replay and its check against the hooks
    forward = Forward(model, torch.float64)
    keys = logit_spectrum(clean, 0.05).key_frequencies
    found_stream, stream_time = timed(stream, forward, clean)
    blocks, blocks_time = timed(components, interventions)
    table, stages_time = timed(stages, forward, clean, split)
    made, products_time = timed(products, forward, clean, found_stream)
    layers, neurons_time = timed(neurons, forward, found_stream.residuals, task.modulus)
    sparsity, sparsity_time = timed(embedding_sparsity, forward, task.modulus)
    top = sorted({*keys, *(max(n.by_frequency, key=n.by_frequency.get) for n in layers if n.by_frequency)})
    attribution, attribution_time = timed(logit_attribution, forward, clean, found_stream, top)
    t = Thresholds()
    internal = internal_frequencies(table, layers, t)
    carried = list(dict.fromkeys([*internal, *keys]))
    removed, channels_time = timed(channels, forward, interventions, found_stream, carried)
    spectra, spectra_time = timed(write_spectra, forward, interventions, found_stream)
    channels_time += spectra_time
    matrix, groups_time = timed(agreement, clean)
    # the heads whose side changes with the input on 20-80% of inputs stand in here for the `switches_ab` labels
    every = [(layer, head) for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)]
    switching = []
    for layer, head in every:
        if 0.2 <= picks_a(clean, layer, head).mean() <= 0.8:
            w = clean.pattern[:, layer, head].double().numpy()
            rule = preference_rule(w[:, 0] + w[:, 1], w[:, 2], task.modulus)
            switching.append(SimpleNamespace(name=f"L{layer}H{head}", layer=layer, preference=rule))
    grouped = head_groups(matrix, switching, t)

    parts = [
        ("replay setup and check (Interventions)", setup),
        ("stream at = (from the capture)", stream_time),
        ("components: blocks, heads together, pairs", blocks_time),
        ("stages", stages_time),
        ("products", products_time),
        ("neurons and embedding", neurons_time + sparsity_time),
        ("read-out attribution", attribution_time),
        (f"channels ({len(carried)} frequencies)", channels_time),
        ("head groups", groups_time),
    ]
    total = sum(seconds for _, seconds in parts)
    print(f"{args.checkpoint.name}: p = {task.modulus}, {task.n_inputs} inputs, float64")
    print("\n| part | seconds | forward passes |\n| --- | ---: | ---: |")
    print(f"| capture (1 pass) | {forward_time:.2f} | 1.00 |")
    for name, seconds in parts:
        print(f"| {name} | {seconds:.2f} | {seconds / forward_time:.2f} |")
    print(f"| **circuit stage, all parts** | {total:.2f} | {total / forward_time:.2f} |")
    rest = total - setup
    print(f"| circuit without the replay setup (shared with causal) | {rest:.2f} | {rest / forward_time:.2f} |")

    print("\n| component | Δloss at = | accuracy | Δloss everywhere | heads together | sum of singles | kind |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for c in blocks.components:
        t = c.heads_together
        kind = together_kind(t.delta_loss, t.sum_of_singles, Thresholds()) if t else ""
        extra = f"{t.delta_loss:.3f} | {t.sum_of_singles:.3f} | {kind}" if t else " | | "
        e, a = c.ablation.equals, c.ablation.all_positions
        print(f"| {c.name} | {e.delta_loss:.3f} | {e.accuracy:.3f} | {a.delta_loss:.3f} | {extra} |")
    print("\n| head pair | Δloss together | sum of singles | kind |\n| --- | ---: | ---: | --- |")
    for pair in blocks.head_pairs:
        kind = together_kind(pair.delta_loss, pair.sum_of_singles, Thresholds())
        print(f"| {' + '.join(pair.heads)} | {pair.delta_loss:.3f} | {pair.sum_of_singles:.3f} | {kind} |")

    print("\n| after | a | b | answer | other | top answer frequencies (rms) | decodable | read-out accuracy |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for s in table:
        best = sorted(s.answer_frequencies.items(), key=lambda kv: -kv[1])[:3]
        words = ", ".join(f"{k}: {v:.2f}" for k, v in best)
        decodable = "n/a" if s.decodable is None else f"{s.decodable:.3f}"
        print(
            f"| {s.after} | {s.shares.a:.3f} | {s.shares.b:.3f} | {s.shares.answer:.3f} | {s.other:.3f} | {words} "
            f"| {decodable} | {s.readout_accuracy:.3f} |"
        )

    print("\n| component | answer share | with mean patterns | with additive input |\n| --- | ---: | ---: | ---: |")
    for p in made:
        mean = "" if p.answer_share_mean_patterns is None else f"{p.answer_share_mean_patterns:.3f}"
        additive = "" if p.answer_share_additive_input is None else f"{p.answer_share_additive_input:.3f}"
        print(f"| {p.component} | {p.answer_share:.3f} | {mean} | {additive} |")

    print("\n| MLP | neurons by dominant frequency (top 5) | a | b | sum | difference | other |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for n in layers:
        counts = ", ".join(f"{k}: {v}" for k, v in list(n.by_frequency.items())[:5])
        t = n.terms
        print(
            f"| mlp{n.layer} | {counts} | {t['a']:.3f} | {t['b']:.3f} | {t['sum']:.3f} | {t['difference']:.3f} "
            f"| {t['other']:.3f} |"
        )
    top5 = ", ".join(f"{k}: {v:.3f}" for k, v in sparsity.top)
    print(f"\nembedding: top 5 ({top5}) hold {sparsity.top5_share:.3f}; {sparsity.frequencies_for_half} hold half")

    print(f"\nlogit key frequencies: {keys}")
    print("\n| component | correct logit | " + " | ".join(f"cos k={k}" for k in top) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in top) + " |")
    for a in attribution:
        print(f"| {a.component} | {a.correct_logit:.2f} | " + " | ".join(f"{a.frequencies[k]:.2f}" for k in top) + " |")
    named = harmonics(carried, internal, task.modulus, Thresholds())
    print(f"\ninternal frequencies: {internal}; harmonics (k': base): {named}")
    print("\n| frequency | removed at | accuracy | Δloss | written by |\n| ---: | --- | ---: | ---: | --- |")
    for ch in removed:
        by = ", ".join(writers(spectra, ch.frequency, Thresholds()))
        print(f"| {ch.frequency} | {ch.removed_at} | {ch.accuracy:.3f} | {ch.delta_loss:.3f} | {by} |")

    print(f"\nswitching heads: {[r.name for r in switching]}")
    for g in grouped:
        rule = f"k = {g.frequency}, phase {g.phase:.2f}"
        print(f"group {g.heads}: {rule}, agreement {g.agreement:.3f}, opposite {g.opposite}")


if __name__ == "__main__":
    main()
