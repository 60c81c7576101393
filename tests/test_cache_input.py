"""The cache is an input: every entry is checked on every load, and one that fails any check is a miss,
measured again and replaced, with one line saying so; never a wrong number, a path followed, a file written
outside the cache, or a traceback."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from reporter.analysis import Options, analyse
from reporter.cache import DIGESTS, FIGURES, Cache
from reporter.publish.report import dumps, report_json
from tests.conftest import invoke


def measurements_entry(folder: Path) -> Path:
    """The entry that holds the measurements (the baseline's has no interventions)."""
    (entry,) = [p for p in folder.iterdir() if p.is_dir() and b'"effects"' in (p / "values.json").read_bytes()]
    return entry


def rewrite(entry: Path, name: str, data: bytes, redigest: bool = True) -> None:
    """Replace one file of an entry; with ``redigest``, as a forger would, its digest too."""
    (entry / name).write_bytes(data)
    if redigest:
        digests = json.loads((entry / DIGESTS).read_text())
        digests[name] = hashlib.sha256(data).hexdigest()
        (entry / DIGESTS).write_text(json.dumps(digests))


def edit_values(change):
    def damage(entry: Path) -> None:
        values = json.loads((entry / "values.json").read_text())
        change(values[0])
        rewrite(entry, "values.json", json.dumps(values, allow_nan=True).encode())

    return damage


def truncated_arrays(entry: Path) -> None:
    (entry / "arrays.npz").write_bytes((entry / "arrays.npz").read_bytes()[:100])  # its digest no longer matches


def all_correct(entry: Path) -> None:
    """The `correct` array set to all true, the digest left alone: the 13% model would read as 100%."""
    import io

    import numpy as np

    with np.load(entry / "arrays.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays = {name: (np.ones_like(a) if a.dtype == bool else a) for name, a in arrays.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    rewrite(entry, "arrays.npz", buffer.getvalue(), redigest=False)


def wrong_shape(entry: Path) -> None:
    import io

    import numpy as np

    with np.load(entry / "arrays.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["array0"] = arrays["array0"][:5]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    rewrite(entry, "arrays.npz", buffer.getvalue())


def huge_values(entry: Path) -> None:
    with (entry / "values.json").open("r+b") as file:  # sparse: 5 GB on paper, nothing on disk
        file.truncate(5 * 2**30)


def nested_values(entry: Path) -> None:
    rewrite(entry, "values.json", b"[" * 100_000 + b"]" * 100_000)


def linked_values(entry: Path) -> None:
    target = entry.parent.parent / "elsewhere.json"
    target.write_bytes((entry / "values.json").read_bytes())
    (entry / "values.json").unlink()
    (entry / "values.json").symlink_to(target)


DAMAGE = {
    "truncated archive": truncated_arrays,
    "correct set to all true": all_correct,
    "contents emptied": edit_values(lambda m: m.update(contents=[])),
    "a number made NaN": edit_values(lambda m: m["checks"].update(noop_delta_loss=float("nan"))),
    "a number made a string": edit_values(lambda m: m["logits"].update(clean_loss="0")),
    "a field removed": edit_values(lambda m: m.pop("checks")),
    "the circuit's heads renamed": edit_values(lambda m: m["circuit"]["agreement"].update(heads=["L9H9"] * 4)),
    "a stage of the circuit removed": edit_values(lambda m: m["circuit"]["stages"].pop()),
    "an array of the wrong shape": wrong_shape,
    "a 5 GB values.json": huge_values,
    "JSON nested 100,000 deep": nested_values,
    "a file that is a link": linked_values,
    "digests removed": lambda entry: (entry / DIGESTS).unlink(),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_measurements_entry_is_measured_again_and_replaced(checkpoint, tmp_path, counted, case):
    cache = Cache(tmp_path / "cache")
    clean = dumps(report_json(analyse(checkpoint, Options(), cache)))
    entry = measurements_entry(tmp_path / "cache")
    DAMAGE[case](entry)
    again = Cache(tmp_path / "cache")
    assert dumps(report_json(analyse(checkpoint, Options(), again))) == clean  # never a wrong number
    assert len(counted) == 2 and len(again.problems) == 1, again.problems
    assert not entry.joinpath("values.json").is_symlink()
    third = Cache(tmp_path / "cache")
    assert dumps(report_json(analyse(checkpoint, Options(), third))) == clean
    assert len(counted) == 2 and third.problems == []  # the entry was replaced: a hit again
    assert not list((tmp_path / "cache").glob(".entry-*"))


def test_an_entry_that_is_a_link_to_a_users_folder_is_never_written_through(checkpoint, tmp_path, counted):
    cache = Cache(tmp_path / "cache")
    clean = dumps(report_json(analyse(checkpoint, Options(), cache)))
    entry = measurements_entry(tmp_path / "cache")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    shutil.rmtree(entry)
    entry.symlink_to(mine)
    again = Cache(tmp_path / "cache")
    assert dumps(report_json(analyse(checkpoint, Options(), again))) == clean
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and (mine / "notes.txt").read_text() == "my notes"
    assert entry.is_dir() and not entry.is_symlink()  # the link was replaced by an entry; its target untouched


def test_a_cache_that_cannot_be_written_is_only_read_and_said_once(checkpoint, tmp_path, monkeypatch):
    import reporter.cache

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reporter.cache.tempfile, "mkdtemp", full)
    cache = Cache(tmp_path / "cache")
    first = dumps(report_json(analyse(checkpoint, Options(), cache)))
    assert first == dumps(report_json(analyse(checkpoint, Options(), None)))
    assert [what for what, _ in cache.problems] == ["write"]
    assert not cache.writable


def test_a_write_that_fails_half_way_leaves_no_staging_folder(checkpoint, tmp_path, monkeypatch):
    real = Path.write_bytes

    def fails_on_the_archive(path, data):
        if path.name == "arrays.npz":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(Path, "write_bytes", fails_on_the_archive)
    cache = Cache(tmp_path / "cache")
    analyse(checkpoint, Options(), cache)
    assert not list((tmp_path / "cache").rglob(".entry-*"))


@pytest.fixture
def built_once(checkpoint, tmp_path):
    """A build with its own cache, and that cache's figure entries."""
    result = invoke(
        "build", "--checkpoint", checkpoint, "--out", tmp_path / "site", "--no-html", "--cache", tmp_path / "c"
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "c" / FIGURES


def rebuild(checkpoint, tmp_path):
    return invoke(
        "build", "--checkpoint", checkpoint, "--out", tmp_path / "site", "--no-html", "--cache", tmp_path / "c"
    )


def figure_entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.slow
def test_a_figure_name_from_the_cache_is_never_a_path(checkpoint, tmp_path, built_once):
    victim = tmp_path / "victim" / "important.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    before = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    for entry in figure_entries(built_once):
        index = json.loads((entry / "index.json").read_text())
        index["name"] = "../../../../victim/important.txt"
        rewrite(entry, "index.json", json.dumps(index).encode())
    result = rebuild(checkpoint, tmp_path)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me" and sorted(victim.parent.iterdir()) == [victim]
    after = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    assert after == before  # every figure drawn again, the same
    assert "Note: cache entry" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_a_cached_figure_that_is_a_link_is_never_published(checkpoint, tmp_path, built_once):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\nPRIVATE")
    for entry in figure_entries(built_once):
        (entry / "figure.png").unlink()
        (entry / "figure.png").symlink_to(secret)
    result = rebuild(checkpoint, tmp_path)
    assert result.exit_code == 0, result.output
    assert not [p for p in (tmp_path / "site").rglob("*.png") if b"PRIVATE" in p.read_bytes()]


@pytest.mark.slow
def test_a_cached_alt_text_reaches_the_page_inert(checkpoint, tmp_path, built_once):
    for entry in figure_entries(built_once):
        index = json.loads((entry / "index.json").read_text())
        index["alt"] = "<script>alert(1)</script>](javascript:alert(1))"
        rewrite(entry, "index.json", json.dumps(index).encode())
    result = rebuild(checkpoint, tmp_path)
    assert result.exit_code == 0, result.output
    pages = "".join(p.read_text() for p in (tmp_path / "site").glob("*.md"))
    assert "<script>" not in pages and "](javascript:" not in pages


def test_a_cache_inside_the_output_folder_is_refused(checkpoint, tmp_path):
    result = invoke(
        "build",
        "--checkpoint",
        checkpoint,
        "--out",
        tmp_path / "site",
        "--no-html",
        "--cache",
        tmp_path / "site" / "cache",
    )
    assert result.exit_code == 1, result.output
    assert "must not hold each other" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "site").exists()
