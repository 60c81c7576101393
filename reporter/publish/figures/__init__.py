"""Matplotlib figures: one function per figure, each returning PNG bytes, alt text and the CSV it draws."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from reporter.publish.figures.figure import Figure


@dataclass(frozen=True)
class Plan:
    """One figure to draw: ``function`` of the module ``figures.<module>`` on ``arguments``. The cache keys
    a figure by its plan, so a figure whose values did not change is not drawn again: give it only what it
    draws (figures/shown.py), or a threshold that moves a score it never shows redraws it."""

    module: str  # attention, circuit, heads, model or runs
    function: str
    arguments: tuple

    @property
    def name(self) -> str:
        return f"{self.module}.{self.function}"

    def digest(self) -> str:
        """sha256 of the values the figure draws."""
        from reporter.cache_codec import digest

        return digest(list(self.arguments))


def figure_plans(analysis, comparison: dict | None = None) -> list[Plan]:
    """Every figure the site shows; the training figure only when the history tracked its layers, the
    niches across runs only with a comparison."""
    from reporter.publish.figures.shown import head_shown, switch_rules

    stats, roles, measured = analysis.stats, analysis.roles, analysis.measured
    rules = switch_rules(roles)  # the Fourier figure draws only the switching heads' rules
    holds = [{k: v.value for k, v in r.holds.items()} for r in analysis.reading.readings]
    plans = [
        Plan("heads", "heads_grid", (stats, roles, analysis.thresholds)),
        Plan("attention", "mean_attention", (stats,)),
        Plan("attention", "pairs_figure", (stats,)),
        Plan("attention", "layers_figure", (stats,)),
        Plan("model", "positions_figure", (measured.contents, holds, stats.n_layers)),
        Plan("model", "fourier_figure", (measured.logits, measured.embedding, measured.unembedding, rules)),
    ]
    shown = [head_shown(role) for role in roles]  # what each head's figure draws of its role
    plans += [Plan("heads", "head_figure", (stats.task, h, s)) for h, s in zip(stats.heads, shown, strict=True)]
    plans += circuit_plans(analysis)
    history = analysis.training.history if analysis.training else ()
    if history and history[0].layers:
        plans.append(Plan("model", "training_figure", (history,)))
    if comparison:
        plans.append(Plan("runs", "niches_figure", (comparison,)))
        if any(run["components"] for run in comparison["runs"]):
            plans.append(Plan("runs", "work_figure", (comparison,)))
        plans.append(Plan("runs", "frequencies_figure", (comparison, stats.task.modulus)))
    return plans


def circuit_plans(analysis) -> list[Plan]:
    """The circuit figure and, where the model has MLPs, its neurons by frequency: keyed by plain values."""
    circuit, reading = analysis.measured.circuit, analysis.circuit
    effects = {c.name: c.ablation.equals.delta_loss for c in circuit.components.components}
    blocks = [
        {
            "name": b.name,
            "kind": b.kind,
            "layer": b.layer,
            "delta_loss": effects[b.name],
            "importance": b.importance.value,
            "products": b.forms_products,
        }
        for b in reading.blocks
    ]
    heads = [{"layer": r.layer, "name": r.name, "importance": r.importance.value} for r in analysis.roles]
    stages = [
        {
            "after": s.after,
            "answer": s.shares.answer,
            "readout": s.readout_accuracy,
            "readable": s.after == reading.readable_at,
            "frequency": max(s.answer_frequencies, key=s.answer_frequencies.get)
            if s.answer_frequencies and s.shares.answer >= analysis.thresholds.internal_answer
            else None,
        }
        for s in circuit.stages
    ]
    plans = [Plan("circuit", "circuit_figure", (blocks, heads, stages))]
    if circuit.neurons_fire:
        layers = [{"layer": n.layer, "by_frequency": n.by_frequency} for n in circuit.neurons]
        plans.append(Plan("circuit", "neurons_figure", (layers,)))
    return plans


def draw(plan: Plan) -> Figure:
    """The figure a plan describes (matplotlib is imported here, not before)."""
    module = import_module(f"reporter.publish.figures.{plan.module}")
    return getattr(module, plan.function)(*plan.arguments)


def draw_all(analysis, comparison: dict | None = None) -> list[Figure]:
    """Every figure the site shows, drawn."""
    return [draw(plan) for plan in figure_plans(analysis, comparison)]


__all__ = ["Figure", "Plan", "draw", "draw_all", "figure_plans"]
