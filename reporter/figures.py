"""Matplotlib figures: one function per figure, each returning PNG bytes and its alt text.

Agg backend, fixed size and DPI, no metadata that changes between builds, and
the Okabe-Ito palette, so that figures are byte-identical and colour-blind safe.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np

from reporter.labels import HeadLabel, Label
from reporter.stats import HeadStats, Stats
from reporter.task import POSITION_KEYS, POSITIONS

# Okabe & Ito (2008), a palette that stays distinct under the common colour-vision deficiencies.
POSITION_COLOURS = {"a": "#0072B2", "plus": "#999999", "b": "#E69F00", "equals": "#009E73"}
LABEL_COLOURS = {
    HeadLabel.attends_a: "#0072B2",
    HeadLabel.attends_b: "#E69F00",
    HeadLabel.splits_ab: "#CC79A7",
    HeadLabel.switches_ab: "#D55E00",
    HeadLabel.spread: "#56B4E9",
    HeadLabel.self: "#009E73",
    HeadLabel.attends_plus: "#999999",
    HeadLabel.mixed: "#FFFFFF",
}
DARK_TEXT_LABELS = {HeadLabel.attends_b, HeadLabel.spread, HeadLabel.mixed, HeadLabel.attends_plus}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "svg.hashsalt": "modreport",
    "axes.prop_cycle": matplotlib.cycler(
        color=["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#000000"]
    ),
}


@dataclass(frozen=True)
class Figure:
    """A figure ready to write: its file name, PNG bytes and alt text."""

    name: str
    png: bytes
    alt: str


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def heads_grid(stats: Stats, labels: list[Label]) -> Figure:
    """Every head as a cell (layer x head), coloured by its label, with its score and mean_max."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.9 * stats.n_heads + 1.2, 1.25 * stats.n_layers + 0.9))
        for h, label in zip(stats.heads, labels, strict=True):
            x, y = label.head, label.layer
            ax.add_patch(
                plt.Rectangle(
                    (x + 0.04, y + 0.06),
                    0.92,
                    0.88,
                    facecolor=LABEL_COLOURS[label.kind],
                    edgecolor="#333333",
                    linewidth=0.8,
                )
            )
            colour = "#111111" if label.kind in DARK_TEXT_LABELS else "#FFFFFF"
            ax.text(x + 0.5, y + 0.24, label.name, ha="center", va="center", color=colour, fontsize=9)
            ax.text(
                x + 0.5,
                y + 0.44,
                label.kind.value,
                ha="center",
                va="center",
                color=colour,
                fontsize=10,
                fontweight="bold",
            )
            if label.kind is HeadLabel.mixed:  # say where it does look: its most frequent targets
                shares = sorted(label.evidence["focus_share"].items(), key=lambda kv: -kv[1])[:2]
                detail = " · ".join(f"{POSITIONS[POSITION_KEYS.index(k)]} {v:.0%}" for k, v in shares if v > 0)
                ax.text(x + 0.5, y + 0.62, f"most on {detail}", ha="center", va="center", color=colour, fontsize=7.5)
            ax.text(
                x + 0.5,
                y + 0.8,
                f"score {label.score:.2f} · sharp {h.mean_max:.2f}",
                ha="center",
                va="center",
                color=colour,
                fontsize=7.5,
            )
        ax.set_xlim(0, stats.n_heads)
        ax.set_ylim(stats.n_layers, 0)
        ax.set_xticks(np.arange(stats.n_heads) + 0.5, [f"head {h}" for h in range(stats.n_heads)])
        ax.set_yticks(np.arange(stats.n_layers) + 0.5, [f"layer {l}" for l in range(stats.n_layers)])
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title("What each head attends to from =")
        fig.tight_layout()
        alt = (
            "Grid of all heads by layer and head, each coloured by its label: "
            + "; ".join(f"{l.name} {l.kind.value}" for l in labels)
            + "."
        )
        return Figure("heads.png", to_png(fig), alt)


def mean_attention(stats: Stats) -> Figure:
    """The seed's summary: mean attention from = to each position, one row per head."""
    grid = np.array([[h.mean[k] for k in POSITION_KEYS] for h in stats.heads])  # [head, key]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 0.32 * len(stats.heads) + 1.3))
        image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(
                j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color="white" if value > 0.6 else "#111111"
            )
        ax.set_xticks(range(4), POSITIONS)
        ax.set_yticks(range(len(stats.heads)), [h.name for h in stats.heads])
        ax.set_xlabel("key position")
        ax.set_title("Mean attention from = over all inputs")
        fig.colorbar(image, ax=ax, fraction=0.05, label="attention weight")
        fig.tight_layout()
        return Figure(
            "mean_attention.png",
            to_png(fig),
            "Heat map of the mean attention from = to a, +, b and = for every head, over all inputs.",
        )


def pairs_figure(stats: Stats) -> Figure:
    """For each chosen pair, attention from = to each position for every head."""
    n = max(1, len(stats.pairs))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            1, n, figsize=(2.6 * n + 1.0, 0.3 * len(stats.heads) + 1.5), squeeze=False, sharey=True
        )
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
                    fontsize=7,
                    color="white" if value > 0.6 else "#111111",
                )
            ax.set_xticks(range(4), POSITIONS)
            verdict = "correct" if pair["correct"] else "wrong"
            ax.set_title(f"{pair['pair']} = {pair['answer']} ({verdict})", fontsize=10)
            ax.set_xlabel("key position")
        axes[0][0].set_yticks(range(len(stats.heads)), [h.name for h in stats.heads])
        if stats.pairs:
            fig.colorbar(image, ax=axes[0].tolist(), fraction=0.03, label="attention weight")
        else:
            axes[0][0].text(0.5, 0.5, "no pairs chosen", ha="center", transform=axes[0][0].transAxes)
        return Figure(
            "pairs.png",
            to_png(fig),
            "Attention from = to a, +, b and = for every head on the pairs "
            + ", ".join(p["pair"] for p in stats.pairs)
            + ".",
        )


def head_figure(stats: Stats, h: HeadStats, label: Label) -> Figure:
    """One head, four panels: the chosen pairs, the distribution over all inputs,
    the a/b split per input, and which of a and b it prefers over the (a, b) grid."""
    name = h.name
    with plt.rc_context(STYLE):
        fig, ((pairs_ax, dist_ax), (split_ax, map_ax)) = plt.subplots(2, 2, figsize=(9.0, 6.6))
        for i, pair in enumerate(stats.pairs):
            row = next(x for x in pair["heads"] if (x["layer"], x["head"]) == (h.layer, h.head))["attention"]
            for j, (key, token) in enumerate(zip(POSITION_KEYS, POSITIONS, strict=True)):
                pairs_ax.bar(
                    i + (j - 1.5) * 0.2,
                    row[key],
                    width=0.19,
                    color=POSITION_COLOURS[key],
                    edgecolor="#333333",
                    linewidth=0.5,
                    label=token if i == 0 else None,
                )
        pairs_ax.set_xticks(range(len(stats.pairs)), [p["pair"] for p in stats.pairs])
        pairs_ax.set_ylim(0, 1.02)
        pairs_ax.set_ylabel("attention from =")
        pairs_ax.set_xlabel("pair")
        if stats.pairs:
            pairs_ax.legend(title="key", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            pairs_ax.text(0.5, 0.5, "no pairs chosen", ha="center", va="center", transform=pairs_ax.transAxes)
        pairs_ax.set_title("On the chosen pairs", fontsize=10)

        parts = dist_ax.violinplot(
            [h.weights[:, i] for i in range(4)], positions=range(4), widths=0.8, showmeans=True, showextrema=False
        )
        for body, key in zip(parts["bodies"], POSITION_KEYS, strict=True):
            body.set_facecolor(POSITION_COLOURS[key])
            body.set_edgecolor("#333333")
            body.set_alpha(0.85)
        parts["cmeans"].set_color("#111111")
        dist_ax.set_xticks(range(4), POSITIONS)
        dist_ax.set_xlabel("key position")
        dist_ax.set_ylim(-0.02, 1.02)
        dist_ax.set_ylabel("attention from =")
        dist_ax.set_title(f"Over all {stats.task.n_inputs} inputs (bar: mean)", fontsize=10)

        grid = stats.a_share_grid[h.layer, h.head]  # [a, b]
        ab_mass = h.mean["a"] + h.mean["b"]
        if label.evidence["ab_meaningful"]:
            split_ax.hist(grid.ravel(), bins=np.linspace(0, 1, 21), color="#CC79A7", edgecolor="#333333", linewidth=0.5)
            split_ax.set_xlabel("a / (a + b) per input")
            split_ax.set_ylabel("inputs")
        else:
            split_ax.axis("off")
            split_ax.text(
                0.5,
                0.5,
                f"a and b get only {ab_mass:.0%} of this head's\nattention: how it divides them\nbetween a "
                "and b does not matter",
                ha="center",
                va="center",
                fontsize=9,
                color="#444444",
                transform=split_ax.transAxes,
            )
        split_ax.set_title(f"How it divides a and b ({ab_mass:.0%} of its attention)", fontsize=10)

        p = stats.task.modulus
        top = h.weights.argmax(-1).reshape(p, p)  # [a, b]: the position that gets the most attention
        strength = h.weights.max(-1).reshape(p, p)  # [a, b] in [0.25, 1]
        colours = np.array([matplotlib.colors.to_rgb(POSITION_COLOURS[k]) for k in POSITION_KEYS])  # [key, rgb]
        fade = ((strength - 0.25) / 0.75)[..., None]  # 0 for uniform, 1 for all on one position
        map_ax.imshow(colours[top] * fade + (1 - fade), origin="lower", interpolation="nearest")
        map_ax.set_xlabel("b")
        map_ax.set_ylabel("a")
        map_ax.set_title("Where it looks most, input by input", fontsize=10)
        handles = [
            matplotlib.patches.Patch(color=POSITION_COLOURS[k], label=t)
            for k, t in zip(POSITION_KEYS, POSITIONS, strict=True)
        ]
        map_ax.legend(
            handles=handles, title="top key", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0)
        )
        fig.suptitle(f"{name}: {label.kind.value} (score {label.score:.2f})", fontweight="bold")
        fig.tight_layout()
        alt = (
            f"Head {name}, labelled {label.kind.value}: its attention from = on the chosen pairs; its "
            "distribution over "
            f"all inputs (mean a {h.mean['a']:.2f}, + {h.mean['plus']:.2f}, b {h.mean['b']:.2f}, = "
            f"{h.mean['equals']:.2f}); "
            "a histogram of a / (a + b) per input; and a map over the (a, b) grid of the position that gets the most "
            "attention on each input, paler where that attention is weaker."
        )
        return Figure(f"head_{name}.png", to_png(fig), alt)


def layers_figure(stats: Stats) -> Figure:
    """Per layer: entropy and sharpness, and the share of attention on each position."""
    layers = [l.layer for l in stats.layers]
    with plt.rc_context(STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.2))
        left.plot(
            layers, [l.entropy for l in stats.layers], "o-", color="#0072B2", label="entropy (0 sharp, 1 uniform)"
        )
        left.plot(
            layers, [l.mean_max for l in stats.layers], "s--", color="#D55E00", label="mean_max (1 sharp, 0.25 uniform)"
        )
        left.set_xticks(layers, [f"layer {l}" for l in layers])
        left.set_ylim(0, 1.05)
        left.legend(fontsize=8, frameon=False, loc="best")
        left.set_title("Broad or sharp", fontsize=10)
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
                        fontsize=8,
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
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(1.0, 1.0),
            loc="upper left",
        )
        right.set_title("Where each layer looks", fontsize=10)
        fig.tight_layout()
        return Figure(
            "layers.png",
            to_png(fig),
            "Per layer, mean entropy and mean largest weight of attention from =, and the share of "
            "attention on a, +, b and =.",
        )


def training_figure(history) -> Figure:
    """Loss and accuracy by epoch; how sharp each layer's attention from = became; and how much of
    the = residual is the same for every input (near 1 on the plateau, where the model ignores a and b)."""
    epochs = [r.epoch for r in history]  # history: Epoch records of the training record
    n_layers = len(history[0].layers)
    markers = "osd^v<>p"
    with plt.rc_context(STYLE):
        fig, ((loss_ax, acc_ax), (sharp_ax, const_ax)) = plt.subplots(2, 2, figsize=(10, 6.6))
        for ax, key, title in ((loss_ax, "loss", "Loss (nats, log scale)"), (acc_ax, "accuracy", "Accuracy")):
            ax.plot(epochs, [getattr(r, f"train_{key}") for r in history], color="#0072B2", label="train")
            ax.plot(
                epochs, [getattr(r, f"test_{key}") for r in history], color="#D55E00", linestyle="--", label="held out"
            )
            ax.set_title(title, fontsize=10)
        loss_ax.set_yscale("log")
        acc_ax.set_ylim(0, 1.02)
        for ax, key, title in (
            (sharp_ax, "mean_max", "Sharpness of attention from = (mean_max)"),
            (const_ax, "constant_share", "Share of the = residual that is the same for every input"),
        ):
            for layer in range(n_layers):
                ax.plot(
                    epochs,
                    [getattr(r.layers[layer], key) for r in history],
                    marker=markers[layer % 8],
                    markersize=3,
                    label=f"after layer {layer}" if key == "constant_share" else f"layer {layer}",
                )
            ax.set_title(title, fontsize=10)
            ax.set_ylim(0, 1.02)
        sharp_ax.axhline(0.25, color="#999999", linewidth=0.8, linestyle=":")
        sharp_ax.text(epochs[-1], 0.27, "uniform", ha="right", fontsize=8, color="#666666")
        for ax in (loss_ax, acc_ax, sharp_ax, const_ax):
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        return Figure(
            "training.png",
            to_png(fig),
            "Four panels by epoch: train and held-out loss; train and held-out accuracy; the mean largest "
            "attention weight from = of each layer; and the share of the = residual after each layer that is "
            "the same for every input.",
        )


def draw_all(stats: Stats, labels: list[Label], history) -> list[Figure]:
    """Every figure the site shows; the training figure only when the history tracked its layers."""
    figures = [heads_grid(stats, labels), mean_attention(stats), pairs_figure(stats), layers_figure(stats)]
    figures += [head_figure(stats, h, label) for h, label in zip(stats.heads, labels, strict=True)]
    if history and history[0].layers:
        figures.append(training_figure(history))
    return figures
