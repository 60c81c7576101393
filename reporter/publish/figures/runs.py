"""The comparison of runs: for each layer, how many heads of each run do each thing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from reporter.publish.figures.figure import Figure
from reporter.publish.figures.style import DARK_CELLS, IMPORTANCE_COLOURS, cell, style, to_csv, to_png

ROLE_COLOURS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#999999",
    "#000000",
    "#BBBBBB",
]


def niches_figure(comparison: dict) -> Figure:
    """Small multiples, one panel per layer: a bar per run, stacked by the roles of its heads."""
    niches = comparison["niches"]
    runs = [run["checkpoint"] for run in comparison["runs"]]
    roles = sorted({role for layer in niches for counts in layer["counts"].values() for role in counts})
    colours = {role: ROLE_COLOURS[i % len(ROLE_COLOURS)] for i, role in enumerate(roles)}
    rows = []
    with style():
        fig, axes = plt.subplots(1, len(niches), figsize=(3.4 * len(niches) + 2.6, 4.2), squeeze=False, sharey=True)
        for ax, layer in zip(axes[0], niches, strict=True):
            bottom = np.zeros(len(runs))
            for role in roles:
                values = np.array([layer["counts"][run].get(role, 0) for run in runs], dtype=float)
                ax.bar(
                    range(len(runs)),
                    values,
                    bottom=bottom,
                    color=colours[role],
                    edgecolor="#333333",
                    linewidth=0.5,
                    label=role,
                )
                bottom += values
                rows += [[layer["layer"], run, role, int(v)] for run, v in zip(runs, values, strict=True) if v]
            counted = [run["counted"] for run in comparison["runs"]]
            names = [name if ok else f"{name} (not counted)" for name, ok in zip(runs, counted, strict=True)]
            ax.set_xticks(range(len(runs)), names, rotation=45, ha="right")
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.set_title(f"layer {layer['layer']}")
        axes[0][0].set_ylabel("heads")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, title="reads (by content) · carries", loc="center right", frameon=False)
        fig.tight_layout(rect=(0, 0, 1 - 2.4 / (3.4 * len(niches) + 2.6), 1))
        alt = (
            "One panel per layer; in each, a bar per run stacked by what its heads do (where they read by content "
            "and what they carry): " + "; ".join(f"{role}" for role in roles) + "."
        )
        return Figure("runs.png", to_png(fig), alt, to_csv(["layer", "run", "role", "heads"], rows))


def work_figure(comparison: dict) -> Figure:
    """Runs × blocks: each block's mean-ablation at `=` (Δloss in nats), coloured by its importance band."""
    runs = [run for run in comparison["runs"] if run["components"]]
    names = list(dict.fromkeys(c["name"] for run in runs for c in run["components"]))
    rows = []
    with style():
        labels = [r["checkpoint"] if r["counted"] else f"{r['checkpoint']} (not counted)" for r in runs]
        margin = 0.4 + 0.075 * max(len(label) for label in labels)  # inches for the run names
        fig, ax = plt.subplots(figsize=(min(margin + 1.05 * len(names), 12.0), max(2.8, 1.5 + 0.5 * len(runs))))
        for y, run in enumerate(runs):
            by_name = {c["name"]: c for c in run["components"]}
            for x, name in enumerate(names):
                c = by_name.get(name)
                if c is None:
                    continue
                band, delta = c["importance"], c["ablation"]["equals"]["delta_loss"]
                cell(ax, x - 0.5, y - 0.5, IMPORTANCE_COLOURS[band])
                ink = "#FFFFFF" if band in DARK_CELLS else "#111111"
                ax.text(x, y, f"{delta:.2f}", ha="center", va="center", color=ink, fontsize=9)
                rows.append([run["checkpoint"], name, c["kind"], c["layer"], delta, band])
        ax.set_xlim(-0.5, len(names) - 0.5)
        ax.set_ylim(len(runs) - 0.5, -0.5)
        ax.set_xticks(range(len(names)), [block_name(n, runs) for n in names])
        ax.set_yticks(range(len(runs)), labels)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title("Δloss (nats) when each block's output at = is mean-ablated", fontsize=10)
        bands = [
            plt.Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="#333333", linewidth=0.5)
            for c in IMPORTANCE_COLOURS.values()
        ]
        ax.legend(
            bands, list(IMPORTANCE_COLOURS), loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False
        )
        fig.tight_layout()
        alt = "Runs by blocks, each cell one block's mean-ablation at = in nats, coloured by its band: " + "; ".join(
            f"{r[0]} {r[1]} {r[4]:.2f} ({r[5]})" for r in rows
        )
        return Figure(
            "runs_work.png", to_png(fig), alt, to_csv(["run", "block", "kind", "layer", "delta_loss", "band"], rows)
        )


def block_name(name: str, runs: list[dict]) -> str:
    c = next(c for run in runs for c in run["components"] if c["name"] == name)
    return f"attention {c['layer']}" if c["kind"] == "attention" else f"MLP {c['layer']}"


def frequencies_figure(comparison: dict, modulus: int) -> Figure:
    """One row per run over the frequencies 1..p // 2: its internal frequencies (filled) and the ones its logits
    read (rings)."""
    runs = comparison["runs"]
    rows = []
    with style():
        fig, ax = plt.subplots(figsize=(10.0, 0.9 + 0.45 * len(runs)))
        for y, run in enumerate(runs):
            internal, key = run["internal_frequencies"], run["key_frequencies"]
            ax.axhline(y, color="#DDDDDD", linewidth=0.8, zorder=0)
            ax.scatter(
                internal, [y] * len(internal), s=70, color="#D55E00", zorder=3, label="internal" if y == 0 else None
            )
            ax.scatter(
                key,
                [y] * len(key),
                s=150,
                facecolors="none",
                edgecolors="#0072B2",
                linewidths=1.6,
                zorder=4,
                label="read by the logits" if y == 0 else None,
            )
            rows += [[run["checkpoint"], k, "internal"] for k in internal] + [
                [run["checkpoint"], k, "key"] for k in key
            ]
        ax.set_xlim(0, modulus // 2 + 1)
        ax.set_ylim(len(runs) - 0.5, -0.5)
        ax.set_yticks(
            range(len(runs)), [r["checkpoint"] if r["counted"] else f"{r['checkpoint']} (not counted)" for r in runs]
        )
        ax.set_xlabel("frequency k")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(runs) < 4 else -0.2), ncol=2, frameon=False)
        fig.tight_layout()
        alt = "For each run, its internal frequencies and the frequencies its logits read: " + "; ".join(
            f"{r['checkpoint']}: internal {', '.join(map(str, r['internal_frequencies'])) or 'none'}, read "
            f"{', '.join(map(str, r['key_frequencies'])) or 'none'}"
            for r in runs
        )
        return Figure("runs_frequencies.png", to_png(fig), alt, to_csv(["run", "frequency", "kind"], rows))
