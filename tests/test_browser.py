"""The built site in a real browser: every page loads with no console error, every image shows.

Uses Debian's chromium (or the one named by MODREPORT_CHROMIUM) through Playwright; no browser
download. Screenshots of every page go to tests/screenshots/ for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(built):
    """The built HTML on a loopback port."""
    handler = functools.partial(QuietHandler, directory=str(built / "public"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


PAGES = [
    "index.html",
    "heads.html",
    "layers.html",
    "pairs.html",
    "training.html",
    "methodology.html",
    "provenance.html",
]


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_cleanly_with_every_image(browser, served, page_name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.goto(f"{served}/{page_name}", wait_until="networkidle")
    images = page.eval_on_selector_all(
        "article img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth, e.alt])"
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / page_name.replace(".html", ".png")), full_page=True)
    page.close()
    assert problems == []
    for src, width, alt in images:
        assert width > 0, f"{src} did not load"
        assert alt, f"{src} has no alt text"
    if page_name in ("index.html", "heads.html", "layers.html", "pairs.html", "training.html"):
        assert images, f"{page_name} shows no figure"


def test_palette_toggle_switches_to_dark(browser, served):
    page = browser.new_page()
    page.goto(f"{served}/index.html", wait_until="networkidle")
    before = page.eval_on_selector("body", "b => b.getAttribute('data-md-color-scheme')")
    page.click("label.md-header__button[for^='__palette']:visible")
    after = page.eval_on_selector("body", "b => b.getAttribute('data-md-color-scheme')")
    page.close()
    assert {before, after} == {"default", "slate"}
