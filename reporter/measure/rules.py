"""The rules that predict a head's attention pattern from `=`, input by input, for causal.py to test.

Each head's scores (q·k before the softmax) over the p × p grid are fitted two ways: additively, f(a) + g(b)
(every frequency), and by the answer (the mean pattern of the inputs with the same (a + b) mod p); the
better of the two is its rule. For a head that switches between `a` and `b`, the pages quote the additive
fit kept at its strongest frequency, and, where one frequency does not decide the choice, at its two
strongest (each tested by putting its pattern in place of the head's). For a head whose pattern follows the
answer, the frequency over the answer that carries most of that dependence: its gating frequency. Numbers
only; interpret/roles.py says which rule a page quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reporter.measure.capture import Capture
from reporter.measure.fourier import folded


@dataclass(frozen=True)
class Rule:
    """A head's pattern from `=` as its rules predict it, input by input."""

    kind: str  # "additive": softmax of scores fitted as f(a) + g(b); "answer": the mean pattern of its answer
    pattern: torch.Tensor  # [input, key]
    error: float  # mean over inputs of the total variation between the rule's pattern and the real one
    frequency: int  # k of the one-frequency rule: the additive fit's f and g kept at frequency k only
    frequency_pattern: torch.Tensor  # [input, key] softmax of that one-frequency score
    two_frequencies: tuple[int, ...]  # the two strongest frequencies of the additive fit (one when p < 5)
    two_frequency_pattern: torch.Tensor  # [input, key] softmax of the score kept at both
    gating_frequency: int  # the frequency over the answer that holds most of its by-answer pattern's variance
    gating_share: float  # the share of that variance it holds (0 when the pattern does not vary with the answer)


def attention_scores(capture: Capture, scale: float) -> torch.Tensor:
    """[input, layer, head, key] the scores from `=` before the softmax, from hook_q and hook_k."""
    keys = capture.keys  # [input, layer, pos, kv_head, d_head]
    repeat = capture.queries.shape[2] // keys.shape[3]
    if repeat > 1:  # grouped-query attention: each key head serves several query heads
        keys = keys.repeat_interleave(repeat, dim=3)
    return torch.einsum("nlhd,nlkhd->nlhk", capture.queries, keys) / scale


def additive_fit(grid: torch.Tensor) -> torch.Tensor:
    """The best fit f(a) + g(b) (least squares) of ``grid`` [a, b, ...] over the p × p grid."""
    return grid.mean(1, keepdim=True) + grid.mean(0, keepdim=True) - grid.mean((0, 1), keepdim=True)


def frequency_fit(grid: torch.Tensor, n: int = 1) -> tuple[tuple[int, ...], torch.Tensor]:
    """The additive fit of ``grid`` [a, b, key] with f(a) and g(b) each kept at the ``n`` frequencies (folded,
    1..p // 2) that hold most of their power over every key together, strongest first (a tie: the lower
    frequency first): (those frequencies, mean + f_k(a) + g_k(b))."""
    p = grid.shape[0]
    mean = grid.mean((0, 1), keepdim=True)  # [1, 1, key]
    f = grid.mean(1) - mean[0]  # [a, key]
    g = grid.mean(0) - mean[0]  # [b, key]
    spectra = torch.fft.fft(f, dim=0), torch.fft.fft(g, dim=0)  # [frequency, key]
    power = sum(s.abs().pow(2).sum(-1) for s in spectra)  # [frequency]
    order = torch.sort(folded(power, p), descending=True, stable=True).indices  # k and p - k are one frequency
    chosen = tuple(int(i) + 1 for i in order[:n])
    keep = torch.zeros(p, 1, dtype=torch.bool, device=grid.device)
    for k in chosen:
        keep[k] = keep[p - k] = True
    f_k, g_k = (torch.fft.ifft(s * keep, dim=0).real for s in spectra)  # [x, key]
    return chosen, mean + f_k[:, None, :] + g_k[None, :, :]


def one_frequency_fit(grid: torch.Tensor) -> tuple[int, torch.Tensor]:
    """`frequency_fit` at the one strongest frequency: (k, the fit)."""
    (k,), fit = frequency_fit(grid, 1)
    return k, fit


def gating(by_answer: torch.Tensor) -> tuple[int, float]:
    """The frequency over the answer c that holds most of the variance of ``by_answer`` [c, key] (the mean
    pattern of each answer), over every key together, and its share of that variance."""
    p = by_answer.shape[0]
    power = folded(torch.fft.fft(by_answer - by_answer.mean(0), dim=0).abs().pow(2).sum(-1), p)  # [p // 2]
    total = float(power.sum())
    k = int(torch.argmax(power)) + 1
    return k, float(power[k - 1]) / total if total > 0 else 0.0


def rules(capture: Capture, scale: float) -> dict[tuple[int, int], Rule]:
    """For every head, the better of two rules for its pattern from `=` (additive scores, or the answer), the
    one- and two-frequency rules that the pages quote for a head that switches between a and b, and the
    gating frequency of its by-answer pattern."""
    p = capture.task.modulus
    scores = attention_scores(capture, scale)  # [input, layer, head, key]
    answer = capture.targets  # [input]
    found = {}
    for layer in range(scores.shape[1]):
        for head in range(scores.shape[2]):
            real = capture.pattern[:, layer, head]  # [input, key]
            grid = scores[:, layer, head].reshape(p, p, -1)  # [a, b, key]
            fitted = additive_fit(grid).reshape(p * p, -1).softmax(-1)
            by_answer = real.new_zeros(p, real.shape[-1]).index_add_(0, answer, real) / p
            candidates = {"additive": fitted, "answer": by_answer[answer]}
            errors = {kind: float((pattern - real).abs().sum(-1).mean() / 2) for kind, pattern in candidates.items()}
            kind = min(errors, key=lambda k: (errors[k], k))
            k, one = one_frequency_fit(grid)
            two, both = frequency_fit(grid, 2)
            found[(layer, head)] = Rule(
                kind,
                candidates[kind],
                errors[kind],
                k,
                one.reshape(p * p, -1).softmax(-1),
                two,
                both.reshape(p * p, -1).softmax(-1),
                *gating(by_answer),
            )
    return found
