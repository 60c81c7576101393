"""Matplotlib figures: one function per figure, each returning PNG bytes, alt text and the CSV it draws."""

from __future__ import annotations

from reporter.publish.figures.style import Figure


def draw_all(analysis) -> list[Figure]:
    """Every figure the site shows; the training figure only when the history tracked its layers."""
    from reporter.publish.figures.attention import layers_figure, mean_attention, pairs_figure
    from reporter.publish.figures.heads import head_figure, heads_grid
    from reporter.publish.figures.model import fourier_figure, positions_figure, training_figure

    stats, roles, measured = analysis.stats, analysis.roles, analysis.measured
    holds = [{k: v.value for k, v in r.holds.items()} for r in analysis.reading.readings]
    figures = [
        heads_grid(stats, roles, analysis.thresholds),
        mean_attention(stats),
        pairs_figure(stats),
        layers_figure(stats),
        positions_figure(measured.contents, holds, stats.n_layers),
        fourier_figure(measured.logits, measured.embedding, measured.unembedding, roles),
    ]
    figures += [head_figure(stats, h, role) for h, role in zip(stats.heads, roles, strict=True)]
    history = analysis.training.history if analysis.training else ()
    if history and history[0].layers:
        figures.append(training_figure(history))
    return figures


__all__ = ["Figure", "draw_all"]
