"""Figures of how the model computes: the circuit as boxes along the forward, and its neurons by frequency."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

from reporter.publish.figures.figure import Figure
from reporter.publish.figures.style import DARK_CELLS, IMPORTANCE_COLOURS, style, to_csv, to_png

BOX_W, BOX_H, GAP = 1.5, 1.1, 0.85  # a block's box and the arrow between two boxes, in data units


def block_title(name: str, kind: str, layer: int | None) -> str:
    return {"attention": f"attention {layer}", "mlp": f"MLP {layer}"}.get(kind, name)


def circuit_figure(blocks: list[dict], heads: list[dict], stages: list[dict]) -> Figure:
    """The blocks in forward order as boxes coloured by how much the model needs them (mean-ablation at `=`),
    each attention box with its heads; between two boxes, what the residual at `=` holds there: the answer's
    share, the share the model's own read-out answers, and the answer part's strongest frequency."""
    n = len(blocks)
    width = min(1.0 + 1.45 * (n + 2), 12.0)  # at most 1200 px: the page shows it at its own size
    with style():
        fig, ax = plt.subplots(figsize=(width, 4.4))
        step = BOX_W + GAP
        x0 = 0.0
        ax.add_patch(Rectangle((x0, 0), BOX_W, BOX_H, facecolor="#FFFFFF", edgecolor="#333333", linewidth=0.8))
        ax.text(x0 + BOX_W / 2, BOX_H / 2, "embed\na + b =", ha="center", va="center", fontsize=9)
        rows = []
        for i, block in enumerate(blocks):
            x = x0 + (i + 1) * step
            band = block["importance"]
            ink = "#FFFFFF" if band in DARK_CELLS else "#111111"
            ax.add_patch(
                Rectangle((x, 0), BOX_W, BOX_H, facecolor=IMPORTANCE_COLOURS[band], edgecolor="#333333", linewidth=0.8)
            )
            title = block_title(block["name"], block["kind"], block["layer"])
            ax.text(x + BOX_W / 2, 0.78, title, ha="center", va="center", color=ink, fontweight="bold", fontsize=9)
            ax.text(
                x + BOX_W / 2, 0.52, f"Δ {block['delta_loss']:.2f}", ha="center", va="center", color=ink, fontsize=9.5
            )
            if block["products"]:
                ax.text(x + BOX_W / 2, 0.28, "× products", ha="center", va="center", color=ink, fontsize=8.5)
            if block["kind"] == "attention":
                own = [h for h in heads if h["layer"] == block["layer"]]
                size = min(0.22, (BOX_W - 0.1) / max(len(own), 1) - 0.04)
                for j, h in enumerate(own):
                    hx = x + 0.05 + j * (size + 0.04)
                    ax.add_patch(
                        Rectangle(
                            (hx, -0.36),
                            size,
                            size,
                            facecolor=IMPORTANCE_COLOURS[h["importance"]],
                            edgecolor="#333333",
                            linewidth=0.5,
                        )
                    )
                ax.text(x + BOX_W / 2, -0.5, "its heads", ha="center", va="center", fontsize=8.5, color="#555555")
            rows.append([block["name"], block["kind"], block["layer"], block["delta_loss"], band, block["products"]])
        end = x0 + (n + 1) * step
        ax.add_patch(Rectangle((end, 0), BOX_W, BOX_H, facecolor="#FFFFFF", edgecolor="#333333", linewidth=0.8))
        ax.text(end + BOX_W / 2, BOX_H / 2, "unembed", ha="center", va="center", fontsize=9)
        for i, stage in enumerate(stages):
            x = x0 + i * step + BOX_W
            arrow = FancyArrowPatch(
                (x + 0.05, BOX_H / 2), (x + GAP - 0.05, BOX_H / 2), arrowstyle="-|>", mutation_scale=12, color="#555555"
            )
            ax.add_patch(arrow)
            mid = x + GAP / 2
            bold = "bold" if stage["readable"] else "normal"
            ax.text(mid, BOX_H + 0.42, f"ans {stage['answer']:.0%}", ha="center", fontsize=8.5)
            ax.text(mid, BOX_H + 0.15, f"read {stage['readout']:.0%}", ha="center", fontsize=8.5, fontweight=bold)
            if stage["frequency"] is not None:
                ax.text(mid, BOX_H / 2 - 0.3, f"k {stage['frequency']}", ha="center", fontsize=8.5, color="#555555")
        ax.set_xlim(-0.2, end + BOX_W + 0.2)
        ax.set_ylim(-0.7, BOX_H + 1.05)
        ax.set_axis_off()
        ax.set_title(
            "The circuit at =: each block coloured by what mean-ablating it costs (Δ nats)\n"
            "between blocks: the answer's share of the residual (ans), how often the model's own read-out\n"
            "is right there (read), and the answer's strongest frequency (k)",
            fontsize=10,
        )
        legend = [
            Rectangle((0, 0), 1, 1, facecolor=IMPORTANCE_COLOURS[b], edgecolor="#333333") for b in IMPORTANCE_COLOURS
        ]
        ax.legend(
            legend, list(IMPORTANCE_COLOURS), loc="lower center", ncol=4, frameon=False, bbox_to_anchor=(0.5, -0.12)
        )
        fig.tight_layout()
        alt = (
            "The model's blocks in forward order, each with the loss its mean-ablation at = costs: "
            + "; ".join(f"{block_title(r[0], r[1], r[2])} {r[3]:.2f} nats ({r[4]})" for r in rows)
            + ". Between them, the answer's share of the residual at = and how often the model's own read-out "
            "answers there: "
            + "; ".join(f"after {s['after']} {s['answer']:.0%} and {s['readout']:.0%}" for s in stages)
            + "."
        )
        header = ["component", "kind", "layer", "delta_loss_equals", "importance", "forms_products"]
        return Figure("circuit.png", to_png(fig), alt, to_csv(header, rows))


def neurons_figure(layers: list[dict]) -> Figure:
    """Per MLP, how many neurons each frequency dominates (the 8 most common; the rest together)."""
    n = max(len(layers), 1)
    with style():
        fig, axes = plt.subplots(1, n, figsize=(min(4.6 * n, 14.0), 3.6), squeeze=False)
        rows = []
        for ax, layer in zip(axes[0], layers, strict=False):
            counts = list(layer["by_frequency"].items())
            top, rest = counts[:8], sum(c for _, c in counts[8:])
            labels = [str(k) for k, _ in top] + (["other"] if rest else [])
            values = [c for _, c in top] + ([rest] if rest else [])
            ax.bar(range(len(values)), values, color=["#0072B2"] * len(top) + ["#BBBBBB"] * bool(rest))
            ax.set_xticks(range(len(values)), labels)
            ax.set_xlabel("frequency k")
            ax.set_title(f"MLP {layer['layer']}")
            for i, v in enumerate(values):
                ax.text(i, v, str(v), ha="center", va="bottom", fontsize=9)
            rows += [[layer["layer"], k, c] for k, c in counts]
        axes[0][0].set_ylabel("neurons")
        fig.suptitle("Each neuron's strongest frequency over the p × p inputs", fontweight="bold")
        fig.tight_layout()
        alt = "Bar charts of MLP neurons by their dominant frequency: " + "; ".join(
            f"MLP {layer['layer']}: "
            + ", ".join(f"k = {k} for {c}" for k, c in list(layer["by_frequency"].items())[:5])
            for layer in layers
        )
        return Figure("neurons.png", to_png(fig), alt + ".", to_csv(["layer", "frequency", "neurons"], rows))
