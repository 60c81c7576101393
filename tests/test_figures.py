"""Figures: one per head plus the summaries, each with alt text, a fixed size, and the same bytes every time."""

from __future__ import annotations

import struct

from reporter.figures import draw_all

HEADS = [["a", "larger"], ["uniform", "plus"]]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_every_figure_is_drawn_with_alt_text_that_names_what_it_shows(handmade):
    measured = handmade(13, HEADS)
    figures = {f.name: f for f in draw_all(measured.stats, measured.labels, ())}
    assert set(figures) == {
        "heads.png",
        "mean_attention.png",
        "pairs.png",
        "layers.png",
        "head_L0H0.png",
        "head_L0H1.png",
        "head_L1H0.png",
        "head_L1H1.png",
    }
    for figure in figures.values():
        assert len(figure.alt) > 40, figure.name
    assert "L0H1 switches_ab" in figures["heads.png"].alt
    assert "labelled attends_plus" in figures["head_L1H1.png"].alt


def test_figures_are_byte_identical_when_drawn_twice(handmade):
    measured = handmade(13, HEADS)
    first = draw_all(measured.stats, measured.labels, ())
    second = draw_all(measured.stats, measured.labels, ())
    assert [f.png for f in first] == [f.png for f in second]


def test_figures_have_the_size_the_pages_expect(handmade):
    measured = handmade(13, HEADS)
    sizes = {f.name: png_size(f.png) for f in draw_all(measured.stats, measured.labels, ())}
    assert sizes["head_L0H0.png"] == (990, 726)  # 9.0 x 6.6 inches at 110 dpi
    width, height = sizes["heads.png"]
    assert width > height  # the grid is wider than tall: 2 heads x 2 layers plus labels
    assert all(w <= 1400 and h <= 1400 for w, h in sizes.values())
