"""Every cut-off of the labels, findings and pages, in one table, each with its reason.

No threshold is universal (DESIGN.md): the methodology page prints this table, and
`sensitivity` shows which labels and findings move when a value moves. Shares are in
[0, 1]; counts are whole numbers and move by whole steps in the sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from reporter.interpret.threshold_kinds import (
    CARRIES,
    CAUSAL,
    CIRCUIT,
    FINDINGS,
    FOURIER,
    LABELS,
    PAGES,
    RUNS,
    SWEEP_FACTORS,
    SWEEP_STEPS,
    checked,
    count,
    nats,
    ratio,
    share,
)


@dataclass(frozen=True)
class Thresholds:
    """The table. Field order is the order the methodology page prints."""

    # Where a head looks (contract 4), decided input by input.
    focus: float = share(
        0.5,
        LABELS,
        "a position holds an input's attention when it gets at least half of it (as much as all others together)",
    )
    most_inputs: float = share(
        0.75, LABELS, "a head 'does X on most inputs' when X holds on at least three inputs in four"
    )
    split_floor: float = share(
        0.3,
        LABELS,
        "an input's attention is divided between a and b when each gets at least 0.3 (QuantaMechInterp's "
        "'split' asks 0.4 of the top two)",
    )
    split_mass: float = share(
        0.75, LABELS, "and only when a and b together hold at least three quarters of it; otherwise the head is spread"
    )
    switch_minority: float = share(
        0.1,
        LABELS,
        "a switching head holds a on at least 10% of inputs and b on at least 10%, so neither side is an outlier",
    )
    spread_entropy: float = share(
        0.75,
        LABELS,
        "an input's attention is also spread when no position holds it and its entropy is at least 0.75 of uniform's "
        "(three equal positions give 0.79)",
    )
    spread_floor: float = share(
        0.15, LABELS, "a position takes part in a spread pattern when it gets at least 0.15 (uniform over 4 is 0.25)"
    )
    spread_positions: int = count(
        3,
        LABELS,
        "an input's attention is spread when at least 3 of its 4 positions take part in it (what 'spread' means, "
        "so not moved in the sweep)",
        swept=False,
    )
    # What a position or a head's write at = carries (contract 4b), from its analysis of variance.
    constant_spread: float = share(
        0.05, CARRIES, "a position holds a constant when what varies with the input is below 5% of its size (rms)"
    )
    silent_spread: float = share(
        0.05, CARRIES, "a head's write at = carries nothing when it varies less than 5% as much as its layer's largest"
    )
    carries_single: float = share(
        0.8, CARRIES, "it carries a (or b) when that operand alone explains at least 80% of what varies"
    )
    carries_answer: float = share(
        0.5, CARRIES, "it carries the answer when (a + b) mod p alone explains at least half of what varies"
    )
    carries_both: float = share(
        0.2, CARRIES, "it carries a and b when each operand alone explains at least 20% of what varies"
    )
    # Whether a head matters, from interventions (Δloss in nats over all inputs).
    importance_minor: float = nats(
        0.01, CAUSAL, "mean-ablating a head at = that costs less than 0.01 nats leaves it inert"
    )
    importance_matters: float = nats(0.1, CAUSAL, "from 0.1 nats a head matters (below: minor)")
    importance_critical: float = nats(1.0, CAUSAL, "from 1 nat a head is critical: the model breaks without it")
    patch_moves: float = nats(
        0.1, CAUSAL, "patching in another input's a (or b) 'moves' a head when it costs at least 0.1 nats"
    )
    rule_small: float = nats(
        0.1,
        CAUSAL,
        "a stand-in (a rule's pattern in place of the head's, or the part of its write its label names in place "
        "of the write) is enough when it costs at most 0.1 nats",
    )
    rule_relative: float = ratio(
        1.0,
        CAUSAL,
        "and at most once the clean loss: a stand-in that more than doubles the loss explains less than the model "
        "does (on a model whose loss is 0.005 nats, 0.1 nats is twenty times its loss)",
    )
    rule_needed: float = nats(
        0.2, CAUSAL, "and when the head's mean pattern in its place costs at least 0.2 nats: below, no rule is needed"
    )
    # The Fourier structure of the logits (Nanda et al. 2023).
    key_frequency: float = share(0.05, FOURIER, "a key frequency holds at least 5% of the logits' power over (a, b)")
    sparse_frequencies: int = count(
        5,
        FOURIER,
        "the embedding is sparse in the Fourier basis when at most 5 frequencies hold half of its power (Nanda et "
        "al.'s model embeds with about 5)",
    )
    # How the model computes the answer (contract 7): the circuit stage's numbers read.
    together_redundant: float = ratio(
        1.5,
        CIRCUIT,
        "heads are redundant when ablating them together costs at least 1.5 times the sum of their single "
        "ablations: each stands in for the other (below the minor band's 0.01 nats, together and alone, no claim)",
    )
    together_overlapping: float = share(
        2 / 3,
        CIRCUIT,
        "heads overlap when ablating them together costs at most 2/3 of the sum of their single ablations: "
        "they partly do the same work (in between: additive)",
    )
    readable: float = share(
        0.5,
        CIRCUIT,
        "the answer is readable at a stage where the model's own final norm and unembedding, applied there, answer "
        "at least half of the inputs (a guess answers 1 / p)",
    )
    product_drop: float = share(
        0.5,
        CIRCUIT,
        "attention multiplies when with mean patterns the answer share of its output falls to at most half; an MLP "
        "multiplies when, given only the additive part of its input, it keeps more than half of it",
    )
    internal_answer: float = share(
        0.1,
        CIRCUIT,
        "a stage's strongest answer frequency is internal only where the answer holds at least 10% of that "
        "stage's input-dependent variance; an MLP's is the one most of its neurons follow",
    )
    harmonic_multiple: int = count(
        6,
        CIRCUIT,
        "a frequency is a harmonic of an internal one k when it is n·k mod p (folded) for n up to 6 (a ReLU of a "
        "cosine puts little power higher up)",
        swept=False,
    )
    writer_share: float = share(
        0.25,
        CIRCUIT,
        "a head or MLP writes a channel when its write's answer part at that frequency is at least a quarter of "
        "the largest writer's",
    )
    writer_floor: float = share(
        1e-4,
        CIRCUIT,
        "no one writes a channel whose largest writer is below 1e-4 of the largest write at any frequency "
        "(float rounding)",
    )
    group_agreement: float = share(
        0.75,
        CIRCUIT,
        "switching heads of one layer are a group when they pick the same operand on at least 3 inputs in 4 "
        "(chance: 1 in 2); a group picks the opposite of another on at most 1 in 4",
    )
    # The original write-up's claims (contract 5).
    specialised_share: float = share(
        0.5,
        FINDINGS,
        "later layers are specialised on single inputs when at least half their heads hold a, b, or switch "
        "between them",
    )
    distinct_niches: int = count(
        3, FINDINGS, "heads divide the work when at least 3 different labels (other than mixed) occur"
    )
    confirmed_share: float = share(
        0.75, FINDINGS, "the labels are causally confirmed when interventions bear out at least 3 heads in 4"
    )
    inputs_mass: float = share(
        0.5, FINDINGS, "a and b dominate when they receive more than half of all attention from ="
    )
    plus_little: float = share(0.1, FINDINGS, "+ gets 'little' attention below 0.1 (less than half of uniform's 0.25)")
    self_strong: float = share(
        0.3,
        FINDINGS,
        "layer 0 attends strongly to = when = gets at least 0.3 of its attention (more than uniform's 0.25)",
    )
    plus_rise: float = share(
        0.02,
        FINDINGS,
        "later layers attend to + more than layer 0 when their share exceeds layer 0's by at least 2 points",
    )
    # What the pages say about a head or a model; never changes a label or a finding.
    low_accuracy: float = share(
        0.99, PAGES, "below this accuracy on all inputs, every page warns that the model has not learned the task"
    )
    record_tolerance: float = share(
        0.01,
        PAGES,
        "a training record's final accuracy may differ from the one measured here by float32 against float64 "
        "rounding on inputs near a tie; by more than this, the Training page warns that the record is not this model's",
    )
    meaningful_ab: float = share(
        0.1,
        PAGES,
        "below this mean attention on a and b together, how a head divides them is noise and is not discussed",
    )
    sharp_mean_max: float = share(
        0.6,
        PAGES,
        "a head's evidence calls it sharp when its mean largest weight is at least 0.6 (uniform is 0.25); the claim "
        "that later layers are sharp compares them with layer 0 instead",
    )
    a_share_extreme: float = share(
        0.9, PAGES, "an input's a / (a + b) above 0.9 is 'all on a', below 1 - 0.9 'all on b'"
    )
    rule_decides: float = share(
        0.9,
        PAGES,
        "a rule 'decides' a switching head when it predicts its choice on at least 90% of inputs; where its "
        "strongest frequency alone does not, its two strongest together are tried",
    )
    rule_lean: float = share(
        0.05,
        PAGES,
        "a one-frequency rule 'leans' toward a or b when its constant bias is at least 5% of the cosine's amplitude",
    )
    bimodal: float = share(
        5 / 9, PAGES, "Sarle's bimodality coefficient above 5/9 (a uniform distribution's value) suggests two modes"
    )

    # Comparing runs (the Across runs page).
    match_cost: float = ratio(
        1.0,
        RUNS,
        "a head of another run is its counterpart only when their profiles (attention by content, what they carry, "
        "log(1 + Δloss)) lie within 1.0 of each other, the distance between an inert head and one that costs 1.7 "
        "nats with the same attention and write; on the shipped runs heads that do the same lie 0.2-1.0 apart",
    )

    @classmethod
    def reasons(cls) -> list[tuple[str, str]]:
        """(name, reason) for each threshold, in table order."""
        return [(f.name, f.metadata["reason"]) for f in fields(cls)]

    @classmethod
    def group_of(cls, name: str) -> str:
        return next(f.metadata["group"] for f in fields(cls) if f.name == name)

    @classmethod
    def swept(cls, name: str) -> bool:
        return next(f.metadata.get("swept", True) for f in fields(cls) if f.name == name)

    @classmethod
    def unit_of(cls, name: str) -> str:
        return next(f.metadata["unit"] for f in fields(cls) if f.name == name)

    def with_overrides(self, overrides: dict) -> Thresholds:
        """A copy with some values changed; an unknown name, a non-number or a value out of range is refused."""
        known = {f.name for f in fields(self)}
        values = {}
        for name, value in overrides.items():
            if name not in known:
                raise ValueError(f"unknown threshold {name!r}; known thresholds: {', '.join(sorted(known))}.")
            values[name] = checked(name, self.unit_of(name), value)
        return replace(self, **values)

    def moves(self, name: str) -> list[tuple[str, float | None]]:
        """The four values `name` is moved to in the sensitivity sweep, each with its label ("× 0.8", "+1");
        None where the move would leave the threshold's range."""
        value = getattr(self, name)
        unit = self.unit_of(name)
        if unit == "count":
            return [(f"{step:+d}", value + step if value + step >= 1 else None) for step in SWEEP_STEPS]
        top = 1.0 if unit == "share" else math.inf
        return [(f"× {factor}", value * factor if value * factor <= top else None) for factor in SWEEP_FACTORS]
