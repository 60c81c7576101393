"""The kinds of threshold the table holds (shares, losses, multiples, counts), each a dataclass field that
carries its reason, its group and its unit; and the groups, in the order the methodology page prints them."""

from __future__ import annotations

import math
from dataclasses import field

LABELS, CARRIES, CAUSAL, FOURIER, CIRCUIT = "labels", "carries", "causal", "fourier", "circuit"
FINDINGS, PAGES, RUNS = "findings", "pages", "runs"
SWEEP_FACTORS = (0.8, 0.9, 1.1, 1.2)  # a share threshold moves to these multiples of its value
SWEEP_STEPS = (-2, -1, 1, 2)  # a count moves by these whole steps


def share(default: float, group: str, reason: str) -> float:
    """A threshold on a share or weight, in [0, 1]."""
    return field(default=default, metadata={"reason": reason, "group": group, "unit": "share"})


def nats(default: float, group: str, reason: str) -> float:
    """A threshold on a change of loss, in nats: any number of at least 0."""
    return field(default=default, metadata={"reason": reason, "group": group, "unit": "nats"})


def ratio(default: float, group: str, reason: str) -> float:
    """A threshold on a multiple of another measured quantity: any number of at least 0."""
    return field(default=default, metadata={"reason": reason, "group": group, "unit": "ratio"})


def count(default: int, group: str, reason: str, swept: bool = True) -> int:
    """A threshold on a number of things, a whole number of at least 1. ``swept=False`` for a count that is
    part of a label's definition rather than a cut-off on a measurement: printed, not moved in the sweep."""
    return field(default=default, metadata={"reason": reason, "group": group, "unit": "count", "swept": swept})


def parse_setting(setting: str) -> tuple[str, float]:
    """ "focus=0.6" -> ("focus", 0.6); a malformed setting is one ValueError sentence."""
    name, sep, value = setting.partition("=")
    if not sep:
        raise ValueError(f"--set {setting!r} is not of the form name=value.")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"--set {setting!r}: {value!r} is not a number.") from None
    return name.strip(), number


def checked(name: str, unit: str, value) -> float | int:
    """An override's value for a threshold of ``unit``, as the table holds it; one ValueError sentence for a
    non-number or a value out of the unit's range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"threshold {name!r} must be a finite number, not {value!r}.")
    if unit == "count":
        if value != int(value) or value < 1:
            raise ValueError(
                f"threshold {name!r} counts things: it must be a whole number of at least 1, not {value!r}."
            )
        return int(value)
    if unit == "share" and not 0 <= value <= 1:
        raise ValueError(f"threshold {name!r} is a share: it must lie in [0, 1], not {value!r}.")
    if unit == "nats" and value < 0:
        raise ValueError(f"threshold {name!r} is a loss in nats: it must be at least 0, not {value!r}.")
    if unit == "ratio" and value < 0:
        raise ValueError(f"threshold {name!r} is a multiple: it must be at least 0, not {value!r}.")
    return float(value)
