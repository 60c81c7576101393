"""Writers exclude each other: a lock on the folder an output is written into, held by this process once.

The lock is an flock on the parent folder, taken before a command's work starts (`holding`) or when its
outputs are written (`outputs.replacing_all`); a second command writing beside them is refused at once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

HELD: set[Path] = set()  # folders this process holds locked: a lock is the process's, so is this record of it


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (which must exist); a second holder is refused at once. A folder
    this process already holds (`holding`, before the work) is not locked twice."""
    folder = Path(folder).resolve()
    if folder in HELD:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            from reporter.publish.outputs import OutputError

            raise OutputError(
                f"another modreport command is writing into {folder}; wait for it to finish and run this again."
            ) from None
        HELD.add(folder)
        try:
            yield
        finally:
            HELD.discard(folder)
    finally:
        os.close(descriptor)  # releases the lock


@contextmanager
def holding(targets: Iterable[Path]) -> Iterator[None]:
    """Lock the existing parents of ``targets`` for the whole command, before any work: a second command
    writing beside them is refused at once, not after its analysis. (A parent that does not exist yet is
    made and locked when the output is written.)"""
    parents = sorted({Path(target).resolve().parent for target in targets if Path(target).resolve().parent.is_dir()})
    with ExitStack() as stack:
        for parent in parents:
            stack.enter_context(locked(parent))
        yield
