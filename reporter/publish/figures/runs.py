"""The comparison of runs: for each layer, how many heads of each run do each thing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from reporter.publish.figures.style import Figure, style, to_csv, to_png

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
