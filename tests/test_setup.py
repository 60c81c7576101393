"""The README's setup (scripts/install.py): PyTorch's CPU build from its own index when that index
answers, pip's other indexes (PyPI) otherwise, decided within seconds, never after pip's retries.
pip itself is replaced by a recorder: these tests check the decision, not an install."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="only Linux's PyPI torch is the CUDA build")


@pytest.fixture
def install(monkeypatch):
    """scripts/install.py as a module, with pip replaced by a recorder of its arguments (``install.calls``)."""
    spec = importlib.util.spec_from_file_location("install", ROOT / "scripts" / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.calls = []
    monkeypatch.setattr(module, "pip_install", lambda *arguments: module.calls.append(arguments) or 0)
    return module


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_an_index_that_answers_gives_torch_first_then_the_rest(install, monkeypatch, tmp_path):
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    index = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("MODREPORT_TORCH_INDEX", index)
    try:
        assert install.main(["test"]) == 0
    finally:
        server.shutdown()
    assert install.calls == [("--no-deps", "--index-url", index, "torch"), ("-e", ".[test]")]


def test_an_index_that_refuses_falls_back_at_once(install, monkeypatch, capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("MODREPORT_TORCH_INDEX", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    assert install.main([]) == 0
    assert time.monotonic() - start < 5
    assert install.calls == [("-e", ".")]
    said = capsys.readouterr().err.splitlines()
    assert said[0] == f"http://127.0.0.1:{port} did not answer; torch comes from pip's other indexes instead."
    assert said[1].startswith("torch ") and said[1].endswith("CUDA packages.")


def test_the_last_line_says_which_torch_pip_installed(install, capsys):
    """Read back from pip's metadata, not assumed: here, the virtualenv the tests run in."""
    from importlib.metadata import requires, version

    install.main([])
    cuda = sum(r.startswith("nvidia") for r in requires("torch") or [])
    kind = f"with {cuda} CUDA packages." if cuda else "without CUDA packages."
    assert capsys.readouterr().err.splitlines()[-1] == f"torch {version('torch')} installed, {kind}"


def test_an_index_that_never_answers_costs_the_timeout_and_no_more(install, monkeypatch):
    with socket.socket() as silent:  # accepts connections (the kernel does) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(install, "ANSWER_SECONDS", 1)
        monkeypatch.setenv("MODREPORT_TORCH_INDEX", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        assert install.main([]) == 0
        assert time.monotonic() - start < 3
    assert install.calls == [("-e", ".")]


def test_a_failed_torch_install_still_installs_the_rest(install, monkeypatch, capsys, tmp_path):
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MODREPORT_TORCH_INDEX", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(
        install,
        "pip_install",
        lambda *arguments: install.calls.append(arguments) or (1 if len(install.calls) == 1 else 0),
    )
    try:
        assert install.main([]) == 0
    finally:
        server.shutdown()
    assert [call[-1] for call in install.calls] == ["torch", "."]
    assert "torch could not be installed from" in capsys.readouterr().err
