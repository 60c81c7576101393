"""The bridge's names, spelled once: its state_dict keys (contract 2), the hook points the engine edits, and
the activations and norms modreport builds and replays. Nothing is imported here, so the CLI can read it.

A state_dict key is a module prefix plus ``.weight`` or ``.bias``: ``blocks.1.attn.q.weight`` is the
query projection of layer 1 (nn.Linear layout, [out, in]). The hook names are those TransformerLens'
native bridge fires (checked by tests/test_engine.py against a replay of the same edit).
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "gelu", "gelu_new", "silu", "swish", "solu")  # the MLP's act_fn
NORMALIZATIONS = ("LN", "RMS", "LNPre", "RMSPre", None)  # normalization_type

EMBED = "embed.weight"  # [d_vocab, d_model]
POS_EMBED = "pos_embed.weight"  # [n_ctx, d_model]
UNEMBED = "unembed"  # prefix: weight [d_vocab_out, d_model], bias [d_vocab_out]
LN_FINAL = "ln_final"  # prefix of the final norm


def weight(prefix: str) -> str:
    return f"{prefix}.weight"


def bias(prefix: str) -> str:
    return f"{prefix}.bias"


def attn(layer: int, projection: str) -> str:
    """Prefix of an attention projection: ``projection`` is "q", "k", "v" or "o"."""
    return f"blocks.{layer}.attn.{projection}"


def mlp(layer: int, projection: str) -> str:
    """Prefix of an MLP projection: ``projection`` is "in" or "out"."""
    return f"blocks.{layer}.mlp.{projection}"


def ln(layer: int, which: int) -> str:
    """Prefix of a block's norm: ``which`` 1 (before attention) or 2 (before the MLP)."""
    return f"blocks.{layer}.ln{which}"


def score_keys(n_layers: int) -> set[str]:
    """The state_dict keys of every query and key projection: the weights the attention scores are made of."""
    return {f(attn(layer, x)) for layer in range(n_layers) for x in "qk" for f in (weight, bias)}


def norm_keys(n_layers: int) -> set[str]:
    """The state_dict keys of every norm's scale and shift."""
    prefixes = [ln(layer, which) for layer in range(n_layers) for which in (1, 2)] + [LN_FINAL]
    return {f(prefix) for prefix in prefixes for f in (weight, bias)}


# Hook points, in the order the forward reaches them inside a block; shapes as the hooks see them.
RESID_PRE = "hook_resid_pre"  # [batch, pos, d_model] the block's input
PATTERN = "attn.hook_pattern"  # [batch, head, query, key] attention after the softmax
Z = "attn.hook_z"  # [batch, pos, head, d_head] what each head reads, before W_O
ATTN_OUT = "hook_attn_out"  # [batch, pos, d_model] the attention block's output, W_O · z + b_O
# the residual after attention. The bridge's hook of that name is the second norm's input: replacing it changes
# the MLP's input, not the residual that goes on (edits.ResidualEdit goes through ATTN_OUT instead)
RESID_MID = "hook_resid_mid"
MLP_OUT = "hook_mlp_out"  # [batch, pos, d_model] the MLP's output
RESID_POST = "hook_resid_post"  # [batch, pos, d_model] the block's output
Q, K, V = "attn.hook_q", "attn.hook_k", "attn.hook_v"  # [batch, pos, head, d_head]
FINAL_IN = "ln_final.hook_in"  # [batch, pos, d_model] the final norm's input
SITES = (RESID_PRE, PATTERN, Z, ATTN_OUT, RESID_MID, MLP_OUT, RESID_POST)  # the order the forward reaches them


def hook(layer: int, site: str) -> str:
    """The full hook name of ``site`` (one of the constants above) in block ``layer``."""
    return f"blocks.{layer}.{site}"
