"""How the labels and findings move when one threshold moves.

Each threshold that decides a label or a finding is moved, one at a time, down and up
(shares by a factor, counts by whole steps; `Thresholds.moves`). A row lists, for each
move, the heads whose label changes and the findings whose verdict changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from reporter.findings import Finding, check_findings
from reporter.labels import Label, label_heads, layer_trends
from reporter.stats import HeadStats, LayerStats
from reporter.thresholds import FINDINGS, LABELS, Thresholds


@dataclass(frozen=True)
class Move:
    """One threshold at one moved value, and what changed."""

    step: str  # "× 0.8", "+1"
    value: float | None  # None: the move would leave the threshold's range
    labels_changed: list[dict]  # {"layer", "head", "name", "from", "to"}
    findings_changed: list[dict]  # {"id", "from", "to"}


@dataclass(frozen=True)
class SensitivityRow:
    threshold: str
    value: float
    moves: list[Move]


def sensitivity(
    heads: list[HeadStats], layers: list[LayerStats], labels: list[Label], findings: list[Finding], t: Thresholds
) -> list[SensitivityRow]:
    """For each label and finding threshold, its four moves; ``labels`` and ``findings`` are the unmoved ones."""
    base_labels = {l.name: l.kind.value for l in labels}
    base_findings = {f.id: f.holds for f in findings}
    rows = []
    for name in (f.name for f in fields(Thresholds) if Thresholds.group_of(f.name) in (LABELS, FINDINGS)):
        moves = []
        for step, value in t.moves(name):
            if value is None:
                moves.append(Move(step, None, [], []))
                continue
            moved = t.with_overrides({name: value})
            # A findings threshold never relabels a head: keep the labels already decided.
            new_labels = label_heads(heads, moved) if Thresholds.group_of(name) == LABELS else labels
            new_findings = check_findings(layers, new_labels, layer_trends(layers, new_labels), moved)
            moves.append(
                Move(
                    step,
                    value,
                    [
                        {
                            "layer": l.layer,
                            "head": l.head,
                            "name": l.name,
                            "from": base_labels[l.name],
                            "to": l.kind.value,
                        }
                        for l in new_labels
                        if l.kind.value != base_labels[l.name]
                    ],
                    [
                        {"id": f.id, "from": base_findings[f.id], "to": f.holds}
                        for f in new_findings
                        if f.holds != base_findings[f.id]
                    ],
                )
            )
        rows.append(SensitivityRow(name, getattr(t, name), moves))
    return rows


def unstable_heads(rows: list[SensitivityRow]) -> dict[str, list[str]]:
    """Head name -> the thresholds whose moves change its label; a head absent here is stable."""
    moved: dict[str, list[str]] = {}
    for row in rows:
        for move in row.moves:
            for change in move.labels_changed:
                names = moved.setdefault(change["name"], [])
                if row.threshold not in names:
                    names.append(row.threshold)
    return moved
