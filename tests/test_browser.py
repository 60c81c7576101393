"""The built site in a real browser, opened from disk (file://) as a user opens public/index.html, for
each site engine: every page loads with no console error and fetches nothing from outside the site,
every image shows and opens in the lightbox, the palette toggle works, and search finds a page.

Uses Debian's chromium (or the one named by MODREPORT_CHROMIUM) through Playwright; no browser
download. Screenshots of every page go to tests/screenshots/ for a person to look at.
"""

from __future__ import annotations

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
    """open_page(path) -> (the page, opened from disk, and the problems it reported while loading)."""
    pages = []

    def opened(path: Path):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        pages.append(page)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
        # Anything not on disk would be a download from the internet (a font, a script, a style sheet).
        page.on(
            "request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(f"fetched {r.url}")
        )
        page.goto(path.as_uri(), wait_until="load")
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
