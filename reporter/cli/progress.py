"""The library's progress as the command line shows it: a bar per run over its analysis stages, with the
stage's name and the seconds it has run, and the total time at the end.

In a terminal the bar redraws in place; elsewhere (a log, a pipe, a test) each run ends with one line that
names its stages and their seconds, so the output stays plain text.
"""

from __future__ import annotations

import sys
import time

import click

from reporter.analysis import STAGES as RUN_STAGES

STARTS = ("analyse", "compare")  # the events that start a run's analysis


class StageProgress:
    """A `Progress` callback (stage, run, seconds) that draws it on standard error. ``lines``: what to say
    when a stage outside a run's analysis starts (stage -> line); a run's first start prints its own."""

    def __init__(self, lines: dict[str, str], terminal: bool | None = None):
        self.lines = lines
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.started = time.perf_counter()
        self.said: set[str] = set()
        self.run: str | None = None
        self.bar = None
        self.stage: str | None = None
        self.stage_started = self.run_started = 0.0
        self.done: list[tuple[str, float]] = []  # the current run's finished stages: (stage, seconds)

    def __call__(self, stage: str, run: str | None, elapsed: float) -> None:
        now = time.perf_counter()
        if stage in STARTS:
            self.end_run(now)
            self.say(stage)
            self.run, self.stage_started, self.run_started = run, now, now
            if self.terminal:
                self.bar = click.progressbar(
                    length=len(RUN_STAGES), label=f"      {run}", file=sys.stderr, show_eta=False, show_percent=False
                )
                self.bar.__enter__()
        elif stage in RUN_STAGES and self.run is not None:
            self.end_stage(now)
            self.stage, self.stage_started = stage, now
            if self.bar is not None:
                self.bar.current_item = stage
                self.bar.item_show_func = lambda item: f"{item}, {time.perf_counter() - self.run_started:.1f} s in"
                self.bar.update(1)
        else:
            self.end_run(now)
            self.say(stage)

    def say(self, stage: str) -> None:
        if stage in self.lines and stage not in self.said:
            click.echo(self.lines[stage], err=True)
            self.said.add(stage)

    def end_stage(self, now: float) -> None:
        if self.stage is not None:
            self.done.append((self.stage, now - self.stage_started))
        self.stage = None

    def end_run(self, now: float) -> None:
        """Close the run under way: its bar filled, or its one line of stages and seconds."""
        if self.run is None:
            return
        self.end_stage(now)
        total = sum(seconds for _, seconds in self.done)
        stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in self.done) or "read from the cache"
        if self.bar is not None:
            self.bar.update(len(RUN_STAGES))
            self.bar.item_show_func = None
            self.bar.__exit__(None, None, None)
            self.bar = None
        click.echo(f"      {self.run}: {stages} ({total:.1f} s)", err=True)
        self.run, self.done = None, []

    def finish(self, what: str) -> None:
        """End the last run, and say how long the whole command took."""
        now = time.perf_counter()
        self.end_run(now)
        click.echo(f"{what} in {now - self.started:.1f} s", err=True)
