"""What a figure shows of a head's role: the fields it draws and nothing else.

The cache keys a figure by the values it is given (`Plan.digest`), so a figure given a whole `HeadRole`
is drawn again whenever a label's score moves with a threshold, though not a pixel changes. These views
hold only what the figures read; matplotlib is not imported here (`figure_plans` builds them).
"""

from __future__ import annotations

from dataclasses import dataclass

from reporter.interpret.roles import Carries, HeadRole, Importance
from reporter.measure.causal import HeadEffects
from reporter.measure.content import HeadWrite
from reporter.measure.fourier import PreferenceRule
from reporter.model.task import head_name


@dataclass(frozen=True)
class HeadShown:
    """One head as its own figure shows it: its niche (the title's words), what its write carries, how much the
    model needs it, and the measurements it draws; ``preference`` orders its attention map."""

    layer: int
    head: int
    niche: str  # HeadRole.niche: "sink", "switches", "answer" or the label by content
    carries: Carries
    importance: Importance
    write: HeadWrite
    effects: HeadEffects
    preference: PreferenceRule | None

    @property
    def name(self) -> str:
        return head_name(self.layer, self.head)


def head_shown(role: HeadRole) -> HeadShown:
    """The part of ``role`` that its head figure draws."""
    return HeadShown(
        layer=role.layer,
        head=role.head,
        niche=role.niche,
        carries=role.carries,
        importance=role.importance,
        write=role.write,
        effects=role.effects,
        preference=role.preference,
    )


def switch_rules(roles: list[HeadRole]) -> list[tuple[str, PreferenceRule]]:
    """(head name, its one-frequency rule) for every head that switches between a and b (the Fourier figure)."""
    return [(role.name, role.preference) for role in roles if role.preference is not None]
