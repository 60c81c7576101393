"""The runs to compare, each analysed once: from the cache where it can, with its circuit stage (where the work
happens, which frequencies, its algorithm) and its untrained model (whose labels say little on their own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reporter.analysis import Analysis


class CompareError(ValueError):
    """Runs that cannot be compared; the message is one sentence."""


@dataclass(frozen=True)
class Run:
    """One checkpoint's analysis, as the comparison sees it."""

    name: str
    analysis: Analysis

    @property
    def counted(self) -> bool:
        """Whether the run counts toward what recurs: its model has learned the task."""
        return self.analysis.warning is None

    @property
    def seed(self) -> int | None:
        training = self.analysis.training
        return training.seed if training else None


def analyse_runs(
    checkpoints, thresholds, cache=None, on_run=None, known: dict | None = None, device: str = "cpu", progress=None
) -> list[Run]:
    """Each checkpoint analysed on the torch ``device`` (from the cache where it can; ``known`` maps a resolved
    path to an analysis already made), named by its folder, or by its whole path where two folders share a name.
    ``on_run(checkpoint)`` hears each run as its analysis starts, ``progress(checkpoint, stage)`` each stage."""
    from reporter.analysis import Options, analyse

    folders: dict = {}
    for checkpoint in checkpoints:  # a run named twice would be counted twice
        first = folders.setdefault(Path(checkpoint).resolve(), checkpoint)
        if first is not checkpoint:
            raise CompareError(f"{first} is named twice; name each run once.")
    names = [Path(c).name for c in checkpoints]
    if len(set(names)) < len(names):
        names = [str(c) for c in checkpoints]
    runs, weights = [], {}
    for name, checkpoint in zip(names, checkpoints, strict=True):
        analysis = (known or {}).get(Path(checkpoint).resolve())
        if analysis is None:
            if on_run:
                on_run(checkpoint)
            analysis = analyse(
                Path(checkpoint),
                Options(thresholds=thresholds, sweep=False, device=device),
                cache,
                None if progress is None else lambda stage, run=checkpoint: progress(run, stage),
            )
        digest = analysis.provenance["checkpoint_sha256"]
        if digest in weights:
            raise CompareError(
                f"{checkpoint} holds the same weights as {weights[digest]} (sha256 {digest[:12]}); "
                "a copy of a run is the same run: name each run once."
            )
        weights[digest] = checkpoint
        runs.append(Run(name, analysis))
    return runs
