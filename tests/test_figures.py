"""Figures: the summaries, one per head, and the model's; each with alt text, its data as CSV, a size that
reads on the page, and the same bytes every time."""

from __future__ import annotations

import csv
import io
import struct

import pytest

from reporter.analysis import Options, analyse
from reporter.publish.figures import draw_all

HEADS = [["a:copy", "larger:copy"], ["uniform", "plus:constant"]]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def analysis(handmade_checkpoint):
    return analyse(handmade_checkpoint(13, HEADS), Options(pairs=((3, 9),)))


def test_every_figure_is_drawn_with_alt_text_and_its_data(analysis):
    figures = {f.name: f for f in draw_all(analysis)}
    assert set(figures) == {
        "heads.png",
        "mean_attention.png",
        "pairs.png",
        "layers.png",
        "positions.png",
        "fourier.png",
        "circuit.png",  # its MLPs write nothing: no neurons figure
        "head_L0H0.png",
        "head_L0H1.png",
        "head_L1H0.png",
        "head_L1H1.png",
    }
    for figure in figures.values():
        assert len(figure.alt) > 40, figure.name
        rows = list(csv.reader(io.StringIO(figure.csv)))
        assert len(rows) >= 2, figure.name
    assert "L0H1" in figures["heads.png"].alt and "switches a / b" in figures["heads.png"].alt
    heads = list(csv.DictReader(io.StringIO(figures["heads.png"].csv)))
    assert [h["head"] for h in heads] == ["L0H0", "L0H1", "L1H0", "L1H1"]
    assert heads[1]["looks"] == "switches_ab" and heads[0]["carries"] == "a"


@pytest.mark.slow
def test_figures_are_byte_identical_when_drawn_twice(analysis):
    first, second = draw_all(analysis), draw_all(analysis)
    assert [f.png for f in first] == [f.png for f in second]
    assert [f.csv for f in first] == [f.csv for f in second]


@pytest.mark.slow
def test_figures_have_the_size_the_pages_expect(analysis):
    sizes = {f.name: png_size(f.png) for f in draw_all(analysis)}
    assert sizes["head_L0H0.png"] == (1100, 800)  # 11 x 8 inches at 100 dpi: shown at its own size
    width, height = sizes["heads.png"]
    assert width > height
    assert all(w <= 1200 and h <= 1200 for w, h in sizes.values())
