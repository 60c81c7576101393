"""Interrupted and concurrent writes, as real processes: at every instant either the old folder or the
new one is complete in place; leftovers of a killed run are removed by the next; a second writer is
refused with one sentence; SIGTERM stops mkdocs and removes the staging folder."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODREPORT = [sys.executable, "-c", "from reporter.cli import main; main()"]

# Replace a marked folder holding old.txt by one holding new.txt, killing this process (SIGKILL, which
# no code can catch) at the step named by argv[2].
SWAP = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    import reporter.publish.outputs as outputs

    target, step = Path(sys.argv[1]), sys.argv[2]
    def die():
        os.kill(os.getpid(), signal.SIGKILL)
    def before(function):
        return lambda *args, **kwargs: (die(), function(*args, **kwargs))
    def after(function):
        return lambda *args, **kwargs: (function(*args, **kwargs), die())
    if step == "permissions":
        outputs.os.chmod = after(os.chmod)
    if step == "before exchange":
        outputs.exchange = before(outputs.exchange)
    if step == "after exchange":
        outputs.exchange = after(outputs.exchange)
    if step == "removing the old folder":
        outputs.shutil.rmtree = before(shutil.rmtree)
    with outputs.replacing(outputs.check_folder(target, outputs.PAGES), outputs.PAGES) as staging:
        (staging / "new.txt").write_text("new")
        if step == "writing":
            die()
""")

STEPS = ["writing", "permissions", "before exchange", "after exchange", "removing the old folder", "none"]


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".modreport-" in p.name]


@pytest.mark.parametrize("step", STEPS)
def test_a_swap_killed_at_any_step_leaves_the_old_or_the_new_folder_whole(tmp_path, step):
    target = tmp_path / "site"
    target.mkdir()
    (target / "old.txt").write_text("old")
    (target / ".modreport").write_text('{"written_by": "modreport", "kind": "pages"}')
    run = subprocess.run([sys.executable, "-c", SWAP, str(target), step], cwd=ROOT)
    assert run.returncode == (0 if step == "none" else -signal.SIGKILL)
    assert files(target) in ({".modreport", "old.txt"}, {".modreport", "new.txt"})
    swapped = step in ("after exchange", "removing the old folder", "none")
    assert ("new.txt" in files(target)) == swapped
    # The next writer removes what the killed one left behind, and swaps in whole.
    subprocess.run([sys.executable, "-c", SWAP, str(target), "none"], cwd=ROOT, check=True)
    assert files(target) == {".modreport", "new.txt"}
    assert leftovers(tmp_path) == []


def modreport(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [*MODREPORT, *map(str, args)],
        cwd=kwargs.pop("cwd", ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
def test_a_build_killed_at_random_moments_never_leaves_a_broken_site(tiny_checkpoint, tmp_path):
    site = tmp_path / "site"
    first = modreport("build", "--checkpoint", tiny_checkpoint, "--out", site, "--no-html")
    assert first.wait() == 0, first.stderr.read()
    whole = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    randomly = random.Random(0)
    for _ in range(4):
        build = modreport("build", "--checkpoint", tiny_checkpoint, "--out", site, "--no-html", "--pairs", "1+2")
        time.sleep(randomly.uniform(1.0, 6.0))
        build.kill()
        build.wait()
        now = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
        assert set(now) == set(whole)  # the old site, or the new one with the same files
        assert now == whole or now[Path("report.json")] != whole[Path("report.json")]
    last = modreport("build", "--checkpoint", tiny_checkpoint, "--out", site, "--no-html")
    assert last.wait() == 0
    assert leftovers(tmp_path) == []


def test_a_second_build_into_the_same_folder_is_refused_while_the_first_runs(tiny_checkpoint, tmp_path):
    import fcntl

    descriptor = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # as a running build holds it
    try:
        second = modreport("build", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "site", "--no-html")
        _, err = second.communicate()
    finally:
        os.close(descriptor)
    assert second.returncode == 1
    assert err.strip().splitlines()[-1] == (
        f"Error: another modreport command is writing into {tmp_path}; wait for it to finish and run this again."
    )
    assert "Traceback" not in err and not (tmp_path / "site").exists()
    assert "[2/5]" not in err  # refused before its analysis, not after it


@pytest.mark.slow
def test_two_builds_at_once_never_race(tiny_checkpoint, tmp_path):
    builds = [
        modreport("build", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "site", "--no-html") for _ in range(2)
    ]
    results = [(b.wait(), b.stderr.read()) for b in builds]
    for code, err in results:
        assert code == 0 or "another modreport command is writing into" in err, err
        assert "Traceback" not in err
    assert any(code == 0 for code, _ in results)
    assert (tmp_path / "site" / "index.md").is_file() and leftovers(tmp_path) == []


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` and that run mkdocs."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == pid and b"mkdocs" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def terminate_once_mkdocs_runs(process) -> None:
    """Wait for ``process`` to start mkdocs, send it SIGTERM, and check that it and its mkdocs are gone."""
    deadline = time.monotonic() + 60
    while not children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    mkdocs = children(process.pid)
    assert mkdocs, "mkdocs never started"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) != 0
    time.sleep(0.5)
    assert not [pid for pid in mkdocs if Path(f"/proc/{pid}").exists()]


@pytest.mark.slow
def test_sigterm_stops_mkdocs_and_removes_the_staging_folder(tiny_checkpoint, tmp_path):
    build = modreport("build", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "site", "--html", tmp_path / "html")
    terminate_once_mkdocs_runs(build)
    assert leftovers(tmp_path) == [] and not (tmp_path / "site").exists() and not (tmp_path / "html").exists()


def test_sigterm_stops_serve_and_its_mkdocs(built, tmp_path):
    import socket

    with socket.socket() as probe:  # a free port on this machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    terminate_once_mkdocs_runs(modreport("serve", "--out", built / "site", "--address", f"127.0.0.1:{port}"))


def test_a_killed_report_write_leaves_nothing_the_next_write_does_not_clear(tmp_path):
    from reporter.publish.outputs import STAGING, write_report_file

    report = b'{"schema_version": 2, "provenance": {}, "heads": []}'
    empty = tmp_path / f".r.json{STAGING}kill1"
    half = tmp_path / f".r.json{STAGING}kill2"
    users = tmp_path / f".r.json{STAGING}mine"
    empty.write_bytes(b"")
    half.write_bytes(report)
    users.write_text("not a report")  # a name like ours, but not our bytes: kept
    write_report_file(tmp_path / "r.json", report)
    assert (tmp_path / "r.json").read_bytes() == report
    assert not empty.exists() and not half.exists() and users.read_text() == "not a report"


def test_the_next_build_clears_the_scratch_folder_a_killed_build_left(tiny_checkpoint, tmp_path, monkeypatch):
    """A build killed by SIGKILL leaves its engine's scratch folder in the temporary directory; the next build
    removes it, and keeps every folder there that is not provably ours and abandoned."""
    import tempfile

    from reporter.publish.outputs import write_marker
    from tests.conftest import invoke

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(ended.stdout)  # a process that has ended: a folder named for it is abandoned
    abandoned = scratch / f"modreport-site-{dead}-killed"
    running = scratch / f"modreport-site-{os.getpid()}-running"  # a build still at work
    unmarked = scratch / f"modreport-site-{dead}-mine"  # a name like ours, without our marker
    for folder in (abandoned, running, unmarked):
        folder.mkdir()
        (folder / "mkdocs.yml").write_text("INHERIT: x\n")
    write_marker(abandoned, "scratch")
    write_marker(running, "scratch")
    result = invoke("build", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "site", "--html", tmp_path / "html")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in scratch.iterdir()) == sorted([running.name, unmarked.name])
