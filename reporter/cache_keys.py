"""What each cached stage reads, as the key of its cache entry (cache.py): the checkpoint's bytes and options
for the measurements, the start point for the untrained baseline."""

from __future__ import annotations

from reporter.model.recipe import initial_unembed_scale


def measurements_reads(files, key_frequency: float, circuit: bool = True, device: str = "cpu") -> dict:
    """What `analysis.measure` reads: the checkpoint's bytes, its one threshold, whether it measures the circuit,
    and the device it runs on (float64 there may differ in the last digits)."""
    digests = {"config": files.config_sha256, "weights": files.weights_sha256}
    return {"stage": "measurements", **digests, "key_frequency": key_frequency, "circuit": circuit, "device": device}


def baseline_reads(files, device: str = "cpu") -> dict:
    """What `analysis.measure_baseline` reads: the model block (its seed included), the modulus and the recorded
    recipe's initial unembedding scale (the training start point), and the device; no weights."""
    scale = initial_unembed_scale(files.training.recipe if files.training else None)
    model, modulus = files.config["model"], files.task.modulus
    return {"stage": "baseline", "model": model, "modulus": modulus, "unembed_scale": scale, "device": device}
