"""Groups of switching heads: heads that pick the same operand on the same inputs work as one.

A switching head attends, input by input, to the `a` side (`a` or `+`, which from layer 1 on holds `a`) or to
`b`. Two heads agree on an input when they pick the same side. Heads of one layer that agree on most inputs
form a group; a group whose heads pick the other side on most inputs is its opposite (on the headline model
two layer-1 groups in opposite phase: at each input one reads `a` and the other `b`). Each group's phase is
that of its heads' one-frequency preference rule (fourier.preference_rule), averaged on the circle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reporter.measure.capture import Capture
from reporter.measure.fourier import preference_rule
from reporter.model.task import head_name


@dataclass(frozen=True)
class GroupCutoffs:
    """When two heads are one group (the lead's threshold table takes it over)."""

    agreement: float = 0.75  # on average the same side on ≥ 3 inputs in 4 (chance: 1 in 2); opposite: ≤ 1 in 4


@dataclass(frozen=True)
class HeadGroup:
    """Heads of one layer that pick the same operand together (contract 7 `head_groups`)."""

    layer: int
    heads: tuple[str, ...]  # ("L1H0", "L1H2")
    frequency: int  # the frequency of most of its heads' preference rules
    phase: float  # radians: the circular mean of its heads' rule phases
    agreement: float  # mean share of inputs on which two of its heads pick the same side (1 for one head)
    opposite: tuple[str, ...]  # the layer's group that, on average, picks the other side (≤ 1 - the cut-off)


@dataclass(frozen=True)
class HeadGroups:
    """The agreement of every pair of the given heads, and the groups that follow."""

    heads: list[str]  # the rows and columns of ``agreement``
    agreement: np.ndarray  # [head, head] share of inputs on which the two pick the same side
    groups: list[HeadGroup]


def picks_a(capture: Capture, layer: int, head: int) -> np.ndarray:
    """[input] bool: the head's attention from `=` on the `a` side (`a` and `+`) exceeds that on `b`."""
    weights = capture.pattern[:, layer, head].double().numpy()  # [input, key]
    return weights[:, 0] + weights[:, 1] > weights[:, 2]


def head_groups(capture: Capture, heads: Sequence[tuple[int, int]], cutoffs: GroupCutoffs | None = None) -> HeadGroups:
    """Agreement and groups of ``heads`` [(layer, head)], e.g. the heads labelled `switches_ab`."""
    cutoffs = cutoffs or GroupCutoffs()
    p = capture.task.modulus
    choices = np.stack([picks_a(capture, *key) for key in heads]) if heads else np.zeros((0, p * p), bool)
    agreement = (choices[:, None, :] == choices[None, :, :]).mean(-1)  # [head, head]
    rules = {}
    for key in heads:
        weights = capture.pattern[:, key[0], key[1]].double().numpy()  # [input, key]
        rules[key] = preference_rule(weights[:, 0] + weights[:, 1], weights[:, 2], p)
    index = {key: i for i, key in enumerate(heads)}
    groups: list[list[tuple[int, int]]] = []

    def between(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> float:
        """Mean agreement of a head of ``first`` with a head of ``second`` (average linkage)."""
        return float(np.mean([agreement[index[a], index[b]] for a in first for b in second]))

    for key in heads:  # join the first group of its layer it agrees with on average, else start one
        for group in groups:
            if group[0][0] == key[0] and between([key], group) >= cutoffs.agreement:
                group.append(key)
                break
        else:
            groups.append([key])

    def opposite(group: list[tuple[int, int]]) -> tuple[str, ...]:
        for other in groups:
            if other is not group and other[0][0] == group[0][0] and between(group, other) <= 1 - cutoffs.agreement:
                return tuple(head_name(*key) for key in other)
        return ()

    found = []
    for group in groups:
        pairs = [(a, b) for i, a in enumerate(group) for b in group[i + 1 :]]
        within = float(np.mean([agreement[index[a], index[b]] for a, b in pairs])) if pairs else 1.0
        frequencies = [rules[key].frequency for key in group]
        phases = [rules[key].phase for key in group]
        phase = math.atan2(sum(math.sin(x) for x in phases), sum(math.cos(x) for x in phases))
        found.append(
            HeadGroup(
                layer=group[0][0],
                heads=tuple(head_name(*key) for key in group),
                frequency=max(set(frequencies), key=frequencies.count),
                phase=phase,
                agreement=within,
                opposite=opposite(group),
            )
        )
    return HeadGroups([head_name(*key) for key in heads], agreement, found)
