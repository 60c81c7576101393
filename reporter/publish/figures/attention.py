"""The attention summaries: mean attention per head, the chosen pairs, and where each layer looks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from reporter.interpret.stats import Stats
from reporter.model.task import POSITION_KEYS, POSITIONS
from reporter.publish.figures.figure import Figure
from reporter.publish.figures.style import POSITION_COLOURS, style, to_csv, to_png


def mean_attention(stats: Stats) -> Figure:
    """The seed's summary: mean attention from = to each position, one row per head."""
    grid = np.array([[h.mean[k] for k in POSITION_KEYS] for h in stats.heads])  # [head, key]
    with style():
        fig, ax = plt.subplots(figsize=(5.2, 0.36 * len(stats.heads) + 1.5))
        image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(
                j, i, f"{value:.2f}", ha="center", va="center", fontsize=9, color="white" if value > 0.6 else "#111111"
            )
        ax.set_xticks(range(4), POSITIONS)
        ax.set_yticks(range(len(stats.heads)), [h.name for h in stats.heads])
        ax.set_xlabel("key position")
        ax.set_title("Mean attention from = over all inputs")
        fig.colorbar(image, ax=ax, fraction=0.05, label="attention weight")
        fig.tight_layout()
        rows = [[h.name, *(h.mean[k] for k in POSITION_KEYS)] for h in stats.heads]
        return Figure(
            "mean_attention.png",
            to_png(fig),
            "Heat map of the mean attention from = to a, +, b and = for every head, over all inputs.",
            to_csv(["head", *POSITION_KEYS], rows),
        )


def pairs_figure(stats: Stats) -> Figure:
    """For each chosen pair, attention from = to each position for every head."""
    n = max(1, len(stats.pairs))
    with style():
        width, height = 3.0 * n + 1.2, max(3.2, 0.36 * len(stats.heads) + 1.7)  # inches
        fig, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False, sharey=True)
        # margins in inches, so that one pair or few heads still leave room for the labels and the colour bar's
        fig.subplots_adjust(bottom=max(0.11, 0.55 / height), right=min(0.9, 1 - 0.75 / width))
        for ax, pair in zip(axes[0], stats.pairs, strict=False):  # one empty axis when no pairs are chosen
            grid = np.array([[h["attention"][k] for k in POSITION_KEYS] for h in pair["heads"]])  # [head, key]
            image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
            for (i, j), value in np.ndenumerate(grid):
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if value > 0.6 else "#111111",
                )
            ax.set_xticks(range(4), POSITIONS)
            verdict = "correct" if pair["correct"] else "wrong"
            ax.set_title(f"{pair['pair']} = {pair['answer']} ({verdict})")
            ax.set_xlabel("key position")
        axes[0][0].set_yticks(range(len(stats.heads)), [h.name for h in stats.heads])
        if stats.pairs:
            fig.colorbar(image, ax=axes[0].tolist(), fraction=0.03, label="attention weight")
        else:
            axes[0][0].text(0.5, 0.5, "no pairs chosen", ha="center", transform=axes[0][0].transAxes)
        rows = [
            [p["pair"], h["name"], *(h["attention"][k] for k in POSITION_KEYS)] for p in stats.pairs for h in p["heads"]
        ]
        return Figure(
            "pairs.png",
            to_png(fig),
            "Attention from = to a, +, b and = for every head on the pairs "
            + ", ".join(p["pair"] for p in stats.pairs)
            + ".",
            to_csv(["pair", "head", *POSITION_KEYS], rows),
        )


def layers_figure(stats: Stats) -> Figure:
    """Per layer: entropy and sharpness, and the share of attention on each position."""
    layers = [l.layer for l in stats.layers]
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.0))
        left.plot(
            layers, [l.entropy for l in stats.layers], "o-", color="#0072B2", label="entropy (0 sharp, 1 uniform)"
        )
        left.plot(
            layers, [l.mean_max for l in stats.layers], "s--", color="#D55E00", label="mean_max (1 sharp, 0.25 uniform)"
        )
        left.set_xticks(layers, [f"layer {l}" for l in layers])
        left.set_ylim(0, 1.05)
        left.legend(frameon=False, loc="best")
        left.set_title("Broad or sharp")
        bottom = np.zeros(len(layers))
        for key, name in zip(POSITION_KEYS, POSITIONS, strict=True):
            values = np.array([l.mean[key] for l in stats.layers])
            right.bar(
                layers,
                values,
                bottom=bottom,
                color=POSITION_COLOURS[key],
                label=name,
                edgecolor="#333333",
                linewidth=0.5,
            )
            for x, v, b in zip(layers, values, bottom, strict=True):
                if v > 0.06:
                    right.text(
                        x,
                        b + v / 2,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=10,
                        color="#111111" if key in ("b", "plus") else "white",
                    )
            bottom += values
        right.set_xticks(layers, [f"layer {l}" for l in layers])
        right.set_ylabel("share of attention from =")
        right.set_ylim(0, 1)
        handles, names = right.get_legend_handles_labels()
        right.legend(
            handles[::-1],
            names[::-1],
            title="key",
            frameon=False,
            bbox_to_anchor=(1.0, 1.0),
            loc="upper left",
        )
        right.set_title("Where each layer looks")
        fig.tight_layout()
        rows = [[l.layer, l.entropy, l.mean_max, *(l.mean[k] for k in POSITION_KEYS)] for l in stats.layers]
        return Figure(
            "layers.png",
            to_png(fig),
            "Per layer, mean entropy and mean largest weight of attention from =, and the share of "
            "attention on a, +, b and =.",
            to_csv(["layer", "entropy", "mean_max", *POSITION_KEYS], rows),
        )
