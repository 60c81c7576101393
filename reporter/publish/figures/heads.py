"""The overview grid of every head, and one figure for each head: where it looks, input by input and
over all inputs, what its write carries, and what breaks without it."""

from __future__ import annotations

import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np

from reporter.interpret.roles import HeadRole
from reporter.interpret.stats import HeadStats, Stats
from reporter.interpret.thresholds import Thresholds
from reporter.model.task import POSITION_KEYS, POSITIONS, Task
from reporter.publish.figures.figure import Figure
from reporter.publish.figures.head_attention import attention_map, distribution
from reporter.publish.figures.shown import HeadShown
from reporter.publish.figures.style import (
    DARK_CELLS,
    IMPORTANCE_COLOURS,
    cell,
    fixed,
    headline,
    style,
    to_csv,
    to_png,
)


def heads_grid(stats: Stats, roles: list[HeadRole], t: Thresholds) -> Figure:
    """Every head as a cell (layer x head): its colour says how much the model needs it, its text what it does."""
    with style():
        fig, ax = plt.subplots(figsize=(max(4.2, 2.55 * stats.n_heads + 1.1), 1.32 * stats.n_layers + 1.45))
        for role in roles:
            x, y, band = role.head, role.layer, role.importance.value
            cell(ax, x, y, IMPORTANCE_COLOURS[band])
            ink = "#FFFFFF" if band in DARK_CELLS else "#111111"
            delta = fixed(role.effects.ablation_equals.delta_loss, 2)
            looks = role.looks.kind.value
            said = role.carries.value in ("answer", "nothing")  # the headline already says what it carries
            lines = [
                (role.name, 11, "bold"),
                (headline(role), 10.5, "normal"),
                (f"looks {looks}" if role.reads.kind == role.looks.kind else f"by position: {looks}", 9, "normal"),
                (f"Δ at = {delta} nats" if said else f"carries {role.carries.value} · Δ at = {delta}", 9, "normal"),
            ]
            for i, (text, size, weight) in enumerate(lines):
                ax.text(
                    x + 0.5,
                    y + 0.2 + 0.21 * i,
                    text,
                    ha="center",
                    va="center",
                    color=ink,
                    fontsize=size,
                    fontweight=weight,
                )
        ax.set_xlim(0, stats.n_heads)
        ax.set_ylim(stats.n_layers, 0)
        ax.set_xticks(np.arange(stats.n_heads) + 0.5, [f"head {h}" for h in range(stats.n_heads)])
        ax.set_yticks(np.arange(stats.n_layers) + 0.5, [f"layer {l}" for l in range(stats.n_layers)])
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        bands = [
            ("inert", f"inert: Δloss < {t.importance_minor:g}"),
            ("minor", f"minor: < {t.importance_matters:g}"),
            ("matters", f"matters: < {t.importance_critical:g}"),
            ("critical", f"critical: ≥ {t.importance_critical:g} nats"),
        ]
        handles = [
            matplotlib.patches.Patch(facecolor=IMPORTANCE_COLOURS[k], edgecolor="#333333", label=text)
            for k, text in bands
        ]
        narrow = stats.n_heads < 3  # a grid too narrow for the legend in one row: a column a head, the title in two
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.05),
            ncol=stats.n_heads if narrow else 4,
            frameon=False,
            title="colour: what the loss rises by when the head's"
            + ("\n" if narrow else " ")
            + "output at = is replaced by its mean",
        )
        ax.set_title("What each head does")
        fig.tight_layout()
        alt = (
            "Grid of all heads by layer and head, coloured by how much the model needs each: "
            + "; ".join(
                f"{r.name} {r.importance.value} at ="
                + ("" if r.importance_anywhere == r.importance else f" ({r.importance_anywhere.value} everywhere)")
                + f", {headline(r)}"
                + ("" if r.carries.value in ("answer", "nothing") else f", carries {r.carries.value}")
                for r in roles
            )
            + "."
        )
        rows = [
            [
                r.name,
                r.layer,
                r.head,
                r.looks.kind.value,
                r.reads.kind.value,
                r.carries.value,
                r.importance.value,
                r.effects.ablation_equals.delta_loss,
                r.effects.ablation_equals.accuracy,
                headline(r),
            ]
            for r in roles
        ]
        header = [
            "head",
            "layer",
            "index",
            "looks",
            "reads",
            "carries",
            "importance",
            "delta_loss",
            "accuracy",
            "headline",
        ]
        return Figure("heads.png", to_png(fig), alt, to_csv(header, rows))


CONTENT_BARS = (
    ("a alone", "a", "#0072B2"),
    ("b alone", "b", "#E69F00"),
    ("a and b jointly", "interaction", "#CC79A7"),
    ("… of which the answer", "answer", "#009E73"),
)


SILENT_BAND = 4.4  # the row (below the four bars) where a silent head's note goes


def carried(ax, role: HeadShown) -> None:
    shares, silent = role.write.shares, role.carries.value == "nothing"
    values = [getattr(shares, key) for _, key, _ in CONTENT_BARS]
    colours = ["#DDDDDD" if silent else c for *_, c in CONTENT_BARS]
    ax.barh(range(4), values, color=colours, edgecolor="#333333", linewidth=0.5)
    for i, value in enumerate(values):
        ax.text(
            min(value, 0.86) + 0.02,
            i,
            f"{value:.0%}",
            va="center",
            fontsize=10,
            color="#999999" if silent else "#111111",
        )
    ax.set_yticks(range(4), [name for name, *_ in CONTENT_BARS])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of what varies with the input")
    ax.set_title(f"What its write at = carries: {role.carries.value}")
    if silent:  # the note sits in a band of its own below the bars, never over a bar or its label
        ax.set_ylim(SILENT_BAND + 0.9, -0.6)
        ax.text(
            0.5,
            SILENT_BAND,
            "the same vector on every input:\nthese shares split a variation near zero",
            ha="center",
            va="center",
            fontsize=11,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "#999999"},
        )
    else:
        ax.invert_yaxis()
    ax.text(
        1.0,
        -0.22,
        f"it varies {role.write.relative_spread:.0%} as much as its layer's busiest head",
        transform=ax.transAxes,
        ha="right",
        fontsize=9.5,
        color="#444444",
    )


def effect_bars(role: HeadShown) -> list[tuple[str, float, str]]:
    e = role.effects
    return [
        ("mean-ablate at =", e.ablation_equals.delta_loss, "#0072B2"),
        ("mean-ablate everywhere", e.ablation_all.delta_loss, "#56B4E9"),
        ("zero-ablate at = (contrast)", e.zero_equals.delta_loss, "#BBBBBB"),
        ("patch in another a", e.patch_a.delta_loss, "#D55E00"),
        ("patch in another b", e.patch_b.delta_loss, "#E69F00"),
        ("pattern → its mean", e.pattern_mean.delta_loss, "#009E73"),
        (f"pattern → its rule ({e.rule})", e.pattern_rule.delta_loss, "#CC79A7"),
        (f"pattern → one frequency (k = {e.frequency})", e.pattern_frequency.delta_loss, "#F0E442"),
    ]


def effects(ax, role: HeadShown) -> None:
    bars = effect_bars(role)
    values = [v for _, v, _ in bars]
    top = max(1.0, max(values) * 1.25)
    ax.barh(range(len(bars)), values, color=[c for *_, c in bars], edgecolor="#333333", linewidth=0.5)
    for i, value in enumerate(values):
        ax.text(max(value, 0) + top * 0.02, i, fixed(value, 3), va="center", fontsize=10)
    ax.set_yticks(range(len(bars)), [name for name, *_ in bars])
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, min(values)), top)
    ax.set_xlabel("Δloss over all inputs (nats)")
    ax.set_title(f"What breaks without it: {role.importance.value}")


def head_figure(task: Task, h: HeadStats, role: HeadShown) -> Figure:
    """One head, four panels (``role``: what the figure shows of its role, figures/shown.py)."""
    with style():
        fig, ((map_ax, dist_ax), (content_ax, effect_ax)) = plt.subplots(2, 2, figsize=(11.0, 8.0))
        attention_map(map_ax, h, task.modulus, role.preference)
        distribution(dist_ax, h, task.n_inputs)
        carried(content_ax, role)
        effects(effect_ax, role)
        fig.suptitle(f"{h.name}: {headline(role)}", fontweight="bold", fontsize=13)
        fig.tight_layout()
        order = "" if role.preference is None else ", a and b ordered by its one-frequency rule"
        alt = (
            f"Head {h.name} ({headline(role)}): a map over the (a, b) grid{order} of the position that gets the "
            f"most attention on each input; its attention from = to a, +, b and = over all inputs (mean a "
            f"{h.mean['a']:.2f}, + {h.mean['plus']:.2f}, b {h.mean['b']:.2f}, = {h.mean['equals']:.2f}); what its "
            f"write at = carries ({role.carries.value}); and the loss after each intervention on it."
        )
        rows = [
            [f"attention_{k}_{q}", "", "", "", v]
            for k in POSITION_KEYS
            for q, v in zip(("p05", "p25", "median", "p75", "p95"), h.quantiles[k], strict=True)
        ]
        rows += [[f"attention_{k}_mean", "", "", "", h.mean[k]] for k in POSITION_KEYS]
        rows += [[f"carries_{key}", "", "", "", getattr(role.write.shares, key)] for _, key, _ in CONTENT_BARS]
        rows += [[f"delta_loss: {name}", "", "", "", value] for name, value, _ in effect_bars(role)]
        p = task.modulus
        top, strength = h.weights.argmax(-1), h.weights.max(-1)  # [input]: the map, input a * p + b
        rows += [["most_attention", i // p, i % p, POSITIONS[top[i]], float(strength[i])] for i in range(task.n_inputs)]
        header = ["quantity", "a", "b", "position", "value"]
        return Figure(f"head_{h.name}.png", to_png(fig), alt, to_csv(header, rows))
