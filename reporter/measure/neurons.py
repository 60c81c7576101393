"""Frequencies inside the model: every MLP neuron's pre-activation over the p × p grid, in the 2-D Fourier
basis over Z_p × Z_p, and how sparse the embedding's spectrum is.

A term e^{2πi(k_a a + k_b b)/p} is `a`-only (k_b = 0), `b`-only (k_a = 0), a sum term (k_a = k_b: a function
of a + b) or a difference term (k_a = -k_b: of a - b); any other pair is `other`. A neuron's power at the folded
frequency k is that of its a-only, b-only, sum and difference terms at ±k; its dominant frequency is the k
holding most, and its share is that power over all its non-constant power (Nanda et al. 2023 find the
neurons of a one-layer model each at one key frequency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from reporter.measure.fourier import spectrum
from reporter.model import keys
from reporter.model.engine import Forward

TERMS = ("a", "b", "sum", "difference", "other")


def term_masks(modulus: int, device: torch.device | None = None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Each kind of 2-D term as a mask [k_a, k_b] (the constant term in none), and the folded frequency 1..p // 2
    of each term of the first four kinds (0 elsewhere)."""
    p = modulus
    k = torch.arange(p, device=device)
    k_a, k_b = k[:, None].expand(p, p), k[None, :].expand(p, p)
    fold = torch.minimum(k, p - k)  # [p] folded frequency, 0 for the constant
    constant = (k_a == 0) & (k_b == 0)
    masks = {
        "a": (k_b == 0) & ~constant,
        "b": (k_a == 0) & ~constant,
        "sum": (k_a == k_b) & ~constant,
    }
    masks["difference"] = ((k_a + k_b) % p == 0) & (k_a != 0) & ~masks["sum"]  # k_a = -k_b; p/2 counted as a sum
    masks["other"] = ~(constant | masks["a"] | masks["b"] | masks["sum"] | masks["difference"])
    frequency = torch.where(masks["other"] | constant, 0, torch.maximum(fold[k_a], fold[k_b]))
    return masks, frequency


@dataclass(frozen=True)
class NeuronLayer:
    """The neurons of one MLP (contract 7 `neurons`)."""

    layer: int
    frequency: np.ndarray  # [neuron] dominant folded frequency (0: no non-constant power)
    share: np.ndarray  # [neuron] share of the neuron's non-constant power at that frequency
    terms: dict[str, float]  # "a", "b", "sum", "difference", "other" -> share of the layer's non-constant power

    @property
    def by_frequency(self) -> dict[int, int]:
        """Folded frequency -> how many neurons it dominates, most first."""
        found, counts = np.unique(self.frequency[self.frequency > 0], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {int(found[i]): int(counts[i]) for i in order}


def neuron_layer(pre_activation: torch.Tensor, modulus: int, layer: int) -> NeuronLayer:
    """The 2-D spectrum of each neuron's pre-activation ``pre_activation`` [p², d_mlp] (row a * p + b)."""
    p, half = modulus, modulus // 2 + 1
    grid = pre_activation.double().reshape(p, p, -1)  # [a, b, neuron]
    # The grid is real: the term at (-k_a, -k_b) is the conjugate of the one at (k_a, k_b), with the same power, the
    # same kind and the same folded frequency. So only k_b <= p // 2 is transformed, each column counted for its
    # conjugate too (k_b = 0, and k_b = p / 2 for an even p, hold their own conjugates): half the work of fft2.
    spectrum = torch.fft.rfft2(grid, dim=(0, 1))  # [k_a, k_b <= p // 2, neuron]
    power = spectrum.real.square() + spectrum.imag.square()
    counted = torch.full((half,), 2.0, dtype=power.dtype, device=power.device)
    counted[0] = 1.0
    if p % 2 == 0:
        counted[-1] = 1.0
    power *= counted[None, :, None]
    masks, frequency = term_masks(p, grid.device)
    masks, frequency = {name: mask[:, :half] for name, mask in masks.items()}, frequency[:, :half]
    power[0, 0] = 0.0  # the constant is no frequency
    total = power.sum((0, 1))  # [neuron]
    by_k = power.new_zeros(half, power.shape[-1])  # [folded k, neuron]
    by_k.index_add_(0, frequency.reshape(-1), power.reshape(p * half, -1))
    by_k[0] = 0.0  # other terms and the constant belong to no one frequency
    dominant = by_k.argmax(0)  # [neuron]
    alive = total > 1e-24
    share = torch.where(alive, by_k.max(0).values / total.clamp_min(1e-300), 0.0)
    whole = float(total.sum())
    per_term = power.sum(-1)  # [k_a, k_b]: the layer's power, summed over its neurons before the kinds are split
    terms = {name: float(per_term[mask].sum()) / whole if whole > 0 else 0.0 for name, mask in masks.items()}
    return NeuronLayer(layer, torch.where(alive, dominant, 0).cpu().numpy(), share.cpu().numpy(), terms)


def neurons(forward: Forward, residuals_after_attention: dict[str, torch.Tensor], modulus: int) -> list[NeuronLayer]:
    """Every MLP's neurons, from the residual at `=` after each attention block (stages.Stream.residuals)."""
    if forward.act is None:
        return []
    layers = range(forward.cfg.n_layers)
    pre = {layer: forward.pre_activation(residuals_after_attention[f"attn{layer}"], layer) for layer in layers}
    return [neuron_layer(pre[layer], modulus, layer) for layer in layers]  # pre: [input, d_mlp]


@dataclass(frozen=True)
class EmbeddingSparsity:
    """How concentrated the embedding's spectrum over the token values is."""

    top5_share: float  # share of its non-constant power in its 5 strongest folded frequencies
    frequencies_for_half: int  # fewest frequencies that together hold half of it
    top: list[tuple[int, float]]  # the 5 strongest: (k, share)


def embedding_sparsity(forward: Forward, modulus: int) -> EmbeddingSparsity:
    """The spectrum of the token embedding of 0..p-1 (fourier.spectrum over the token index)."""
    found = spectrum(forward.weights[keys.EMBED][:modulus], modulus)  # tokens 0..p-1 only, not + and =
    ordered = np.sort(found.shares)[::-1]
    half = int(np.searchsorted(np.cumsum(ordered), 0.5 - 1e-12) + 1)
    return EmbeddingSparsity(float(ordered[:5].sum()), half, found.top(5))
