"""The built site in a real browser, opened from disk (file://) as a user opens public/index.html, for
each site engine: every page loads with no console error and fetches nothing from outside the site,
every image shows and opens in the lightbox, the palette toggle works, and search finds a page.

Uses Debian's chromium (or the one named by MODREPORT_CHROMIUM) through Playwright; no browser
download. Screenshots of every page go to tests/screenshots/ for a person to look at.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from reporter.publish.site import ENGINES

pytestmark = pytest.mark.slow  # a real browser on two engines' sites

SCREENSHOTS = Path(__file__).parent / "screenshots"
PAGES = [
    "index.html",
    "heads.html",
    "layers.html",
    "fourier.html",
    "across.html",
    "pairs.html",
    "training.html",
    "methodology.html",
    "provenance.html",
]
WITH_FIGURES = ("index.html", "heads.html", "layers.html", "fourier.html", "pairs.html", "training.html")


@pytest.fixture(scope="module", params=ENGINES)
def site(request, build_with) -> tuple[str, Path]:
    """(engine, the built HTML folder)."""
    return request.param, build_with(request.param) / "public"


@pytest.fixture
def open_page(browser):
    """open_page(path or address, width) -> (the page, opened from disk or from a local server, and the problems it
    reported while loading)."""
    pages = []

    def opened(path: Path | str, width: int = 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        pages.append(page)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda m: problems.append(f"console: {m.text} at {m.location.get('url')}") if m.type == "error" else None,
        )
        page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
        # Anything not on disk (or on the local server) would be a download from the internet (a font, a script).
        address = path if isinstance(path, str) else path.as_uri()
        origin = "/".join(address.split("/", 3)[:3]) + "/"  # file:/// from disk, http://HOST:PORT/ from the server
        page.on(
            "request", lambda r: None if r.url.startswith((origin, "data:")) else problems.append(f"fetched {r.url}")
        )
        page.goto(address, wait_until="load")
        page.wait_for_timeout(300)  # scripts that load on demand (search index, lightbox) have started
        return page, problems

    yield opened
    for page in pages:
        page.close()


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_cleanly_from_disk_with_every_image(site, open_page, page_name):
    engine, public = site
    page, problems = open_page(public / page_name)
    # Figures load lazily, as a reader scrolls to them: load every one, as scrolling to the end would.
    page.eval_on_selector_all(
        "article img",
        "els => Promise.all(els.map(e => { e.loading = 'eager'; return e.complete ? 0 : "
        "new Promise(done => { e.onload = e.onerror = done; }); }))",
    )
    images = page.eval_on_selector_all(
        "article img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth, e.alt])"
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{engine}-{page_name.replace('.html', '.png')}"), full_page=True)
    assert problems == []
    for src, width, alt in images:
        assert width > 0, f"{src} did not load"
        assert alt, f"{src} has no alt text"
    if page_name in WITH_FIGURES:
        assert images, f"{page_name} shows no figure"


def test_palette_toggle_switches_to_dark(site, open_page):
    page, problems = open_page(site[1] / "index.html")
    before = page.eval_on_selector("body", "b => b.getAttribute('data-md-color-scheme')")
    page.click("label.md-header__button[for^='__palette']:visible")
    after = page.eval_on_selector("body", "b => b.getAttribute('data-md-color-scheme')")
    assert {before, after} == {"default", "slate"}
    assert problems == []


def test_figures_are_dark_in_dark_mode(site, open_page):
    """A figure drawn on white is not left a white box on the dark palette: its pixels on screen are dark."""
    from io import BytesIO

    from PIL import Image, ImageStat

    page, problems = open_page(site[1] / "training.html")
    figure = page.locator("article img").first

    def brightness() -> float:
        figure.scroll_into_view_if_needed()
        shot = Image.open(BytesIO(figure.screenshot())).convert("L")
        return ImageStat.Stat(shot).mean[0] / 255

    light = brightness()
    page.click("label.md-header__button[for^='__palette']:visible")
    assert page.eval_on_selector("body", "b => b.getAttribute('data-md-color-scheme')") == "slate"
    dark = brightness()
    assert light > 0.7 and dark < 0.4, (light, dark)
    assert problems == []


def test_a_figure_opens_in_the_lightbox(site, open_page):
    page, problems = open_page(site[1] / "index.html")
    page.click("article a.glightbox img")
    page.wait_for_selector(".gslide-image img", state="visible", timeout=5000)
    assert problems == []


def search(site, open_page, word: str):
    """The search results for ``word`` on the site's overview page, once the index is ready, and the page's
    problems."""
    engine, public = site
    page, problems = open_page(public / "index.html")
    if engine == "mkdocs":
        page.fill("input.md-search__input", word)
        results = page.locator(".md-search-result__item")
    else:  # Zensical's search opens in a dialog of its own
        page.click("button.md-search__button")
        page.keyboard.type(word)
        results = page.get_by_role("listbox", name="Search results").get_by_role("option")
    results.first.wait_for(timeout=30000)  # the worker indexes every page first; a loaded machine is slow
    return results, problems


def test_table_text_and_token_chips_are_at_least_14_px(site, open_page):
    page, problems = open_page(site[1] / "index.html")
    sizes = page.eval_on_selector_all(
        "article table td, article table th, article table code",
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))",
    )
    assert sizes and min(sizes) >= 14, sorted(set(sizes))
    assert problems == []


def test_a_lightbox_of_one_figure_shows_no_arrows(site, open_page):
    page, problems = open_page(site[1] / "training.html")
    assert page.eval_on_selector_all("article a.glightbox", "els => els.length") == 1
    page.click("article a.glightbox img")
    page.wait_for_selector(".gslide-image img", state="visible", timeout=5000)
    shown = page.eval_on_selector_all(".gnext, .gprev", "els => els.filter(e => e.offsetParent !== null).length")
    assert shown == 0
    assert problems == []


def test_search_finds_a_page(site, open_page):
    results, problems = search(site, open_page, "methodology")
    assert results.count() > 0
    assert problems == []


def test_search_finds_a_word_next_to_a_bracket(site, open_page):
    """On the Fourier page "Nanda" stands only as "(Nanda et al.": the page is found only when the index splits
    words at brackets (lunr's default splits at spaces and hyphens alone)."""
    text = (site[1] / "fourier.html").read_text()
    assert "(Nanda" in text and " Nanda" not in text
    results, problems = search(site, open_page, "Nanda")
    results.page.wait_for_timeout(1000)  # every result is listed
    pages = results.evaluate_all("els => els.map(e => (e.closest('a') || e.querySelector('a') || {}).href || '')")
    assert any("fourier.html" in href for href in pages), pages
    assert problems == []


def styled(page) -> bool:
    """Whether the theme's style sheet and ours both apply: the header sticks to the top (the theme's), and the
    content grid is 1440 px wide at most (stylesheets/extra.css). Unstyled, the logo fills the screen."""
    return page.evaluate(
        "() => getComputedStyle(document.querySelector('.md-header')).position === 'sticky'"
        " && getComputedStyle(document.querySelector('.md-grid')).maxWidth === '1440px'"
        " && document.querySelector('.md-header__button.md-logo').getBoundingClientRect().height < 100"
    )


@contextmanager
def served_under(public: Path, prefix: str):
    """A local HTTP server that serves ``public`` under ``prefix`` ("/REPOSITORY/"), as GitHub Pages serves a project
    site, and answers any address it lacks with 404.html and the status 404, as GitHub Pages does; yields its root."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Pages(SimpleHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?")[0]
            target = public / path[len(prefix) :] if path.startswith(prefix) else None
            if target is not None and target.is_file():
                return super().do_GET()
            body = (public / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def translate_path(self, path):
            return str(public / path.split("?")[0][len(prefix) :])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Pages, directory=str(public)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_404_page_is_styled_opened_from_disk(site, open_page):
    page, problems = open_page(site[1] / "404.html")
    assert styled(page)
    assert problems == []


@pytest.mark.parametrize("address", ["no-such-page.html", "404.html"])
def test_the_404_page_is_styled_when_served_under_a_project_path(site, open_page, address):
    """Served as GitHub Pages serves a project site (under /REPOSITORY/), for an address the site lacks: the page
    loads its style sheets and scripts from the site's folder, whatever the folder is called."""
    with served_under(site[1], "/modreport-project/") as root:
        page, problems = open_page(root + address)
        assert "Page not found" in page.inner_text("article")
        assert styled(page)
        page.locator("article").get_by_role("link", name="overview").click()  # to the overview, under the same path
        page.wait_for_load_state("load")
        assert page.url == root + "index.html" and styled(page)
    # the browser logs that the address itself answered 404, as it must; nothing else may fail
    assert [p for p in problems if not p.endswith(f"status of 404 (Not Found) at {root}{address}")] == []


def wide_table_layout(page) -> dict:
    """How the overview's table of heads lies on the page: whether it (or the page) scrolls sideways, and each
    cell's width and height in lines."""
    return page.evaluate(
        """() => {
        const table = [...document.querySelectorAll('article table')].find(
            t => t.querySelector('th') && t.querySelector('th').textContent.trim() === 'head');
        const wrap = table.closest('.md-typeset__scrollwrap') || table.parentElement;
        const cells = [...table.querySelectorAll('tbody td')].map(td => {
            const style = getComputedStyle(td);
            const line = parseFloat(style.lineHeight) || 1.6 * parseFloat(style.fontSize);
            return {width: td.getBoundingClientRect().width, lines: td.getBoundingClientRect().height / line,
                    right: td.getBoundingClientRect().right};
        });
        return {table_scrolls: table.scrollWidth > table.clientWidth + 1,
                wrap_scrolls: wrap.scrollWidth > wrap.clientWidth + 1,
                page_scrolls: document.documentElement.scrollWidth > window.innerWidth,
                table_width: table.getBoundingClientRect().width,
                head_shown: getComputedStyle(table.querySelector('thead')).display !== 'none',
                cells};
    }"""
    )


def test_at_400_px_the_overview_table_reads_without_scrolling_sideways(site, open_page):
    engine, public = site
    page, problems = open_page(public / "index.html", width=400)
    layout = wide_table_layout(page)
    page.screenshot(path=str(SCREENSHOTS / f"{engine}-index-400.png"), full_page=True)
    assert not layout["table_scrolls"] and not layout["wrap_scrolls"] and not layout["page_scrolls"], layout
    assert all(cell["right"] <= 400 for cell in layout["cells"])
    # each cell runs the width of the table (a row shown as a block), not a thin column many lines tall
    assert all(cell["width"] >= 0.8 * layout["table_width"] for cell in layout["cells"]), layout
    assert max(cell["lines"] for cell in layout["cells"]) <= 6, layout
    assert problems == []


def test_at_1400_px_the_overview_table_keeps_its_columns(site, open_page):
    page, problems = open_page(site[1] / "index.html", width=1400)
    layout = wide_table_layout(page)
    assert layout["head_shown"] and not layout["page_scrolls"]
    assert problems == []
