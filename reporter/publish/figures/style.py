"""What every figure shares: the style, the palette, and the `Figure` it becomes (PNG, alt text, CSV).

Agg backend, fixed size and DPI, no metadata that changes between builds, and the Okabe-Ito palette,
so that figures are byte-identical and colour-blind safe. Beside each PNG goes the CSV of the numbers
it draws.
"""

from __future__ import annotations

import csv
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from reporter.interpret.roles import HeadRole

DPI = 100
# Okabe & Ito (2008), a palette that stays distinct under the common colour-vision deficiencies.
POSITION_COLOURS = {"a": "#0072B2", "plus": "#999999", "b": "#E69F00", "equals": "#009E73"}
IMPORTANCE_COLOURS = {"inert": "#EEEEEE", "minor": "#C6DBEF", "matters": "#6BAED6", "critical": "#08519C"}
DARK_CELLS = {"critical"}  # cells whose text is white
CARRIES_COLOURS = {
    "nothing": "#EEEEEE",
    "a": "#0072B2",
    "b": "#E69F00",
    "a_and_b": "#CC79A7",
    "answer": "#009E73",
    "mixed": "#BBBBBB",
}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "svg.hashsalt": "modreport",
    "axes.prop_cycle": matplotlib.cycler(
        color=["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#000000"]
    ),
}


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def fixed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, and never "-0.00" for a value that rounds to zero."""
    return f"{round(value, digits) + 0.0:.{digits}f}"


def to_csv(header: list[str], rows: list[list]) -> str:
    """CSV text; floats with 6 decimals, like report.json."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([fixed(v, 6) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def cell(ax, x: float, y: float, colour: str, edge: float = 0.8) -> None:
    """One cell of a grid figure (heads, positions): a box at column ``x``, row ``y``, a little inset."""
    ax.add_patch(plt.Rectangle((x + 0.03, y + 0.05), 0.94, 0.9, facecolor=colour, edgecolor="#333333", linewidth=edge))


def style():
    return plt.rc_context(STYLE)


NICHES = {
    "sink": "sink at =: a constant",
    "answer": "carries the answer",
    "attends_a": "reads a",
    "attends_b": "reads b",
    "splits_ab": "splits a, b",
    "spread": "spread",
    "self": "reads =",
    "attends_plus": "reads +",
}  # a head's niche code (HeadRole.niche) as the figures' few words


def headline(role: HeadRole) -> str:
    """What the head does, in a few words, from its niche code (the overview grid and each head's title)."""
    if role.niche == "switches":
        return "switches a / b" + (f", k = {role.preference.frequency}" if role.preference else "")
    if role.niche == "mixed":
        return f"mixed, carries {role.carries.value}"
    return NICHES[role.niche]
