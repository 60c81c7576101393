"""Figures of the model as a whole: what each position holds, its Fourier structure, and its training."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from reporter.measure.content import PositionContent
from reporter.measure.fourier import LogitSpectrum, PreferenceRule, Spectrum
from reporter.model.task import POSITION_KEYS, POSITIONS, TOKEN_OF
from reporter.publish.figures.figure import Figure
from reporter.publish.figures.style import CARRIES_COLOURS, cell, style, to_csv, to_png


def positions_figure(contents: list[PositionContent], holds: list[dict], n_layers: int) -> Figure:
    """Layers' inputs (rows) by position (columns), coloured by what each position holds there."""
    with style():
        fig, ax = plt.subplots(figsize=(11.0, 0.95 * (n_layers + 1) + 1.4))
        rows = []
        for row in contents:
            y, x = row.layer, POSITION_KEYS.index(row.position)
            label = holds[row.layer][row.position]
            s = row.shares
            cell(ax, x, y, CARRIES_COLOURS[label], edge=0.6)
            ink = "#FFFFFF" if label in ("a", "answer") else "#111111"
            name = "constant" if label == "nothing" else label.replace("_", " ")
            detail = (
                "the same on every input" if label == "nothing" else f"a {s.a:.0%} · b {s.b:.0%}\nanswer {s.answer:.0%}"
            )
            ax.text(x + 0.5, y + 0.3, name, ha="center", va="center", color=ink, fontweight="bold")
            ax.text(x + 0.5, y + 0.64, detail, ha="center", va="center", color=ink, fontsize=9.5, linespacing=1.3)
            rows.append([row.layer, row.position, label, s.a, s.b, s.interaction, s.answer, s.spread, s.rms])
        ax.set_xlim(0, 4)
        ax.set_ylim(n_layers + 1, 0)
        ax.set_xticks(np.arange(4) + 0.5, [f"position {t}" for t in POSITIONS])
        ax.set_yticks(
            np.arange(n_layers + 1) + 0.5, [f"into layer {l}" for l in range(n_layers)] + ["into the unembedding"]
        )
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title("What each position holds, layer by layer")
        fig.tight_layout()
        alt = (
            "Grid of layers by positions, each cell naming what the residual there holds: "
            + "; ".join(f"into layer {r[0]} position {TOKEN_OF[r[1]]} holds {r[2]}" for r in rows)
            + "."
        )
        header = [
            "layer",
            "position",
            "holds",
            "share_a",
            "share_b",
            "share_interaction",
            "share_answer",
            "spread",
            "rms",
        ]
        return Figure("positions.png", to_png(fig), alt, to_csv(header, rows))


def spectrum_bars(ax, shares: np.ndarray, title: str, highlight: list[int]) -> None:
    k = np.arange(1, len(shares) + 1)
    ax.bar(k, shares, color=["#D55E00" if f in highlight else "#0072B2" for f in k], width=0.9)
    top = float(shares.max()) if len(shares) else 1.0
    for f, share in sorted(zip(k, shares, strict=True), key=lambda kv: -kv[1])[:4]:
        ax.text(f, share + 0.02 * top, str(f), ha="center", va="bottom", fontsize=9.5)
    ax.set_ylim(0, 1.15 * top if top > 0 else 1.0)
    ax.set_xlabel("frequency k (cycles over 0 … p - 1)")
    ax.set_ylabel("share of power")
    ax.set_title(title)


def rule_bars(ax, rules: list[tuple[str, PreferenceRule]]) -> None:
    for i, (_, rule) in enumerate(rules):
        ax.barh(i, rule.accuracy, color="#CC79A7", edgecolor="#333333", linewidth=0.5)
        ax.text(
            0.02,
            i,
            f"k = {rule.frequency}, phase {math.degrees(rule.phase):.0f}°",
            va="center",
            fontsize=9.5,
            color="#111111",
        )
        ax.text(rule.accuracy + 0.01, i, f"{rule.accuracy:.0%}", va="center", fontsize=9.5)
    ax.set_yticks(range(len(rules)), [name for name, _ in rules])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("inputs on which the one-frequency rule names its choice")
    if not rules:
        ax.text(0.5, 0.5, "no head switches between a and b", ha="center", transform=ax.transAxes)
    ax.set_title("Switching heads: the one-frequency rule")


def fourier_figure(
    logits: LogitSpectrum, embedding: Spectrum, unembedding: Spectrum, rules: list[tuple[str, PreferenceRule]]
) -> Figure:
    """The logits' power by frequency, the embedding's and the unembedding's, and the switching heads' rules
    (head name, its one-frequency rule: figures/shown.switch_rules)."""
    with style():
        fig, ((logit_ax, rule_ax), (embed_ax, unembed_ax)) = plt.subplots(2, 2, figsize=(11.0, 7.6))
        keys = logits.key_frequencies
        spectrum_bars(logit_ax, logits.diagonal.shares, "Logits over (a, b): power at (k, k)", keys)
        spectrum_bars(embed_ax, embedding.shares, "Embedding of a and b", keys)
        spectrum_bars(unembed_ax, unembedding.shares, "Unembedding (the answer)", keys)
        rule_bars(rule_ax, rules)
        fig.tight_layout()
        alt = (
            f"Four panels: the share of the logits' Fourier power at each frequency (key frequencies in orange: "
            f"{', '.join(map(str, keys)) or 'none'}); for each head that switches between a and b, how often one "
            "frequency's rule names its choice; and the spectra of the embedding and of the unembedding."
        )
        rows = [
            ["spectra", "", k + 1, logits.diagonal.shares[k], embedding.shares[k], unembedding.shares[k], ""]
            for k in range(len(logits.diagonal.shares))
        ]
        rows += [["switching_head", name, rule.frequency, rule.accuracy, "", ""] for name, rule in rules]
        header = ["panel", "head", "frequency", "logits_diagonal", "embedding", "unembedding", "rule_accuracy"]
        return Figure("fourier.png", to_png(fig), alt, to_csv(header, rows))


def training_figure(history) -> Figure:
    """Loss and accuracy by epoch; how sharp each layer's attention from = became; and how much of
    the = residual is the same for every input (near 1 on the plateau, where the model ignores a and b)."""
    epochs = [r.epoch for r in history]  # history: Epoch records of the training record
    n_layers = len(history[0].layers)
    markers = "osd^v<>p"
    with style():
        fig, ((loss_ax, acc_ax), (sharp_ax, const_ax)) = plt.subplots(2, 2, figsize=(10, 6.6))
        for ax, key, title in ((loss_ax, "loss", "Loss (nats, log scale)"), (acc_ax, "accuracy", "Accuracy")):
            ax.plot(epochs, [getattr(r, f"train_{key}") for r in history], color="#0072B2", label="train")
            ax.plot(
                epochs, [getattr(r, f"test_{key}") for r in history], color="#D55E00", linestyle="--", label="held out"
            )
            ax.set_title(title)
        loss_ax.set_yscale("log")
        acc_ax.set_ylim(0, 1.02)
        for ax, key, title in (
            (sharp_ax, "mean_max", "Sharpness from = (mean_max)"),
            (const_ax, "constant_share", "The = residual: share the same on every input"),
        ):
            for layer in range(n_layers):
                ax.plot(
                    epochs,
                    [getattr(r.layers[layer], key) for r in history],
                    marker=markers[layer % 8],
                    markersize=3,
                    label=f"after layer {layer}" if key == "constant_share" else f"layer {layer}",
                )
            ax.set_title(title)
            ax.set_ylim(0, 1.02)
        sharp_ax.axhline(0.25, color="#999999", linewidth=0.8, linestyle=":")
        sharp_ax.text(epochs[-1], 0.27, "uniform", ha="right", fontsize=9, color="#666666")
        for ax in (loss_ax, acc_ax, sharp_ax, const_ax):
            ax.set_xlabel("epoch")
            ax.legend(frameon=False)
        fig.tight_layout()
        header = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
        header += [f"{key}_layer{layer}" for key in ("mean_max", "constant_share") for layer in range(n_layers)]
        rows = [
            [r.epoch, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy]
            + [getattr(r.layers[layer], key) for key in ("mean_max", "constant_share") for layer in range(n_layers)]
            for r in history
        ]
        return Figure(
            "training.png",
            to_png(fig),
            "Four panels by epoch: train and held-out loss; train and held-out accuracy; the mean largest "
            "attention weight from = of each layer; and the share of the = residual after each layer that is "
            "the same for every input.",
            to_csv(header, rows),
        )
