"""The two attention panels of a head's figure: where it looks most, input by input (both operands ordered by
its rule when it switches between a and b), and its attention to each position over all inputs."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.lines
import matplotlib.patches
import numpy as np

from reporter.interpret.stats import HeadStats
from reporter.measure.fourier import PreferenceRule
from reporter.model.task import POSITION_KEYS, POSITIONS
from reporter.publish.figures.style import POSITION_COLOURS


def map_order(preference: PreferenceRule | None, modulus: int) -> np.ndarray:
    """[p] the operand values in the order the map draws them: by the head's rule cos(2π k x / p + phase) for a
    head that switches (so that a preference at a high frequency is one boundary, not stripes), else 0 … p - 1."""
    x = np.arange(modulus)
    if preference is None:
        return x
    return np.argsort(np.cos(2 * np.pi * preference.frequency * x / modulus + preference.phase), kind="stable")


def attention_map(ax, h: HeadStats, modulus: int, preference: PreferenceRule | None) -> None:
    """The (a, b) grid coloured by the position that gets the most attention, paler where it gets less; both
    axes ordered by the head's rule when it has one, with the rule's boundary drawn."""
    order = map_order(preference, modulus)
    top = h.weights.argmax(-1).reshape(modulus, modulus)[np.ix_(order, order)]  # [a, b] in the drawn order
    strength = h.weights.max(-1).reshape(modulus, modulus)[np.ix_(order, order)]  # [a, b] in [0.25, 1]
    colours = np.array([matplotlib.colors.to_rgb(POSITION_COLOURS[k]) for k in POSITION_KEYS])  # [key, rgb]
    fade = ((strength - 0.25) / 0.75)[..., None]  # 0 for uniform, 1 for all on one position
    ax.imshow(colours[top] * fade + (1 - fade), origin="lower", interpolation="nearest")
    handles = [
        matplotlib.patches.Patch(color=POSITION_COLOURS[k], label=t)
        for k, t in zip(POSITION_KEYS, POSITIONS, strict=True)
    ]
    if preference is None:
        ax.set_xlabel("b")
        ax.set_ylabel("a")
        ax.set_title("Where it looks most, input by input")
    else:
        wave = np.cos(2 * np.pi * preference.frequency * order / modulus + preference.phase)  # [x] ascending
        ax.contour(
            (wave[:, None] - wave[None, :] + preference.bias > 0).astype(float),
            levels=[0.5],
            colors="#111111",
            linewidths=1.2,
            linestyles="--",
        )
        phase = np.degrees(preference.phase)
        rule = f"cos(2π·{preference.frequency}·x/{modulus} {'−' if phase < 0 else '+'} {abs(phase):.0f}°)"
        ax.set_xlabel(f"b, ordered by {rule}")
        ax.set_ylabel("a, in the same order")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("Where it looks most, sorted by its rule")
        handles.append(
            matplotlib.lines.Line2D(
                [], [], color="#111111", linestyle="--", label="its rule's boundary:\na above, b below"
            )
        )
    ax.legend(handles=handles, title="top key", frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))


def density(values: np.ndarray, points: int = 201, width: float = 0.02) -> dict:
    """What ``Axes.violin`` draws for ``values`` in [0, 1]: a histogram over a fine grid smoothed by a
    Gaussian of ``width`` (a kernel density estimate at a fraction of matplotlib's cost)."""
    coords = np.linspace(0, 1, points)
    counts, _ = np.histogram(values, bins=points, range=(-0.5 / (points - 1), 1 + 0.5 / (points - 1)))
    offsets = np.arange(-points + 1, points) / (points - 1)
    kernel = np.exp(-0.5 * (offsets / width) ** 2)
    smooth = np.convolve(counts, kernel)[points - 1 : 2 * points - 1]  # centred on each grid point
    return {
        "coords": coords,
        "vals": smooth / smooth.max() if smooth.max() > 0 else smooth,
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def distribution(ax, h: HeadStats, n_inputs: int) -> None:
    parts = ax.violin(
        [density(h.weights[:, i]) for i in range(4)], positions=range(4), widths=0.8, showmeans=True, showextrema=False
    )
    for body, key in zip(parts["bodies"], POSITION_KEYS, strict=True):
        body.set_facecolor(POSITION_COLOURS[key])
        body.set_edgecolor("#333333")
        body.set_alpha(0.85)
    parts["cmeans"].set_color("#111111")
    ax.set_xticks(range(4), POSITIONS)
    ax.set_xlabel("key position")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("attention from =")
    ax.set_title(f"Over all {n_inputs} inputs (bar: mean)")
