"""The residual stream at `=`, stage by stage: where the answer forms and where it becomes readable.

The stages are the residual after the embedding, after each attention block and after each MLP. Each is
read from the clean capture (no new forward: the residual after attention is the block's input plus
W_O · z + b_O, the residual after the MLP the next block's input). At each stage: what it carries (the
two-way ANOVA of content.py), the answer part's size at each frequency, whether a linear read-out fitted
on the training inputs recovers the answer on the held-out ones (`decodable`), and how often the model's
own final norm and unembedding, applied there, answer correctly (`readout_accuracy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reporter.measure.capture import Capture
from reporter.measure.content import Shares, anova
from reporter.measure.fourier import folded
from reporter.model import keys
from reporter.model.engine import Forward
from reporter.model.task import EQUALS_POS, split_indices


@dataclass(frozen=True)
class Stream:
    """The clean residual at `=` after every stage and what each block wrote there, over all inputs."""

    residuals: dict[str, torch.Tensor]  # "embed", "attn0", "mlp0", ... -> [input, d_model], in forward order
    outputs: dict[str, torch.Tensor]  # "attn0", "mlp0", ... -> [input, d_model] the block's output at `=`
    embedding: torch.Tensor  # [input, d_model] token + position embedding at `=` (the "embed" residual)


def stream(forward: Forward, capture: Capture) -> Stream:
    """Every stage's residual at `=` from the capture: after attention, the block's input plus its output
    W_O · z + b_O; after the MLP, the next block's input (the final norm's input after the last)."""
    n_layers = capture.resid_pre.shape[1]
    embedding = capture.resid_pre[:, 0, EQUALS_POS].double()
    residuals, outputs = {"embed": embedding}, {}
    for layer in range(n_layers):
        before = capture.resid_pre[:, layer, EQUALS_POS].double()  # [input, d_model]
        attn = forward.linear(capture.z[:, layer].double().flatten(1), keys.attn(layer, "o"))  # [input, d_model]
        outputs[f"attn{layer}"] = attn
        residuals[f"attn{layer}"] = before + attn
        after = capture.resid_pre[:, layer + 1] if layer + 1 < n_layers else capture.resid_final
        if forward.act is not None:
            residuals[f"mlp{layer}"] = after[:, EQUALS_POS].double()
            outputs[f"mlp{layer}"] = residuals[f"mlp{layer}"] - residuals[f"attn{layer}"]
    return Stream(residuals, outputs, embedding)


def answer_part(x: torch.Tensor, modulus: int) -> torch.Tensor:
    """[p, d] the part of ``x`` [p², d] (row a * p + b) that is a function of (a + b) mod p beyond a and b
    alone: the interaction of content.anova, averaged over each anti-diagonal."""
    p = modulus
    grid = x.reshape(p, p, -1).double()  # [a, b, d]
    centred = grid - grid.mean((0, 1))
    interaction = centred - centred.mean(1, keepdim=True) - centred.mean(0, keepdim=True)  # [a, b, d]
    values = torch.arange(p, device=x.device)
    answer = (values[:, None] + values[None]) % p  # [a, b]
    summed = grid.new_zeros(p, grid.shape[-1])  # [answer, d]
    summed.index_add_(0, answer.reshape(-1), interaction.reshape(p * p, -1))
    return summed / p  # each answer has exactly p inputs


def frequency_amplitudes(part: torch.Tensor, modulus: int) -> dict[int, float]:
    """The root mean square (over answers, summed over d_model) of ``part`` [p, d] at each folded frequency
    1..p // 2: their squares add up to the whole part's mean square (Parseval)."""
    power = torch.fft.fft(part, dim=0).abs().pow(2).sum(-1)  # [p]
    return {k + 1: float(v.sqrt()) / modulus for k, v in enumerate(folded(power, modulus))}


def linear_readout_accuracy(x: torch.Tensor, targets: torch.Tensor, train: torch.Tensor, test: torch.Tensor) -> float:
    """Held-out accuracy of the least-squares linear map (with a bias) from ``x`` [input, d] to the one-hot
    answer, fitted on the ``train`` rows and scored on the ``test`` rows. It runs on the CPU: the fit's gelsd
    driver, which handles a rank-deficient fit, has no GPU kernel."""
    x, targets = x.cpu(), targets.cpu()
    features = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device="cpu")], 1)  # [input, d + 1]
    one_hot = torch.nn.functional.one_hot(targets, int(targets.max()) + 1).to(x.dtype)  # [input, p]
    scale = features[train].abs().amax(0).clamp_min(1e-12)  # columns on one scale, for the rank cut-off
    fit = torch.linalg.lstsq(features[train] / scale, one_hot[train], driver="gelsd").solution  # [d + 1, p]
    predicted = ((features[test] / scale) @ fit).argmax(-1)
    return float((predicted == targets[test]).double().mean())


@dataclass(frozen=True)
class Stage:
    """The residual at `=` after one stage (contract 7 `stages`)."""

    after: str  # "embed", "attn0", "mlp0", ...
    position: str  # "equals"
    shares: Shares  # a, b, interaction, answer (the answer share is part of the interaction)
    answer_frequencies: dict[int, float]  # folded k -> rms of the answer part at k (residual units)
    decodable: float | None  # held-out accuracy of a linear read-out (None: no train/test split known)
    readout_accuracy: float  # accuracy of the model's own final norm and unembedding applied here

    @property
    def other(self) -> float:
        """The share of the interaction that is not a function of the answer (contract 7 `other`)."""
        return max(0.0, self.shares.interaction - self.shares.answer)


def stages(forward: Forward, capture: Capture, split: tuple[float, int] | None = None) -> list[Stage]:
    """Every stage of the residual at `=`; ``split`` = (train_fraction, seed) as the model was trained."""
    task = capture.task
    split_rows = split_indices(task, *split) if split is not None else None
    rows = []
    for after, resid in stream(forward, capture).residuals.items():
        logits = forward.linear(forward.norm(resid, keys.LN_FINAL), keys.UNEMBED)  # [input, vocab]
        rows.append(
            Stage(
                after=after,
                position="equals",
                shares=anova(resid, task.modulus),
                answer_frequencies=frequency_amplitudes(answer_part(resid, task.modulus), task.modulus),
                decodable=None if split_rows is None else linear_readout_accuracy(resid, capture.targets, *split_rows),
                readout_accuracy=float((logits.argmax(-1) == capture.targets).double().mean()),
            )
        )
    return rows
