"""The kinds of threshold the table holds (shares, losses, multiples, counts), each a dataclass field that
carries its reason, its group and its unit; and the groups, in the order the methodology page prints them."""

from __future__ import annotations

from dataclasses import field

LABELS, CARRIES, CAUSAL, FOURIER, CIRCUIT = "labels", "carries", "causal", "fourier", "circuit"
FINDINGS, PAGES = "findings", "pages"
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
