"""The rendered book, opened in headless Chromium: every figure draws, offline, without errors.

The book is built once per session with ``jupyter-book build <root> --builder html
--path-output <tmp>`` into a temporary folder (the repository's own ``_build`` is left
alone) and served by a local ``http.server`` on 127.0.0.1. Every chapter page (one per
notebook or Markdown file in ``book/chapters/``), the introduction, the run-it-yourself page
and the claims page are opened with Debian's Chromium through playwright. On each page:

* every plotly figure drew: ``gd._fullData`` is not empty and the figure has a size;
  SVG-drawn figures (scatter, bar, heatmap, ...) have drawn trace elements; 3-D figures
  (scatter3d, surface, ...) have a WebGL scene and a canvas; other WebGL traces a canvas;
* every figure is readable: every visible x axis and at least one y axis has a title (3-D
  scenes: all three axes), every colour bar has a title, and the figure's title fits in the
  figure (plotly does not wrap titles);
* nothing is clipped at the column's edge, at a wide (1280 px) and a narrow (900 px) window:
  no element sticks out of the main column, and no element hides part of its content behind
  a scroll bar except a wide table (tables scroll; code lines wrap);
* a chapter page has at least one figure;
* a reader on a phone, in dark mode, or with red-green colour blindness can read every page
  (:func:`test_page_reads_on_a_phone_in_dark_mode_and_without_red_green`): no table is wider
  than its column at 1280 px (every dropdown opened); no figure uses a red-green colour scale
  or two series that differ only in red and green, with the same marker and dash
  (:mod:`tdnn_utils.colours` simulates protanopia and deuteranopia); with the theme switched
  to dark and back to light, figure and plot backgrounds follow the page and figure text keeps
  a contrast of 3 on it; at 390 px nothing sticks out of the column, every figure draws with
  its title inside it, and no two titles or labels of a figure overlap. Pages drawn before the
  book's template (:data:`AWAITING_RELAYOUT`) are expected to fail this test until re-run;
* the console shows no error and no uncaught exception;
* no request left 127.0.0.1: every other request is aborted and reported. The only
  exception is MathJax (see ``ALLOWED_REMOTE``).

Environment variables: ``TDNN_BOOK_ROOT`` builds another tree than the repository (used to
check this test on a throwaway book); ``TDNN_CHROMIUM`` is the browser (default
``/usr/bin/chromium``); ``TDNN_BOOK_SCREENSHOTS`` is a folder that receives a full-page PNG of
every page opened.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ROOT = Path(os.environ.get("TDNN_BOOK_ROOT", REPO)).resolve()
CHROMIUM = os.environ.get("TDNN_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("TDNN_BOOK_SCREENSHOTS")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL (3-D figures) without a GPU: Chromium's software renderer. Recent Chromium
    # versions only fall back to it when asked.
    "--enable-unsafe-swiftshader",
]
# Remote URLs a page may ask for without failing the test. MathJax typesets LaTeX on pages
# with math; Sphinx loads it from a CDN and the book does not ship it yet. Offline, the
# formulas stay as LaTeX source; nothing else on the page depends on it.
ALLOWED_REMOTE = ("https://cdn.jsdelivr.net/npm/mathjax@",)
# Console errors that do not come from the book: the browser asks the server root for a
# favicon that the book does not have.
IGNORED_CONSOLE_URLS = ("/favicon.ico",)
FIGURE_TIMEOUT_MS = 30_000
GL3D = {"scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume", "isosurface"}
GL_OTHER = {"scattergl", "splom", "parcoords", "heatmapgl", "pointcloud", "scattermapbox",
            "densitymapbox", "choroplethmapbox"}


def chapter_pages() -> list[str]:
    folder = ROOT / "book" / "chapters"
    sources = sorted(folder.glob("*.ipynb")) + sorted(folder.glob("*.md"))
    return [f"book/chapters/{p.stem}.html" for p in sources if not p.name.startswith(".")]


PAGES = ["book/intro.html", *chapter_pages(), "book/run_it_yourself.html", "book/claims.html"]
#: Pages whose committed figures and tables were drawn before the book's template and table
#: helper (tdnn_utils.plotting, tdnn_utils.tables): the reading test is expected to fail on
#: them (strictly: once a re-run passes, remove the page here). Issue 23 re-lays them after
#: their re-measurement.
AWAITING_RELAYOUT = {
    f"book/chapters/{name}.html": "drawn before the book's template; re-laid after its re-measurement (issue 23)"
    for name in ()
}


def jupyter_book() -> str:
    local = Path(sys.executable).with_name("jupyter-book")
    found = str(local) if local.exists() else shutil.which("jupyter-book")
    if not found:
        pytest.fail("jupyter-book not found next to this Python or on PATH; run `make install`")
    return found


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book-build")
    cmd = [jupyter_book(), "build", str(ROOT), "--builder", "html", "--path-output", str(out)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, (
        f"jupyter-book build failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    print(f"\njupyter-book build of {ROOT}: {seconds:.1f} s")
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def base_url(html_dir):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_dir))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium "
                    "(`make install` does as root) or set TDNN_CHROMIUM")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---------------------------------------------------------------- static checks of the build


def test_every_chapter_source_is_built(html_dir):
    """Each chapter in book/chapters/ is in the table of contents, so it was rendered."""
    chapters = chapter_pages()
    assert chapters, f"no chapter notebook in {ROOT / 'book' / 'chapters'}"
    missing = [p for p in PAGES if not (html_dir / p).is_file()]
    assert not missing, f"not rendered (missing from _toc.yml?): {missing}"


def test_plotly_js_served_once_from_static(html_dir):
    """plotly.js is one file in _static/, loaded by every page, never embedded or from a CDN."""
    bundle = html_dir / "_static" / "plotly.min.js"
    assert bundle.is_file() and bundle.stat().st_size > 1_000_000, bundle
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(encoding="utf8")
        rel = page.relative_to(html_dir)
        assert "cdn.plot.ly" not in text, f"{rel} loads plotly.js from the CDN"
        assert "plotly.js v" not in text, f"{rel} embeds plotly.js"
        if str(rel) in PAGES:
            tags = re.findall(r'<script[^>]+src="[^"]*_static/plotly\.min\.js[^"]*"', text)
            assert len(tags) == 1, f"{rel}: {len(tags)} plotly.min.js script tags"


def test_colab_button_points_at_the_repository_notebook(html_dir):
    """The Colab button of a chapter opens a notebook that exists in the repository, on main."""
    for page in chapter_pages():
        text = (html_dir / page).read_text(encoding="utf8")
        links = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', text)
        assert links, f"{page}: no Colab button"
        for link in links:
            match = re.fullmatch(
                r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/(.+\.ipynb)",
                link,
            )
            assert match, f"{page}: Colab link not on branch main: {link}"
            assert (ROOT / match.group(1)).is_file(), f"{page}: {link} names no notebook"


# ---------------------------------------------------------------- pages in the browser

FIGURES_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => {
  const box = gd.getBoundingClientRect();
  const scenes = Object.keys(gd._fullLayout || {}).filter(k => /^scene\\d*$/.test(k));
  return {
    id: gd.id,
    plotted: gd.classList.contains('js-plotly-plot') && !!gd._fullLayout,
    types: (gd._fullData || []).map(t => t.type),
    width: box.width, height: box.height,
    svgTraces: gd.querySelectorAll(
      '.main-svg .trace, .main-svg .hm, .main-svg .contour, .main-svg .slice').length,
    canvases: Array.from(gd.querySelectorAll('canvas'))
      .filter(c => c.width > 0 && c.height > 0).length,
    glScenes: scenes.filter(k => gd._fullLayout[k]._scene && gd._fullLayout[k]._scene.glplot).length,
    scenes: scenes.length,
    noWebGL: /WebGL is not supported/i.test(gd.innerText || ''),
    untitled: (() => {
      const L = gd._fullLayout || {}, missing = [];
      const text = a => a && a.title && String(a.title.text || '').trim();
      const axes = Object.keys(L).filter(k => /^[xy]axis\\d*$/.test(k) && L[k].visible !== false);
      axes.filter(k => k[0] === 'x' && !text(L[k])).forEach(k => missing.push(k + ' has no title'));
      const ys = axes.filter(k => k[0] === 'y');
      if (ys.length && !ys.some(k => text(L[k]))) missing.push('no y axis has a title');
      scenes.forEach(s => ['xaxis', 'yaxis', 'zaxis'].forEach(a => {
        if (!text(L[s][a])) missing.push(`${s}.${a} has no title`); }));
      (gd._fullData || []).forEach((t, i) => {
        if (t.showscale && t.colorbar && !text(t.colorbar)) missing.push(`colour bar of trace ${i} has no title`); });
      const title = gd.querySelector('.gtitle');
      if (title) {
        const tb = title.getBoundingClientRect();
        if (tb.left < box.left - 1 || tb.right > box.right + 1)
          missing.push(`title is ${Math.round(tb.width)} px wide in a ${Math.round(box.width)} px figure`);
      }
      return missing;
    })(),
  };
})"""

OVERFLOW_JS = """() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  const right = main.getBoundingClientRect().right;
  const isTable = el => el.tagName === 'TABLE' || !!el.querySelector(':scope > table, :scope > div > table');
  const inTableScroller = el => { for (let a = el.parentElement; a && a !== main; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if ((o === 'auto' || o === 'scroll') && isTable(a)) return true; } return false; };
  const name = el => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className.trim()
    ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const found = [];
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('.plotly-graph-div, mjx-container, .MathJax')) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (box.width === 0 || style.display === 'none') continue;
    if (box.right > right + 1 && !inTableScroller(el))
      found.push(`${name(el)} sticks out of the column by ${Math.round(box.right - right)} px`);
    if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1 && !isTable(el))
      found.push(`${name(el)} hides ${el.scrollWidth - el.clientWidth} px of its content`);
  }
  return Array.from(new Set(found)).slice(0, 10);
}"""

ALL_PLOTTED_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div'))
  .every(gd => gd.classList.contains('js-plotly-plot') && gd._fullLayout)"""


def figure_problems(fig: dict) -> list[str]:
    problems = []
    types = set(fig["types"])
    if not fig["plotted"]:
        return ["Plotly.newPlot never ran"]
    if not types:
        problems.append("no trace data")
    if fig["width"] <= 0 or fig["height"] <= 0:
        problems.append(f"size {fig['width']}x{fig['height']}")
    if fig["noWebGL"]:
        problems.append("'WebGL is not supported' shown")
    if types & GL3D and (fig["glScenes"] < fig["scenes"] or fig["canvases"] == 0):
        problems.append(f"3-D scene not drawn ({fig['glScenes']}/{fig['scenes']} scenes, "
                        f"{fig['canvases']} canvases)")
    if types & GL_OTHER and fig["canvases"] == 0:
        problems.append("WebGL trace without a canvas")
    if types - GL3D - GL_OTHER and fig["svgTraces"] == 0:
        problems.append("no SVG trace drawn")
    problems += fig["untitled"]
    return problems


class OpenedPage:
    """A page opened in a fresh browser tab, with its console errors and remote requests."""

    def __init__(self, browser, base_url: str, page: str, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.tab = self.context.new_page()
        self.errors, self.remote, self.base_url = [], [], base_url
        self.tab.on("console", self._on_console)
        self.tab.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.tab.route("**/*", self._route)
        response = self.tab.goto(base_url + page, wait_until="load")
        assert response is not None and response.ok, f"{page}: HTTP {response and response.status}"
        try:
            self.tab.wait_for_function(ALL_PLOTTED_JS, timeout=FIGURE_TIMEOUT_MS)
        except Exception:  # reported figure by figure
            pass
        self.tab.wait_for_timeout(300)  # let WebGL scenes finish their first frame

    def _on_console(self, msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if where.endswith(IGNORED_CONSOLE_URLS) or where.startswith(ALLOWED_REMOTE):
            return
        if "net::ERR_FAILED" in msg.text and not where.startswith(self.base_url):
            return  # an aborted remote request: reported with its URL
        self.errors.append(f"console.error: {msg.text} ({where})")

    def _route(self, request_route):
        url = request_route.request.url
        if url.startswith((self.base_url, "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            if not url.startswith(ALLOWED_REMOTE):
                self.remote.append(url)
            request_route.abort()

    def resize(self, width: int, height: int = 900) -> None:
        self.tab.set_viewport_size({"width": width, "height": height})
        self.tab.wait_for_timeout(700)  # plotly's responsive relayout

    def close(self) -> None:
        self.context.close()


def figures_problems(figures: list[dict]) -> list[str]:
    return [f"figure {i + 1} ({', '.join(sorted(set(f['types']))) or 'no traces'}): {p}"
            for i, f in enumerate(figures) for p in figure_problems(f)]


@pytest.mark.parametrize("page", PAGES)
def test_page_draws_offline_without_errors(page, html_dir, base_url, browser):
    opened = OpenedPage(browser, base_url, page)
    try:
        figures = opened.tab.evaluate(FIGURES_JS)
        clipped = opened.tab.evaluate(OVERFLOW_JS)
        opened.resize(900)
        clipped += [f"at 900 px: {p}" for p in opened.tab.evaluate(OVERFLOW_JS)]
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            opened.tab.screenshot(path=str(Path(SCREENSHOTS) / (page.replace("/", "_") + ".png")),
                                  full_page=True)
    finally:
        opened.close()

    problems = figures_problems(figures)
    if page.startswith("book/chapters/") and not figures:
        problems.append("a chapter page without any plotly figure")
    problems += clipped
    problems += opened.errors
    problems += [f"request to a non-local URL: {url}" for url in opened.remote]
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- reading: phone, dark mode, colour

OPEN_DROPDOWNS_JS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"

TABLES_JS = """() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  const column = main.getBoundingClientRect().width;
  return Array.from(main.querySelectorAll('table')).map((table, i) => {
    const box = table.getBoundingClientRect();
    if (box.width === 0) return null;
    const scrolls = table.scrollWidth > table.clientWidth + 1, wider = box.width > column + 1;
    if (!scrolls && !wider) return null;
    const heads = Array.from(table.querySelectorAll('th')).slice(0, 3).map(h => h.innerText.trim()).join(' | ');
    const needs = Math.round(Math.max(table.scrollWidth, box.width));
    return `table ${i + 1} (${heads}) is ${needs} px wide in a ${Math.round(Math.min(column, table.clientWidth || column))} px column`;
  }).filter(Boolean);
}"""

COLOURS_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => {
  const out = {scales: [], series: []};
  const SCALED = ['heatmap', 'contour', 'surface', 'histogram2d', 'histogram2dcontour', 'mesh3d', 'choropleth'];
  (gd._fullData || []).forEach(t => {
    if (t.visible === false) return;
    const m = t.marker || {};
    if (Array.isArray(t.colorscale) && SCALED.includes(t.type)) out.scales.push(t.colorscale);
    if (Array.isArray(m.colorscale) && Array.isArray(m.color)) out.scales.push(m.colorscale);
    if (!t.showlegend) return;
    const mode = String(t.mode || '');
    const line = t.line && typeof t.line.color === 'string' ? t.line.color : null;
    const colour = (typeof m.color === 'string' ? m.color : null) || line
      || (typeof t.fillcolor === 'string' ? t.fillcolor : null);
    out.series.push({name: String(t.name || ''), colour,
      symbol: mode.includes('markers') && typeof m.symbol === 'string' ? m.symbol : null,
      dash: mode.includes('lines') && t.line && typeof t.line.dash === 'string' ? t.line.dash : null});
  });
  return out;
})"""

SET_THEME_JS = """theme => { document.documentElement.dataset.mode = theme;
  document.documentElement.dataset.theme = theme; }"""

THEME_JS = r"""() => {
  const rgba = c => { const m = /rgba?\(([^)]+)\)/.exec(c || ''); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lin = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = c => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const contrast = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const over = (top, base) => [0, 1, 2].map(i => top[i] * top[3] + base[i] * (1 - top[3])).concat([1]);
  const behind = el => { for (let a = el; a; a = a.parentElement) {
    const c = rgba(getComputedStyle(a).backgroundColor); if (c && c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
  const found = [];
  document.querySelectorAll('.plotly-graph-div').forEach((gd, i) => {
    const svg = gd.querySelector('.main-svg');
    if (!svg) return;
    const page = behind(gd.parentElement);
    const paperColour = getComputedStyle(svg).backgroundColor;
    const paper = over(rgba(paperColour) || [0, 0, 0, 0], page);
    if (contrast(paper, page) > 1.25) found.push(`figure ${i + 1}: its background (${paperColour}) stands out from the page`);
    gd.querySelectorAll('.bglayer rect.bg').forEach(rect => {
      const style = getComputedStyle(rect), fill = rgba(style.fill);
      if (!fill) return;
      fill[3] *= parseFloat(style.fillOpacity || '1');
      const seen = over(fill, paper);
      if (contrast(seen, page) > 1.25)
        found.push(`figure ${i + 1}: its plot area (rgb(${seen.slice(0, 3).map(Math.round).join(', ')})) stands out from the page`);
    });
    let worst = null;
    gd.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, .legendtext, .annotation-text, .cbaxis text, .cbtitle text')
      .forEach(t => {
        const style = getComputedStyle(t), fill = rgba(style.fill);
        if (!fill || !t.textContent.trim() || t.getBoundingClientRect().width === 0) return;
        fill[3] *= parseFloat(style.fillOpacity || '1');
        const k = contrast(over(fill, paper), paper);
        if (!worst || k < worst.k) worst = {k, text: t.textContent.trim().slice(0, 30)};
      });
    if (worst && worst.k < 3) found.push(`figure ${i + 1}: text "${worst.text}" has contrast ${worst.k.toFixed(1)} with the page (3 needed)`);
  });
  return Array.from(new Set(found)).slice(0, 10);
}"""

OVERLAP_JS = """() => {
  const found = [];
  document.querySelectorAll('.plotly-graph-div').forEach((gd, i) => {
    const boxes = Array.from(gd.querySelectorAll('.gtitle, .annotation'))
      .filter(e => e.textContent.trim()).map(e => ({text: e.textContent.trim().slice(0, 24), box: e.getBoundingClientRect()}))
      .filter(x => x.box.width > 0);
    for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
      const p = boxes[a].box, q = boxes[b].box;
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 2 && h > 2) found.push(`figure ${i + 1}: "${boxes[a].text}" and "${boxes[b].text}" overlap`);
    }
  });
  return Array.from(new Set(found)).slice(0, 10);
}"""


def red_green_problems(figures: list[dict]) -> list[str]:
    """Figures with a red-green colour scale, or two series told apart only by red and green."""
    import itertools

    from tdnn_utils import colours

    problems = []
    for i, figure in enumerate(figures, start=1):
        for scale in figure["scales"]:
            if colours.is_red_green_scale(scale):
                problems.append(f"figure {i}: a red-green colour scale ({scale[0][1]} to {scale[-1][1]})")
                break
        series = [s for s in figure["series"] if s["colour"]]
        for a, b in itertools.combinations(series, 2):
            same_cue = (a["symbol"], a["dash"]) == (b["symbol"], b["dash"])
            if same_cue and colours.red_green_conflicts([a["colour"], b["colour"]]):
                problems.append(f"figure {i}: {a['name']!r} ({a['colour']}) and {b['name']!r} ({b['colour']}) "
                                "differ only in red and green")
    return problems


def reading_problems(opened: OpenedPage) -> list[str]:
    """What a reader on a phone, in dark mode or with red-green colour blindness would miss."""
    tab = opened.tab
    tab.evaluate(OPEN_DROPDOWNS_JS)
    tab.wait_for_timeout(300)
    problems = [f"at 1280 px: {p}" for p in tab.evaluate(TABLES_JS)]
    problems += red_green_problems(tab.evaluate(COLOURS_JS))
    for theme in ("dark", "light"):
        tab.evaluate(SET_THEME_JS, theme)
        tab.wait_for_timeout(700)  # the theme script relayouts the figures
        problems += [f"in {theme} mode: {p}" for p in tab.evaluate(THEME_JS)]
    opened.resize(390, 844)
    problems += [f"at 390 px: {p}" for p in tab.evaluate(OVERFLOW_JS)]
    problems += [f"at 390 px: {p}" for p in figures_problems(tab.evaluate(FIGURES_JS))]
    problems += [f"at 390 px: {p}" for p in tab.evaluate(OVERLAP_JS)]
    return problems


@pytest.mark.parametrize("page", [
    pytest.param(page, marks=pytest.mark.xfail(strict=True, reason=AWAITING_RELAYOUT[page]))
    if page in AWAITING_RELAYOUT else page for page in PAGES])
def test_page_reads_on_a_phone_in_dark_mode_and_without_red_green(page, html_dir, base_url, browser):
    opened = OpenedPage(browser, base_url, page)
    try:
        problems = reading_problems(opened)
    finally:
        opened.close()
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
