"""What a head carries, whether the model needs it, and where it looks once positions are read by content
(contract 4b): heuristics over the content and causal measurements, every cut-off from the one table."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from reporter.interpret.labels import HeadLabel, Label, head_label
from reporter.interpret.stats import Stats
from reporter.interpret.thresholds import LABELS, PAGES, Thresholds
from reporter.measure.causal import Effect, HeadEffects
from reporter.measure.content import HeadWrite, PositionContent, Shares
from reporter.measure.fourier import PreferenceRule, preference_rule
from reporter.model.task import POSITION_KEYS, head_name


class Carries(StrEnum):
    """What a head's write at `=` (or a position's residual) is a function of (contract 4b)."""

    nothing = "nothing"  # it barely varies with the input: a constant
    a = "a"  # mostly a function of a alone
    b = "b"  # mostly a function of b alone
    a_and_b = "a_and_b"  # both operands, each a large share
    answer = "answer"  # mostly a function of (a + b) mod p
    mixed = "mixed"  # none of these


class Importance(StrEnum):
    """How much the loss rises when the head's output at `=` is replaced by its mean (contract 4b)."""

    inert = "inert"
    minor = "minor"
    matters = "matters"
    critical = "critical"


MATTERING = (Importance.matters, Importance.critical)  # the bands of a head that "matters", on every page


def carries(shares: Shares, silent: bool, t: Thresholds) -> Carries:
    """The label of one write or residual from its shares; ``silent`` when it barely varies."""
    if silent:
        return Carries.nothing
    if shares.answer >= t.carries_answer:
        return Carries.answer
    if shares.a >= t.carries_single:
        return Carries.a
    if shares.b >= t.carries_single:
        return Carries.b
    if shares.a >= t.carries_both and shares.b >= t.carries_both:
        return Carries.a_and_b
    return Carries.mixed


def position_carries(row: PositionContent, t: Thresholds) -> Carries:
    s = row.shares
    return carries(s, s.rms == 0 or s.spread < t.constant_spread * s.rms, t)


def head_carries(write: HeadWrite, t: Thresholds) -> Carries:
    return carries(write.shares, write.relative_spread < t.silent_spread, t)


def importance(effect: Effect, t: Thresholds) -> Importance:
    if effect.delta_loss >= t.importance_critical:
        return Importance.critical
    if effect.delta_loss >= t.importance_matters:
        return Importance.matters
    if effect.delta_loss >= t.importance_minor:
        return Importance.minor
    return Importance.inert


@dataclass(frozen=True)
class LayerReading:
    """What each position holds at one layer's input: which positions a head reads `a` or `b` through."""

    layer: int
    holds: dict  # position key -> Carries

    @property
    def a_side(self) -> list[str]:
        return [key for key in POSITION_KEYS if self.holds[key] is Carries.a]

    @property
    def b_side(self) -> list[str]:
        return [key for key in POSITION_KEYS if self.holds[key] is Carries.b]


def layer_readings(contents: list[PositionContent], n_layers: int, t: Thresholds) -> list[LayerReading]:
    """For each of the first ``n_layers`` layer inputs (the last may be the unembedding's), what every position
    holds."""
    return [
        LayerReading(layer, {row.position: position_carries(row, t) for row in contents if row.layer == layer})
        for layer in range(n_layers)
    ]


def merged_weights(weights: np.ndarray, reading: LayerReading) -> np.ndarray:
    """[input, key] attention with every position that holds `a` counted as `a`, and likewise `b`.

    The other positions (a constant, a mix, the partial answer) keep their own columns."""
    merged = weights.copy()
    for side, target in ((reading.a_side, 0), (reading.b_side, 2)):
        for key in side:
            index = POSITION_KEYS.index(key)
            if index != target:
                merged[:, target] += merged[:, index]
                merged[:, index] = 0.0
    return merged


class Sufficiency(StrEnum):
    """Whether a head's pattern from `=` is explained by its rule (contract 3 "pattern")."""

    sufficient = "sufficient"  # the rule's pattern costs little, the mean pattern much more
    not_needed = "not_needed"  # even the mean pattern costs little: where it looks per input hardly matters
    insufficient = "insufficient"  # the rule's pattern costs too much


def stands_in(effect: Effect, clean_loss: float, t: Thresholds) -> bool:
    """Whether a stand-in (a rule's pattern in place of the head's, or the part of its write its label names in
    place of the write) costs little: at most `rule_small` nats, and at most `rule_relative` times the clean loss."""
    return effect.delta_loss <= min(t.rule_small, t.rule_relative * clean_loss)


def sufficiency(effects: HeadEffects, t: Thresholds, rule: Effect | None = None) -> Sufficiency:
    """The test of a rule's pattern (by default the better of the additive and the answer rule's) against
    the head's mean pattern, and against the clean loss."""
    if effects.pattern_mean.delta_loss < t.rule_needed:
        return Sufficiency.not_needed
    if stands_in(rule or effects.pattern_rule, effects.clean_loss, t):
        return Sufficiency.sufficient
    return Sufficiency.insufficient


def patching_agrees(label: Carries, effects: HeadEffects, t: Thresholds) -> bool | None:
    """Whether interchange patching bears out what a head is said to carry: patching an operand it carries
    moves the loss, and patching one it does not carry does not. A head that carries nothing must be inert.
    None for a mixed write, which makes no claim patching could test."""
    moved_a = effects.patch_a.delta_loss >= t.patch_moves
    moved_b = effects.patch_b.delta_loss >= t.patch_moves
    if label is Carries.nothing:
        return effects.ablation_equals.delta_loss < t.importance_minor
    if label is Carries.a:
        return moved_a and not moved_b
    if label is Carries.b:
        return moved_b and not moved_a
    if label in (Carries.a_and_b, Carries.answer):
        return moved_a and moved_b
    return None


def parts_stand_in(label: Carries, effects: HeadEffects, t: Thresholds) -> bool | None:
    """Whether the part of the write that its label names stands in for the whole write: its parts in `a` and
    `b` alone for `a_and_b`, its part in the answer for `answer`. A head that matters moves the loss whichever
    operand is patched, so patching alone cannot fail for these two labels; this can. None for other labels."""
    part = {Carries.a_and_b: effects.parts_additive, Carries.answer: effects.parts_answer}.get(label)
    return None if part is None else stands_in(part, effects.clean_loss, t)


@dataclass(frozen=True)
class HeadRole:
    """Everything the analysis says about one head."""

    layer: int
    head: int
    looks: Label  # where it looks, by position (contract 4)
    reads: Label  # where it looks once positions are read by what they hold
    carries: Carries  # what its write at `=` carries
    write: HeadWrite
    effects: HeadEffects
    importance: Importance  # from mean-ablation at `=`
    importance_anywhere: Importance  # from mean-ablation at every position
    sufficiency: Sufficiency  # whether its rule (additive or answer) explains its pattern
    preference: PreferenceRule | None  # for a head that switches between a and b: the frequencies behind it
    frequency_sufficiency: Sufficiency  # whether the pattern of that rule (its frequencies kept) explains it
    patching_agrees: bool | None
    parts_stand_in: bool | None = None  # whether the part of its write its label names stands in for the write

    @property
    def matters(self) -> bool:
        """A head that matters, everywhere the pages say so: its importance band at `=` is `matters` or
        `critical`."""
        return self.importance in MATTERING

    @property
    def carries_confirmed(self) -> bool | None:
        """Whether interventions bear out what it is said to carry: patching agrees and, for `a_and_b` and
        `answer`, the part its label names stands in for its write. None for a mixed write."""
        if self.patching_agrees is None:
            return None
        return self.patching_agrees and self.parts_stand_in is not False

    @property
    def name(self) -> str:
        return head_name(self.layer, self.head)

    @property
    def niche(self) -> str:
        """What the head does, as a code from its labels (the figures word it): "sink" (it writes a constant),
        "switches" (between a and b, by content), "answer" (it carries it), else its label by content."""
        if self.carries is Carries.nothing:
            return "sink"
        if self.reads.kind is HeadLabel.switches_ab:
            return "switches"
        if self.carries is Carries.answer:
            return "answer"
        return self.reads.kind.value

    @property
    def tested_frequencies(self) -> tuple[int, ...]:
        """The frequencies kept in the pattern put in place of the head's to test its preference rule."""
        return (
            self.effects.two_frequencies
            if self.preference and len(self.preference.frequencies) > 1
            else (self.effects.frequency,)
        )

    @property
    def quoted_sufficiency(self) -> Sufficiency:
        """The test of the rule the pages quote: the one-frequency rule for a switching head, else its rule."""
        return self.frequency_sufficiency if self.preference is not None else self.sufficiency

    @property
    def confirmed(self) -> bool | None:
        """Whether interventions bear out what the page says it does: what it carries (patching and its parts) and,
        where its pattern matters, the rule quoted for it. None when neither makes a claim an intervention could
        test."""
        tested = self.quoted_sufficiency is not Sufficiency.not_needed
        if self.carries_confirmed is None and not tested:
            return None
        return self.carries_confirmed is not False and self.quoted_sufficiency is not Sufficiency.insufficient


def switch_rule(a_side: np.ndarray, b_side: np.ndarray, modulus: int, t: Thresholds) -> PreferenceRule:
    """A switching head's rule: its strongest frequency, or its two strongest where one does not decide its
    choice (right on fewer than `rule_decides` of inputs) and two do."""
    one = preference_rule(a_side, b_side, modulus)
    if one.accuracy >= t.rule_decides:
        return one
    two = preference_rule(a_side, b_side, modulus, 2)
    return two if len(two.frequencies) == 2 and two.accuracy >= t.rule_decides else one


def frequency_test(preference: PreferenceRule | None, effects: HeadEffects) -> Effect:
    """The intervention that tests a preference rule: the head's pattern replaced by the one- or two-frequency
    rule's, as many frequencies as the rule keeps."""
    two = preference is not None and len(preference.frequencies) > 1
    return effects.pattern_two_frequencies if two else effects.pattern_frequency


def head_roles(
    stats: Stats,
    readings: list[LayerReading],
    writes: list[HeadWrite],
    effects: list[HeadEffects],
    t: Thresholds,
    memo: dict | None = None,
) -> list[HeadRole]:
    """Every head's role, in layer-then-head order. ``memo`` keeps the attention labels between calls whose
    label thresholds and position readings are the same (the sensitivity sweep re-runs this a hundred times)."""
    p = stats.task.modulus
    memo = {} if memo is None else memo
    by_labels = tuple(getattr(t, f.name) for f in fields(t) if t.group_of(f.name) in (LABELS, PAGES))
    roles = []
    for h, write, effect in zip(stats.heads, writes, effects, strict=True):
        reading = readings[h.layer]
        key = (h.layer, h.head, by_labels, tuple(reading.a_side), tuple(reading.b_side))
        if key not in memo:
            memo[key] = (head_label(h, t), head_label(h, t, merged_weights(h.weights, reading)))
        looks, reads = memo[key]
        label = head_carries(write, t)
        preference = None
        if HeadLabel.switches_ab in (reads.kind, looks.kind) and reading.a_side and reading.b_side:
            a_side = h.weights[:, [POSITION_KEYS.index(k) for k in reading.a_side]].sum(-1)
            b_side = h.weights[:, [POSITION_KEYS.index(k) for k in reading.b_side]].sum(-1)
            preference = switch_rule(a_side, b_side, p, t)
        roles.append(
            HeadRole(
                layer=h.layer,
                head=h.head,
                looks=looks,
                reads=reads,
                carries=label,
                write=write,
                effects=effect,
                importance=importance(effect.ablation_equals, t),
                importance_anywhere=importance(effect.ablation_all, t),
                sufficiency=sufficiency(effect, t),
                preference=preference,
                frequency_sufficiency=sufficiency(effect, t, frequency_test(preference, effect)),
                patching_agrees=patching_agrees(label, effect, t),
                parts_stand_in=parts_stand_in(label, effect, t),
            )
        )
    return roles
