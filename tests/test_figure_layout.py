"""Figures as a reader sees them at page size: no text cut off at the figure's edge, no note covering a bar
or its label, and a switching head's map that shows one boundary between a and b rather than stripes."""

from __future__ import annotations

import math
from dataclasses import replace

import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest

from reporter.analysis import Options, analyse
from reporter.model.training_record import Epoch, LayerTrack
from reporter.publish.figures import Plan, draw, figure_plans
from reporter.publish.figures.style import POSITION_COLOURS

HEADS = [["a:copy", "larger:copy"], ["uniform", "plus:constant"]]  # L1H0 writes nothing: a silent head
SWITCH = [["frequency:copy", "a:copy"]]  # L0H0 attends to the operand with the larger cos(2π·3·x/p + 0.7)


@pytest.fixture
def drawn(monkeypatch):
    """drawn(plan) -> the Figure, the matplotlib figure its PNG was saved from, and the renderer that drew
    it (kept before the figure is closed), to measure what the PNG shows."""
    saved = []
    real = matplotlib.figure.Figure.savefig

    def keeping(fig, *args, **kwargs):
        result = real(fig, *args, **kwargs)
        saved.append((fig, fig.canvas.get_renderer()))
        return result

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keeping)

    def draw_keeping(plan: Plan):
        figure = draw(plan)
        return (figure, *saved[-1])

    return draw_keeping


@pytest.fixture(scope="module")
def analysis(handmade_checkpoint):
    return analyse(handmade_checkpoint(13, HEADS), Options(pairs=((3, 9),), baseline=False))


def history(n_layers: int = 3, epochs: int = 12) -> tuple[Epoch, ...]:
    """A training record's history as the trainer writes one (the numbers only shape the curves)."""
    return tuple(
        Epoch(
            epoch=e,
            train_loss=5.0 * 0.6**e,
            train_accuracy=min(1.0, 0.1 * e),
            test_loss=5.2 * 0.6**e,
            test_accuracy=min(1.0, 0.09 * e),
            wall_time=None,
            layers=tuple(
                LayerTrack(0.5, 0.5 + 0.03 * e, max(0.0, 1 - 0.1 * e * (layer + 1))) for layer in range(n_layers)
            ),
        )
        for e in range(1, epochs + 1)
    )


def outside(fig, renderer) -> float:
    """How far, in pixels, the drawn artists reach beyond the figure's edges (0 when everything is inside)."""
    box, frame = fig.get_tightbbox(renderer), fig.bbox_inches
    return fig.dpi * max(frame.x0 - box.x0, frame.y0 - box.y0, box.x1 - frame.x1, box.y1 - frame.y1, 0.0)


@pytest.mark.slow
def test_no_figure_cuts_off_a_title_a_label_or_a_legend(analysis, drawn):
    plans = [*figure_plans(analysis), Plan("model", "training_figure", (history(),))]
    for plan in plans:
        figure, fig, renderer = drawn(plan)
        assert outside(fig, renderer) <= 1.0, f"{figure.name} reaches {outside(fig, renderer):.0f} px beyond its edge"


def test_the_training_figures_titles_each_fit_above_their_panel(drawn):
    _, fig, renderer = drawn(Plan("model", "training_figure", (history(),)))
    for ax in fig.axes:
        title, panel = ax.title.get_window_extent(renderer), ax.get_tightbbox(renderer)
        assert title.x0 >= 0 and title.x1 <= fig.bbox.width, ax.get_title()
        assert title.width <= 1.2 * ax.bbox.width and panel.x1 <= fig.bbox.width, ax.get_title()


def test_a_silent_heads_note_covers_no_bar_and_no_bar_label(analysis, drawn):
    plan = next(p for p in figure_plans(analysis) if p.name == "heads.head_figure" and p.arguments[2].name == "L1H0")
    task, h, shown = plan.arguments
    assert shown.carries.value == "nothing"
    for a, b in ((0.62, 0.38), (0.5, 0.5), (0.05, 0.95), (0.3, 0.3)):  # the shipped L0H0's split first
        shares = replace(shown.write.shares, a=a, b=b, interaction=1 - a - b, answer=0.0)
        moved = replace(shown, write=replace(shown.write, shares=shares))
        _, fig, renderer = drawn(Plan("heads", "head_figure", (task, h, moved)))
        ax = next(ax for ax in fig.axes if ax.get_title().startswith("What its write at = carries"))
        (note,) = [t for t in ax.texts if t.get_bbox_patch() is not None]
        box = note.get_bbox_patch().get_window_extent(renderer)
        others = [t.get_window_extent(renderer) for t in ax.texts if t is not note and t.get_text().strip()]
        others += [bar.get_window_extent(renderer) for bar in ax.patches]
        assert len(others) == 4 + 4 + 1  # the four labels, the four bars, the footnote
        assert not any(box.overlaps(other) for other in others), (a, b)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width


def colour_of(rgb: np.ndarray) -> np.ndarray:
    """[row, column] the position whose colour each drawn cell has: a cell is its colour faded toward white,
    so white minus the cell points the way white minus that colour does (0 = a, 1 = +, 2 = b, 3 = =)."""
    palette = np.array([matplotlib.colors.to_rgb(POSITION_COLOURS[k]) for k in ("a", "plus", "b", "equals")])
    towards = (1 - palette) / np.linalg.norm(1 - palette, axis=-1, keepdims=True)  # [key, rgb]
    return ((1 - rgb[..., :3]) @ towards.T).argmax(-1)


def switches_along_rows(top: np.ndarray) -> float:
    """Mean number of times the top key changes from one cell to the next along a row of the map."""
    return float((top[:, 1:] != top[:, :-1]).sum(1).mean())


def test_a_switching_heads_map_shows_one_boundary_where_its_rule_puts_it(handmade_checkpoint, drawn):
    p = 31
    analysis = analyse(handmade_checkpoint(p, SWITCH), Options(sweep=False, baseline=False))
    plan = next(p for p in figure_plans(analysis) if p.name == "heads.head_figure" and p.arguments[2].name == "L0H0")
    rule = plan.arguments[2].preference
    assert rule is not None and rule.frequency == 3  # the rule the hand-made head was built with
    _, fig, _ = drawn(plan)
    ax = next(ax for ax in fig.axes if ax.get_title().startswith("Where it looks most"))
    top = colour_of(np.asarray(ax.images[0].get_array()))  # [row, column] as drawn
    natural = plan.arguments[1].weights.argmax(-1).reshape(p, p)  # [a, b] in the order 0 … p - 1
    assert switches_along_rows(natural) >= 4  # unordered, frequency 3 paints stripes
    assert switches_along_rows(top) <= 1.2  # ordered by the rule: one switch a row, at most
    wave = np.sort(np.cos(2 * math.pi * rule.frequency * np.arange(p) / p + rule.phase))  # [x] as drawn
    predicted_a = wave[:, None] - wave[None, :] + rule.bias > 0  # [row: a, column: b]
    assert set(np.unique(top)) <= {0, 2}
    assert ((top == 0) == predicted_a).mean() >= 0.95  # a above the boundary, b below it, as the legend says
