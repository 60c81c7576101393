"""One pass of the model over all p² inputs through TransformerLens hooks, keeping what the stages read.

stats reads the attention from `=`; content reads each layer's input at every position and each
head's output at `=`; causal re-runs the model from any layer with one head changed, reusing the
clean activations kept here. Everything is float64 (the model runs in float64 for the analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reporter.limits import batch_for
from reporter.model.task import EQUALS_POS, Task, all_pairs, answers, tokens_for


class NonFiniteLogits(ValueError):
    """The model's logits are not finite on some input: nothing can be measured."""


@dataclass(frozen=True)
class Capture:
    """Clean activations over all inputs (row a * p + b), as TransformerLens' hooks report them."""

    task: Task
    resid_pre: torch.Tensor  # [input, layer, pos, d_model] each layer's input at every position
    resid_final: torch.Tensor  # [input, pos, d_model] the input of the final norm
    keys: torch.Tensor  # [input, layer, pos, head, d_head] hook_k
    values: torch.Tensor  # [input, layer, pos, head, d_head] hook_v
    queries: torch.Tensor  # [input, layer, head, d_head] hook_q at `=`
    z: torch.Tensor  # [input, layer, head, d_head] hook_z at `=`: what each head's attention reads
    z_mean: torch.Tensor  # [layer, pos, head, d_head] hook_z at every position, averaged over all inputs
    pattern: torch.Tensor  # [input, layer, head, key] hook_pattern from `=`
    logits: torch.Tensor  # [input, d_vocab_out] at `=`
    targets: torch.Tensor  # [input] the right answer (a + b) mod p

    @property
    def loss(self) -> torch.Tensor:
        """[input] cross-entropy at `=` in nats."""
        return F.cross_entropy(self.logits, self.targets, reduction="none")

    @property
    def correct(self) -> np.ndarray:
        """[input] bool: the largest logit is the right answer."""
        return (self.logits.argmax(-1) == self.targets).numpy()

    @property
    def weights(self) -> np.ndarray:
        """[input, layer, head, key] the attention from `=` as numpy."""
        return self.pattern.numpy()


HOOKS = {  # hook name suffix -> what is kept of it
    "hook_resid_pre": lambda x: x,  # [batch, pos, d_model]
    "attn.hook_k": lambda x: x,  # [batch, pos, head, d_head]
    "attn.hook_v": lambda x: x,
    "attn.hook_q": lambda x: x[:, EQUALS_POS],  # [batch, head, d_head]
    "attn.hook_z": lambda x: x[:, EQUALS_POS],
    "attn.hook_pattern": lambda x: x[:, :, EQUALS_POS, :],  # [batch, head, query, key] -> [batch, head, key]
}


def capture(model, task: Task) -> Capture:
    """Run the model over every input once (in batches), through TransformerLens hooks."""
    cfg = model.cfg
    n, n_layers = task.n_inputs, cfg.n_layers
    kept: dict[str, list[torch.Tensor]] = {}
    final: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []

    def keep(name: str, select):
        def hook(activation: torch.Tensor, hook) -> None:
            kept.setdefault(name, []).append(select(activation).detach().clone())

        return hook

    z_sum = torch.zeros(n_layers, 4, cfg.n_heads, cfg.d_head, dtype=torch.float64)

    def add_z(layer: int):
        def hook(z: torch.Tensor, hook) -> None:  # [batch, pos, head, d_head]
            z_sum[layer] += z.double().sum(0)

        return hook

    hooks = [
        (f"blocks.{layer}.{suffix}", keep(f"{layer}.{suffix}", select))
        for layer in range(n_layers)
        for suffix, select in HOOKS.items()
    ]
    hooks += [(f"blocks.{layer}.attn.hook_z", add_z(layer)) for layer in range(n_layers)]
    hooks.append(("ln_final.hook_in", lambda x, hook: final.append(x.detach().clone())))
    batch = batch_for(cfg.d_model, cfg.d_mlp or 0, cfg.d_vocab_out)
    with torch.inference_mode():
        for start in range(0, n, batch):
            tokens = tokens_for(task, *all_pairs(task, start, start + batch))  # [batch, 4]
            out = model.run_with_hooks(tokens, fwd_hooks=hooks)[:, EQUALS_POS, :]  # [batch, d_vocab_out]
            if not bool(torch.isfinite(out).all()):
                raise NonFiniteLogits("the weights give NaN or infinite logits on some inputs.")
            logits.append(out)

    def stacked(suffix: str) -> torch.Tensor:  # layers stacked on dim 1
        return torch.stack([torch.cat(kept[f"{layer}.{suffix}"]) for layer in range(n_layers)], dim=1)

    tokens = tokens_for(task, *all_pairs(task))
    return Capture(
        task=task,
        resid_pre=stacked("hook_resid_pre"),
        resid_final=torch.cat(final),
        keys=stacked("attn.hook_k"),
        values=stacked("attn.hook_v"),
        queries=stacked("attn.hook_q"),
        z=stacked("attn.hook_z"),
        z_mean=z_sum / n,
        pattern=stacked("attn.hook_pattern"),
        logits=torch.cat(logits),
        targets=answers(task, tokens),
    )
