"""The Fourier structure over Z_p, as in Nanda et al. (2023): which frequencies the embedding, the
unembedding and the logits use, how much of the answer the key frequencies carry, and the single
frequency behind each switching head's choice between `a` and `b`.

Frequencies are folded: k and p - k are one frequency k in 1..p // 2. Powers are squared magnitudes
of the discrete Fourier transform, summed over every other axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from reporter.measure.capture import Capture


@dataclass(frozen=True)
class Spectrum:
    """The power of each folded frequency 1..p // 2, as a share of all non-constant power."""

    shares: np.ndarray  # [frequency - 1]

    def top(self, n: int = 5) -> list[tuple[int, float]]:
        order = np.argsort(-self.shares, kind="stable")[:n]
        return [(int(k) + 1, float(self.shares[k])) for k in order]


def folded(power: np.ndarray | torch.Tensor, modulus: int) -> np.ndarray | torch.Tensor:
    """[p] power by frequency 0..p-1 -> [p // 2] power by folded frequency 1..p // 2 (numpy or torch): k and
    p - k are one frequency, and for even p the Nyquist frequency p/2, its own mirror, is counted once."""
    half = modulus // 2
    out = power[1 : half + 1] + power[list(range(modulus - 1, modulus - half - 1, -1))]  # k + (p - k)
    if modulus % 2 == 0:
        out[-1] = power[half]
    return out


def spectrum(matrix: torch.Tensor, modulus: int) -> Spectrum:
    """The spectrum of ``matrix`` [p, d] along its first axis (token or answer index)."""
    power = torch.fft.fft(matrix.double(), dim=0).abs().pow(2).sum(-1).cpu().numpy()  # [p]
    shares = folded(power, modulus)
    total = shares.sum()
    return Spectrum(shares / total if total > 0 else shares)


@dataclass(frozen=True)
class LogitSpectrum:
    """How the logits at `=`, as functions of (a, b) for each answer, spread over 2-D frequencies."""

    diagonal: Spectrum  # power at (k, k) and (-k, -k) for each folded k, as a share of all non-constant power
    diagonal_share: float  # all diagonal power together
    key_frequencies: list[int]  # frequencies holding at least the key share of the power, largest first
    restricted_loss: float  # loss with the logits kept on the key frequencies' directions cos/sin(w (a + b - c)) only
    restricted_accuracy: float
    excluded_loss: float  # loss with the key frequencies removed
    excluded_accuracy: float
    clean_loss: float


def logit_spectrum(capture: Capture, key_share: float) -> LogitSpectrum:
    """Fourier analysis of the logits over all inputs, and the restricted and excluded losses."""
    p = capture.task.modulus
    logits = capture.logits.double().reshape(p, p, -1)  # [a, b, answer]
    spectrum2 = torch.fft.fft2(logits, dim=(0, 1))  # [k_a, k_b, answer]
    power = spectrum2.abs().pow(2).sum(-1).cpu().numpy()  # [k_a, k_b]
    total = power.sum() - power[0, 0]
    k = np.arange(p)
    diagonal = folded(power[k, k], p) / total if total > 0 else np.zeros(p // 2)
    keys = [int(f) + 1 for f in np.argsort(-diagonal, kind="stable") if diagonal[f] >= key_share]
    # Restricted and excluded losses (Nanda et al.): over (a, b, answer) jointly, the key frequencies'
    # directions cos(w_k (a + b - c)) and sin(w_k (a + b - c)) are the components (k, k, -k) and (-k, -k, k).
    spectrum3 = torch.fft.fftn(logits, dim=(0, 1, 2))  # [k_a, k_b, k_answer]
    keep = torch.zeros(p, p, p, dtype=torch.bool, device=logits.device)
    for f in keys:
        keep[f, f, p - f] = keep[p - f, p - f, f] = True

    def loss_of(kept_spectrum: torch.Tensor) -> tuple[float, float]:
        kept = torch.fft.ifftn(kept_spectrum, dim=(0, 1, 2)).real.reshape(p * p, -1)
        return (
            float(F.cross_entropy(kept, capture.targets)),
            float((kept.argmax(-1) == capture.targets).double().mean()),
        )

    restricted = loss_of(spectrum3 * keep)
    excluded = loss_of(spectrum3 * ~keep)
    return LogitSpectrum(
        diagonal=Spectrum(diagonal),
        diagonal_share=float(diagonal.sum()),
        key_frequencies=keys,
        restricted_loss=restricted[0],
        restricted_accuracy=restricted[1],
        excluded_loss=excluded[0],
        excluded_accuracy=excluded[1],
        clean_loss=float(capture.loss.mean()),
    )


@dataclass(frozen=True)
class PreferenceRule:
    """A switching head's choice, as a few frequencies: it attends to whichever operand x has the larger
    h(x) = Σ_k cos(2π k x / p + phase_k) (each at its amplitude), plus a constant bias toward `a`."""

    frequencies: tuple[int, ...]  # the k kept, strongest first
    phases: tuple[float, ...]  # radians, of each
    weights: tuple[float, ...]  # each cosine's amplitude relative to the strongest's (the first is 1)
    bias: float  # constant lean toward a, in units of the strongest cosine's amplitude
    accuracy: float  # share of inputs on which the rule names the operand that gets more attention
    strongest_accuracy: float  # likewise for its strongest frequency alone (its accuracy, for one frequency)
    additive_accuracy: float  # likewise for the full additive fit f(a) + g(b) (all frequencies)
    explained: float  # share of the additive fit's variance that these frequencies explain
    profile: np.ndarray = field(repr=False, compare=False)  # [p] h(x): the head prefers the operand with larger h

    @property
    def frequency(self) -> int:
        """The strongest frequency."""
        return self.frequencies[0]

    @property
    def phase(self) -> float:
        """The strongest frequency's phase (radians)."""
        return self.phases[0]


def preference_rule(a_side: np.ndarray, b_side: np.ndarray, modulus: int, n: int = 1) -> PreferenceRule:
    """The rule behind a head's preference, from its attention to the `a` side and the `b` side [input], kept
    at its ``n`` strongest frequencies (a tie: the lower first)."""
    p = modulus
    preference = np.log(np.maximum(a_side, 1e-12) / np.maximum(b_side, 1e-12)).reshape(p, p)  # [a, b]
    prefers_a = a_side.reshape(p, p) > b_side.reshape(p, p)
    mean = preference.mean()
    f, g = preference.mean(1) - mean, preference.mean(0) - mean  # [a], [b]
    additive = mean + f[:, None] + g[None, :]
    shared = (f - g) / 2  # the one function both operands are compared by: h(a) - h(b)
    coefficients = np.fft.fft(shared)
    power = folded(np.abs(coefficients) ** 2, p)
    chosen = tuple(int(i) + 1 for i in np.argsort(-power, kind="stable")[:n])
    amplitudes = [2 * abs(coefficients[k]) / p for k in chosen]
    phases = [float(np.angle(coefficients[k])) for k in chosen]
    x = np.arange(p)
    relative = [1.0] + [a / amplitudes[0] if amplitudes[0] > 0 else 0.0 for a in amplitudes[1:]]
    bias = mean / amplitudes[0] if amplitudes[0] > 0 else 0.0
    wave = np.cos(2 * math.pi * chosen[0] * x / p + phases[0])  # in units of the strongest one's amplitude
    strongest = float((((wave[:, None] - wave[None, :] + bias) > 0) == prefers_a).mean())
    for k, r, phi in zip(chosen[1:], relative[1:], phases[1:], strict=True):
        wave = wave + r * np.cos(2 * math.pi * k * x / p + phi)
    predicted = (wave[:, None] - wave[None, :] + bias) > 0
    variance = (f**2).sum() + (g**2).sum()
    return PreferenceRule(
        frequencies=chosen,
        phases=tuple(phases),
        weights=tuple(float(r) for r in relative),
        bias=float(bias),
        accuracy=float((predicted == prefers_a).mean()),
        strongest_accuracy=strongest,
        additive_accuracy=float(((additive > 0) == prefers_a).mean()),
        explained=float(2 * sum(power[k - 1] for k in chosen) / p / variance) if variance > 0 else 0.0,
        profile=shared,
    )
