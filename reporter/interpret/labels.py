"""Heuristics: each head's niche and each layer's trend, from the statistics alone.

Every threshold lives in `reporter.interpret.thresholds`. Labels are decided on the per-input
distribution over all p² inputs, never on a mean alone: a head that is sharp on `a`
for half the inputs and sharp on `b` for the other half has the same mean as a head
that splits every input evenly, and the two do different work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from reporter.interpret.stats import A, B, HeadStats, LayerStats, by_position, normalised_entropy
from reporter.interpret.thresholds import Thresholds
from reporter.model.task import head_name


class HeadLabel(StrEnum):
    """Where a head's attention from `=` goes (contract 4)."""

    attends_a = "attends_a"  # on most inputs, = looks mostly at a
    attends_b = "attends_b"  # on most inputs, = looks mostly at b
    splits_ab = "splits_ab"  # on most inputs, attention is divided between a and b
    switches_ab = "switches_ab"  # sharp on each input, on a for some inputs and b for others
    spread = "spread"  # spread over three or more positions
    self = "self"  # mostly on = itself
    attends_plus = "attends_plus"  # mostly on +
    mixed = "mixed"  # none of these


SINGLE_TARGET = {
    HeadLabel.attends_a: "a",
    HeadLabel.attends_b: "b",
    HeadLabel.self: "equals",
    HeadLabel.attends_plus: "plus",
}
SINGLE_INPUT = (HeadLabel.attends_a, HeadLabel.attends_b, HeadLabel.switches_ab)  # heads that route one operand


@dataclass(frozen=True)
class Label:
    """A head's label, the statistic that decided it (its score, in [0, 1]) and the numbers behind it."""

    layer: int
    head: int
    kind: HeadLabel
    score: float
    evidence: dict

    @property
    def name(self) -> str:
        return head_name(self.layer, self.head)

    @property
    def target(self) -> str | None:
        """The position key of a single-target label ("a", "plus", "b", "equals"), else None."""
        return SINGLE_TARGET.get(self.kind)


def condition_shares(w: np.ndarray, t: Thresholds) -> dict:
    """Shares of inputs on which each per-input condition holds, from a head's weights ``w`` [input, key]."""
    # [key, input]: numpy reduces over a short last axis slowly, and the sensitivity sweep calls this ~1000 times
    by_key = np.ascontiguousarray(w.T)
    focused = by_key >= t.focus  # [key, input]; with focus > 0.5 at most one key per input
    # Spread: `spread_positions` positions each get a real share, or no position holds the input and attention is broad.
    broad = (by_key.max(0) < t.focus) & (normalised_entropy(w) >= t.spread_entropy)
    on_a, on_b = by_key[A], by_key[B]
    return {
        "focus_share": by_position(focused.mean(1)),
        "sharp_on_a_or_b": float((focused[A] | focused[B]).mean()),
        "split_share": float(
            ((on_a >= t.split_floor) & (on_b >= t.split_floor) & (on_a + on_b >= t.split_mass)).mean()
        ),
        "three_way_share": float((((by_key >= t.spread_floor).sum(0) >= t.spread_positions) | broad).mean()),
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


def head_evidence(h: HeadStats, shares: dict, t: Thresholds) -> dict:
    """The numbers a label rests on, and what the pages may say about the head's a/b split."""
    return {
        **shares,
        "a_share_mean": h.a_share_mean,
        "a_share_std": h.a_share_std,
        "a_share_above": float((h.a_share > t.a_share_extreme).mean()),
        "a_share_below": float((h.a_share < 1 - t.a_share_extreme).mean()),
        "ab_meaningful": h.mean["a"] + h.mean["b"] >= t.meaningful_ab,
        "bimodal": h.bimodality > t.bimodal,
        "sharp": h.mean_max >= t.sharp_mean_max,
    }


def head_label(h: HeadStats, t: Thresholds, weights: np.ndarray | None = None) -> Label:
    """The niche of one head: the first label in PRECEDENCE whose condition holds on most inputs; else mixed.

    ``weights`` [input, key] replaces the head's own (the view by content merges positions that hold the
    same operand); the simple-rule evidence is then left out, since it reads the positions' own weights."""
    shares = condition_shares(h.weights if weights is None else weights, t)
    scores = candidate_scores(shares)
    evidence = head_evidence(h, shares, t)
    passes = {kind: score >= t.most_inputs for kind, score in scores.items()}
    on_a, on_b = shares["focus_share"]["a"], shares["focus_share"]["b"]
    passes[HeadLabel.switches_ab] &= min(on_a, on_b) >= t.switch_minority
    for group in PRECEDENCE:
        passing = [kind for kind in group if passes[kind]]
        if passing:
            kind = max(passing, key=lambda k: scores[k])
            if kind is HeadLabel.switches_ab and weights is None:
                evidence["rule"] = {
                    **asdict(h.switch),
                    "decides": h.switch.agreement >= t.rule_decides,
                    "constant": {"always": "a", "never": "b"}.get(h.switch.rule),
                }
            return Label(h.layer, h.head, kind, scores[kind], evidence)
    closest = max(scores, key=lambda k: scores[k])
    evidence["closest"] = closest.value
    return Label(h.layer, h.head, HeadLabel.mixed, scores[closest], evidence)


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

    @property
    def single_input_heads(self) -> int:
        return sum(self.label_counts[kind.value] for kind in SINGLE_INPUT)

    @property
    def n_heads(self) -> int:
        return sum(self.label_counts.values())


def layer_trends(layers: list[LayerStats], labels: list[Label]) -> list[LayerTrend]:
    trends = []
    for layer in layers:
        counts = {kind.value: 0 for kind in HeadLabel}
        for label in labels:
            if label.layer == layer.layer:
                counts[label.kind.value] += 1
        trends.append(LayerTrend(layer.layer, layer.mean, layer.entropy, layer.mean_max, counts))
    return trends
