"""Heuristics: each head's niche and each layer's trend, from the statistics alone.

Every threshold lives in `Thresholds`, one field each with its reason; the
methodology page prints the table. Labels are decided on the per-input
distribution over all p² inputs, never on a mean alone: a head that is sharp on
`a` for half the inputs and sharp on `b` for the other half has the same mean
as a head that splits every input evenly, and the two do different work.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from pathlib import Path

from reporter.stats import A, B, HeadStats, LayerStats, by_position


def threshold(default: float, reason: str) -> float:
    return field(default=default, metadata={"reason": reason})


@dataclass(frozen=True)
class Thresholds:
    """Every cut-off of the labels and findings, with the reason for its value."""

    focus: float = threshold(0.5, "a position holds an input's attention when it gets at least half of it (as much as all others together)")
    most_inputs: float = threshold(0.75, "a head 'does X on most inputs' when X holds on at least three inputs in four")
    split_floor: float = threshold(0.3, "an input's attention is divided between a and b when each gets at least 0.3 (QuantaMechInterp's 'split' asks 0.4 of the top two)")
    split_mass: float = threshold(0.75, "and only when a and b together hold at least three quarters of it; otherwise the head is spread")
    switch_minority: float = threshold(0.1, "a switching head holds a on at least 10% of inputs and b on at least 10%, so neither side is an outlier")
    spread_floor: float = threshold(0.15, "a position takes part in a spread pattern when it gets at least 0.15 (uniform over 4 is 0.25)")
    sharp_mean_max: float = threshold(0.6, "a layer is sharp when its mean largest weight is at least 0.6 (uniform is 0.25)")
    specialised_share: float = threshold(0.5, "later layers are specialised on single inputs when at least half their heads hold a, b, or switch between them")
    distinct_niches: float = threshold(3, "heads divide the work when at least 3 different labels (other than mixed) occur")
    inputs_mass: float = threshold(0.5, "a and b dominate when they receive more than half of all attention from =")
    plus_little: float = threshold(0.1, "+ gets 'little' attention below 0.1 (less than half of uniform's 0.25)")
    self_strong: float = threshold(0.3, "layer 0 attends strongly to = when = gets at least 0.3 of its attention (more than uniform's 0.25)")
    plus_rise: float = threshold(0.02, "later layers attend to + more than layer 0 when their share exceeds layer 0's by at least 2 points")

    @classmethod
    def reasons(cls) -> list[tuple[str, str]]:
        """(name, reason) for each threshold, in table order."""
        return [(f.name, f.metadata["reason"]) for f in fields(cls)]

    def with_overrides(self, overrides: dict) -> "Thresholds":
        """A copy with some values changed; an unknown name or a non-number is refused."""
        known = {f.name for f in fields(self)}
        for name, value in overrides.items():
            if name not in known:
                raise ValueError(f"unknown threshold {name!r}; known thresholds: {', '.join(sorted(known))}.")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"threshold {name!r} must be a number, not {value!r}.")
        return replace(self, **{name: float(value) for name, value in overrides.items()})


def read_thresholds(path: Path, base: Thresholds | None = None) -> Thresholds:
    """Thresholds from a JSON object of overrides, e.g. {"focus": 0.6}."""
    try:
        overrides = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read thresholds from {path}: {error}.") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"{path} must hold a JSON object of threshold names and numbers.")
    return (base or Thresholds()).with_overrides(overrides)


class HeadLabel(str, Enum):
    """Where a head's attention from `=` goes (contract 4)."""

    attends_a = "attends_a"  # on most inputs, = looks mostly at a
    attends_b = "attends_b"  # on most inputs, = looks mostly at b
    splits_ab = "splits_ab"  # on most inputs, attention is divided between a and b
    switches_ab = "switches_ab"  # sharp on each input, on a for some inputs and b for others
    spread = "spread"  # spread over three or more positions
    self = "self"  # mostly on = itself
    attends_plus = "attends_plus"  # mostly on +
    mixed = "mixed"  # none of these


@dataclass(frozen=True)
class Label:
    """A head's label, the statistic that decided it (its score, in [0, 1]) and the numbers behind it."""

    layer: int
    head: int
    kind: HeadLabel
    score: float
    evidence: dict


SINGLE_TARGET = {HeadLabel.attends_a: "a", HeadLabel.attends_b: "b", HeadLabel.self: "equals", HeadLabel.attends_plus: "plus"}


def condition_shares(h: HeadStats, t: Thresholds) -> dict:
    """Shares of inputs on which each per-input condition holds, from the head's weights [input, key]."""
    w = h.weights
    focused = w >= t.focus  # [input, key]; with focus > 0.5 at most one key per input
    return {
        "focus_share": by_position(focused.mean(0)),
        "sharp_on_a_or_b": round(float((focused[:, A] | focused[:, B]).mean()), 6),
        "split_share": round(float(((w[:, A] >= t.split_floor) & (w[:, B] >= t.split_floor)
                                    & (w[:, A] + w[:, B] >= t.split_mass)).mean()), 6),
        "three_way_share": round(float(((w >= t.spread_floor).sum(-1) >= 3).mean()), 6),
    }


def candidate_scores(shares: dict) -> dict[HeadLabel, float]:
    """For each label, the share of inputs on which its per-input condition holds."""
    scores = {kind: shares["focus_share"][key] for kind, key in SINGLE_TARGET.items()}
    scores[HeadLabel.switches_ab] = shares["sharp_on_a_or_b"]
    scores[HeadLabel.splits_ab] = shares["split_share"]
    scores[HeadLabel.spread] = shares["three_way_share"]
    return scores


# Labels are tried in this order; within a group the highest score wins. A split comes
# first so that a head giving 0.55 to a and 0.45 to b on every input is a split, not a head on a.
PRECEDENCE = (
    (HeadLabel.splits_ab,),
    (HeadLabel.attends_a, HeadLabel.attends_b, HeadLabel.self, HeadLabel.attends_plus),
    (HeadLabel.switches_ab,),
    (HeadLabel.spread,),
)


def head_label(h: HeadStats, t: Thresholds) -> Label:
    """The niche of one head: the first label in PRECEDENCE whose condition holds on most inputs; else mixed."""
    shares = condition_shares(h, t)
    scores = candidate_scores(shares)
    evidence = {
        **shares,
        "a_share_mean": h.a_share_mean,
        "a_share_std": h.a_share_std,
        "a_share_above_09": h.a_share_above_09,
        "a_share_below_01": h.a_share_below_01,
    }
    passes = {kind: score >= t.most_inputs for kind, score in scores.items()}
    on_a, on_b = shares["focus_share"]["a"], shares["focus_share"]["b"]
    passes[HeadLabel.switches_ab] &= min(on_a, on_b) >= t.switch_minority
    for group in PRECEDENCE:
        passing = [kind for kind in group if passes[kind]]
        if passing:
            kind = max(passing, key=lambda k: scores[k])
            if kind is HeadLabel.switches_ab:
                evidence["rule"] = asdict(h.switch)
            return Label(h.layer, h.head, kind, round(scores[kind], 6), evidence)
    closest = max(scores, key=lambda k: scores[k])
    evidence["closest"] = closest.value
    return Label(h.layer, h.head, HeadLabel.mixed, round(scores[closest], 6), evidence)


def label_heads(heads: list[HeadStats], t: Thresholds) -> list[Label]:
    return [head_label(h, t) for h in heads]


@dataclass(frozen=True)
class LayerTrend:
    """One layer's averages and how many of its heads carry each label."""

    layer: int
    mean: dict  # position key -> mean attention from = over heads and inputs
    entropy: float
    mean_max: float
    label_counts: dict  # label id -> number of heads


def layer_trends(layers: list[LayerStats], labels: list[Label]) -> list[LayerTrend]:
    trends = []
    for layer in layers:
        counts = {kind.value: 0 for kind in HeadLabel}
        for label in labels:
            if label.layer == layer.layer:
                counts[label.kind.value] += 1
        trends.append(LayerTrend(layer.layer, layer.mean, layer.entropy, layer.mean_max, counts))
    return trends
