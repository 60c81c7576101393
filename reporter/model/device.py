"""Where the model runs: the device a user asks for (auto, cpu, cuda), checked, and the device a model is on.

Every tensor a stage makes for the model is made on the model's device; every result comes back to the
CPU (numpy, floats) before anything is cached or written. The committed report is measured on the CPU:
float64 on another device may differ in the last digits.
"""

from __future__ import annotations

DEVICES = ("cpu", "cuda", "auto")  # what --device accepts; auto: CUDA when torch sees one, else the CPU


class DeviceError(ValueError):
    """A device this machine cannot run on; the message is one sentence."""


def resolve_device(name: str) -> str:
    """The torch device ("cpu" or "cuda") for ``name``; "cuda" without CUDA is one DeviceError sentence. The CPU
    needs no check, so that a build read from the cache never imports torch (about a second)."""
    if name not in DEVICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICES)}, not {name!r}.")
    if name == "cpu":
        return name
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "--device cuda needs a CUDA GPU that torch can use, and this machine has none; use --device cpu."
        )
    return name


def device_of(model):
    """The torch.device the model's weights are on."""
    return next(iter(model.state_dict().values())).device
