"""Writing into folders and files the user named, without ever losing what was there.

Only the command line calls this module: the stages never touch the user's paths. The rules:

- modreport replaces only what it wrote. Every folder it writes carries a marker file
  (`.modreport`, saying which kind of output it is); an existing non-empty folder without the
  marker of the same kind is refused. A checkpoint folder may also be recognised by holding only
  a checkpoint's two files, and replacing one needs `force`.
- It never writes into or replaces `/`, the home folder, the current folder, any of its inputs
  (the checkpoint, the templates, a thresholds file), or a folder that contains one of them.
- A folder is built in a staging folder beside it and swapped in with one atomic exchange
  (`renameat2(RENAME_EXCHANGE)`): at every instant either the old folder or the new one is
  complete in place. A single file is written to a temporary file and renamed over.
- Writers into the same parent folder exclude each other with a lock on that folder; staging
  folders that a killed run left behind are removed by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from reporter.publish.locks import holding, locked  # noqa: F401  (holding: the CLI takes it before the work)

MARKER = ".modreport"  # JSON {"written_by": "modreport", "kind": ...} in every folder modreport writes
PAGES, HTML, CHECKPOINT = "pages", "html", "checkpoint"  # the kinds of folder it writes
CHECKPOINT_FILES = {"config.json", "model.safetensors"}
STAGING = ".modreport-"  # staging folders are named ".{target}.modreport-XXXX"
MAX_REPORT_BYTES = 256 * 2**20  # an existing file at --json larger than this is not a report of ours


class OutputError(ValueError):
    """An output path that cannot or must not be written; the message is one sentence."""


class OptionConflict(OutputError):
    """Options that contradict each other (a usage error)."""


def marker_kind(folder: Path) -> str | None:
    """The kind a modreport marker in ``folder`` names, or None when there is no readable marker."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(marker, dict) and marker.get("written_by") == "modreport":
        return marker.get("kind")
    return None


def write_marker(folder: Path, kind: str) -> None:
    (folder / MARKER).write_text(json.dumps({"written_by": "modreport", "kind": kind}) + "\n")


def holds_config(folder: Path) -> bool:
    """Whether ``folder`` has a checkpoint's config.json (a JSON object with "model" and "task")."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"model", "task"} <= set(config)


def forbidden(target: Path, inputs: Iterable[Path]) -> str | None:
    """Why ``target`` (resolved) must not be written, or None."""
    if target == Path(target.anchor):
        return "is the root of the file system"
    home, here = Path.home().resolve(), Path.cwd().resolve()
    if target == home:
        return "is your home folder"
    if target == here:
        return "is the current folder"
    if target in home.parents:
        return "holds your home folder"
    if target in here.parents:
        return "holds the current folder"
    from reporter import resources

    shipped = resources.CHECKPOINTS.resolve()
    if target == shipped or shipped in target.parents:
        return f"is part of modreport's shipped runs ({shipped}), which are inputs"
    for source in inputs:
        source = Path(source).resolve()
        if target == source or target in source.parents:
            return f"holds {source}, an input of this command"
        if source in target.parents:
            return f"lies inside {source}, an input of this command"
    return None


def check_apart(pages: Path, html: Path) -> None:
    """The Markdown and HTML folders must be two folders, neither inside the other: swapping one in would
    delete the other."""
    a, b = Path(os.path.abspath(pages)), Path(os.path.abspath(html))
    if a == b or a in b.parents or b in a.parents:
        raise OptionConflict("--out and --html must be separate folders, neither inside the other.")


def check_folder(target: Path, kind: str, inputs: Iterable[Path] = (), force: bool = False) -> Path:
    """``target`` resolved, once it is known to be safe to replace with a new folder of ``kind``."""
    resolved = Path(os.path.abspath(target))
    resolved = resolved.parent.resolve() / resolved.name if resolved.parent != resolved else resolved
    if resolved.is_symlink():
        raise OutputError(f"{target} is a symbolic link; name the folder it points to, or a new one.")
    reason = forbidden(resolved, inputs)
    if reason:
        raise OutputError(f"modreport will not write {target}: it {reason}.")
    if not resolved.exists():
        return resolved
    if not resolved.is_dir():
        raise OutputError(f"{target} exists and is not a folder.")
    names = {p.name for p in resolved.iterdir()}
    if not names:
        return resolved
    found = marker_kind(resolved)
    is_checkpoint = found == CHECKPOINT or (found is None and names <= CHECKPOINT_FILES and holds_config(resolved))
    if kind == CHECKPOINT and is_checkpoint:
        if not force:
            raise OutputError(f"{target} already holds a checkpoint; pass --force to replace it.")
        return resolved
    if found == kind:
        return resolved
    what = f"modreport's {found} output" if found else "files modreport did not write"
    raise OutputError(
        f"{target} holds {what}; modreport replaces only its own {kind} folders: choose a new or empty folder."
    )


def remove_leftovers(parent: Path, name: str) -> None:
    """Remove staging folders of ``name`` that a killed run left in ``parent`` (only ours: marked or empty)."""
    for path in parent.glob(f".{name}{STAGING}*"):
        if path.is_dir() and not path.is_symlink() and (marker_kind(path) or not any(path.iterdir())):
            shutil.rmtree(path, ignore_errors=True)


_libc = ctypes.CDLL(None, use_errno=True)
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    """Swap two folders in one atomic step (Linux renameat2 with RENAME_EXCHANGE). Where the file
    system cannot exchange, two renames do it, with a moment in between when ``b`` is absent."""
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return
    code = ctypes.get_errno()
    if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        raise OSError(code, os.strerror(code), str(b))
    aside = Path(tempfile.mkdtemp(prefix=f".{b.name}{STAGING}", dir=b.parent))
    os.rename(b, aside / "old")
    os.rename(a, b)
    os.rename(aside / "old", a)
    aside.rmdir()


@contextmanager
def replacing(target: Path, kind: str) -> Iterator[Path]:
    """Yield a fresh staging folder beside ``target`` (already checked with `check_folder`); when the
    block succeeds, the staging folder, marked as ``kind``, takes ``target``'s place in one atomic step.
    On any error ``target`` is left exactly as it was and the staging folder is removed."""
    with replacing_all([(target, kind)]) as (staging,):
        yield staging


@contextmanager
def replacing_all(targets: list[tuple[Path, str]]) -> Iterator[list[Path]]:
    """`replacing` for several folders at once, their parents locked once each; the last named is swapped
    in first."""
    parents = sorted({target.parent for target, _ in targets})
    for parent in parents:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot write into {parent}: {error.strerror or error}.") from None
    with ExitStack() as stack:
        for parent in parents:
            stack.enter_context(locked(parent))
        yield [stack.enter_context(staged(target, kind)) for target, kind in targets]


@contextmanager
def staged(target: Path, kind: str) -> Iterator[Path]:
    """The staging and the swap of `replacing`, with ``target``'s parent already locked."""
    parent = target.parent
    remove_leftovers(parent, target.name)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING}", dir=parent))
        write_marker(staging, kind)  # from the start, so that a killed run's staging folder is known as ours
    except OSError as error:
        raise OutputError(f"cannot write into {parent}: {error.strerror or error}.") from None
    try:
        yield staging
        os.chmod(staging, 0o755)
        if target.exists():
            exchange(staging, target)  # staging now holds the old folder
        else:
            os.rename(staging, target)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_files(files: dict[str, bytes], directory: Path) -> None:
    """Write relative path -> bytes into ``directory`` (a staging folder of ours)."""
    for name, content in sorted(files.items()):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def is_our_report(path: Path) -> bool:
    """Whether an existing file is a report.json that modreport wrote (and so may be replaced)."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return False
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and {"schema_version", "provenance", "heads"} <= set(document)


def check_report_path(path: Path, inputs: Iterable[Path] = ()) -> Path:
    """``path`` made absolute, once it is known to be safe for a report: not an input, not inside one, and
    either new or a report modreport wrote."""
    from reporter.limits import path_problem

    if problem := path_problem(path):
        raise OutputError(f"{str(path)[:80]}… {problem}.")
    resolved = Path(os.path.abspath(path))
    reason = forbidden(resolved.resolve(), inputs)
    if reason or resolved.resolve() == resolved.parent.resolve():
        raise OutputError(f"modreport will not write {path}: it {reason or 'is a folder'}.")
    if resolved.is_symlink() or (resolved.exists() and not resolved.is_file()):
        raise OutputError(f"{path} exists and is not a plain file.")
    if resolved.exists() and not is_our_report(resolved):
        raise OutputError(f"{path} exists and is not a report modreport wrote; choose another path.")
    return resolved


def write_report_file(path: Path, content: bytes, inputs: Iterable[Path] = ()) -> None:
    """Write a report file atomically (a temporary file beside it, then a rename), never onto an
    input and never over a file that is not a report modreport wrote."""
    resolved = check_report_path(path, inputs)
    for leftover in resolved.parent.glob(f".{resolved.name}{STAGING}*"):  # of a killed write: ours, or empty
        ours = leftover.is_file() and not leftover.is_symlink()
        if ours and (leftover.stat().st_size == 0 or is_our_report(leftover)):
            leftover.unlink(missing_ok=True)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{resolved.name}{STAGING}", dir=resolved.parent)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}.") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, resolved)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}.") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
