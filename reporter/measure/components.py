"""What each block needs: every attention block and MLP mean-ablated, and heads ablated together.

A single-head ablation cannot see work that several heads share: if two heads each carry the same
route, each alone can be missed while both together break the model. So every layer's heads are also
ablated all at once and in every pair, beside the sum of their single effects (contract 7 `components`,
`head_pairs`; interpret/circuit.py says which is `redundant`). All on all p² inputs through `Interventions`
(the `=`-column replay where it reproduces TransformerLens); Δloss in nats at `=`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from reporter.measure.causal import Effect, Interventions, block_mean_ablation, mean_ablation
from reporter.model.task import head_name


@dataclass(frozen=True)
class Together:
    """Several heads mean-ablated at `=` at once, against the sum of their single ablations."""

    delta_loss: float  # nats, all of them ablated together
    sum_of_singles: float  # nats, the sum of their single ablations


@dataclass(frozen=True)
class Ablation:
    """A block's output replaced by its mean over all inputs, at `=` and at every position."""

    equals: Effect
    all_positions: Effect


@dataclass(frozen=True)
class Component:
    """One attention block or MLP (contract 7 `components`)."""

    name: str  # "attn1", "mlp1"
    kind: str  # "attention" | "mlp"
    layer: int
    ablation: Ablation
    heads_together: Together | None  # attention only: all its heads at once


@dataclass(frozen=True)
class HeadPair:
    """Two heads of one layer ablated at `=` together (contract 7 `head_pairs`)."""

    heads: tuple[str, str]  # ("L1H0", "L1H2")
    delta_loss: float  # nats, both ablated together
    sum_of_singles: float  # nats


@dataclass(frozen=True)
class Components:
    """Every block's and every head group's ablation."""

    components: list[Component]
    head_pairs: list[HeadPair]
    single_heads: dict[str, float]  # head name -> Δloss of its single mean-ablation at `=` (nats)


def block_ablation(interventions: Interventions, layer: int, block: str) -> Ablation:
    """Mean-ablation of one block's output at `=` and at every position (in the last layer the other positions
    feed nothing: the two are the same ablation, run once)."""
    c = interventions.capture
    at_equals = interventions.effect(block_mean_ablation(c, layer, block))
    if layer == c.resid_pre.shape[1] - 1:
        return Ablation(at_equals, at_equals)
    return Ablation(at_equals, interventions.effect(block_mean_ablation(c, layer, block, everywhere=True)))


def components(interventions: Interventions, singles: dict[tuple[int, int], float] | None = None) -> Components:
    """Every attention block and MLP mean-ablated; every layer's heads singly, all at once and in pairs.
    ``singles`` maps (layer, head) to its single mean-ablation's Δloss at `=` where causal has run it already."""
    c = interventions.capture
    n_layers, n_heads = c.z.shape[1], c.z.shape[2]
    run = interventions.effect
    every = [(l, h) for l in range(n_layers) for h in range(n_heads)]
    singles = singles if singles is not None else {key: run(mean_ablation(c, *key)).delta_loss for key in every}
    rows: list[Component] = []
    pairs: list[HeadPair] = []
    for layer in range(n_layers):
        heads = range(n_heads)
        attention = block_ablation(interventions, layer, "attn")
        # All the layer's heads mean-ablated at `=` is the block's own ablation there: its output is b_O plus each
        # head's W_O z, and the mean of that sum is b_O plus W_O times each head's mean z. One run, not two.
        together = attention.equals.delta_loss
        total = sum(singles[(layer, h)] for h in heads)
        rows.append(Component(f"attn{layer}", "attention", layer, attention, Together(together, total)))
        if not interventions.attn_only:
            rows.append(Component(f"mlp{layer}", "mlp", layer, block_ablation(interventions, layer, "mlp"), None))
        for first, second in combinations(heads, 2):
            both = run(mean_ablation(c, layer, first), mean_ablation(c, layer, second)).delta_loss
            pair_sum = singles[(layer, first)] + singles[(layer, second)]
            names = (head_name(layer, first), head_name(layer, second))
            pairs.append(HeadPair(names, both, pair_sum))
    return Components(rows, pairs, {head_name(*key): value for key, value in singles.items()})
