"""The rendered book, opened in headless Chromium: every figure draws, offline, without errors.

The book is built once per session with ``jupyter-book build <root> --builder html
--path-output <tmp>`` into a temporary folder (the repository's own ``_build`` is left
alone) and served by a local ``http.server`` on 127.0.0.1. Every chapter page (one per
notebook or Markdown file in ``book/chapters/``), the introduction and the claims page are
opened with Debian's Chromium through playwright. On each page:

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


PAGES = ["book/intro.html", *chapter_pages(), "book/claims.html"]


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


@pytest.mark.parametrize("page", PAGES)
def test_page_draws_offline_without_errors(page, html_dir, base_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors, remote = [], []

    def on_console(msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if where.endswith(IGNORED_CONSOLE_URLS) or where.startswith(ALLOWED_REMOTE):
            return
        if "net::ERR_FAILED" in msg.text and not where.startswith(base_url):
            return  # an aborted remote request: reported below, with its URL
        errors.append(f"console.error: {msg.text} ({where})")

    def route(request_route):
        url = request_route.request.url
        if url.startswith((base_url, "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            if not url.startswith(ALLOWED_REMOTE):
                remote.append(url)
            request_route.abort()

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.route("**/*", route)
    try:
        response = tab.goto(base_url + page, wait_until="load")
        assert response is not None and response.ok, f"{page}: HTTP {response and response.status}"
        try:
            tab.wait_for_function(ALL_PLOTTED_JS, timeout=FIGURE_TIMEOUT_MS)
        except Exception:  # reported figure by figure below
            pass
        tab.wait_for_timeout(300)  # let WebGL scenes finish their first frame
        figures = tab.evaluate(FIGURES_JS)
        clipped = tab.evaluate(OVERFLOW_JS)
        tab.set_viewport_size({"width": 900, "height": 900})
        tab.wait_for_timeout(500)  # plotly's responsive relayout
        clipped += [f"at 900 px: {p}" for p in tab.evaluate(OVERFLOW_JS)]
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(Path(SCREENSHOTS) / (page.replace("/", "_") + ".png")),
                           full_page=True)
    finally:
        context.close()

    problems = [f"figure {i + 1} ({', '.join(sorted(set(f['types']))) or 'no traces'}): {p}"
                for i, f in enumerate(figures) for p in figure_problems(f)]
    if page.startswith("book/chapters/") and not figures:
        problems.append("a chapter page without any plotly figure")
    problems += clipped
    problems += errors
    problems += [f"request to a non-local URL: {url}" for url in remote]
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
