"""Sphinx extension: small fixes to the pages of the book.

* Colab button. sphinx-book-theme links a chapter to
  ``<colab_url>/github/<org>/<repo>/blob/<branch>/book/chapters/NN_x.ipynb``, the executed
  notebook. The config value ``colab_source_map`` (path prefix -> path prefix, here
  ``{"book/chapters/": "notebooks/"}``) rewrites the link to the source notebook, outputs
  stripped and with the smoke defaults, when that file exists in the source tree; otherwise
  the link is left as it is.
* Duplicate inline scripts. With Jupyter Book 1.0.4 the configuration scripts of
  sphinx-thebe (``const THEBE_JS_URL = ...``) and sphinx-togglebutton are added twice
  (once with ``filename=None``, once with ``filename=''``, so Sphinx does not see them as
  equal); the second ``const`` throws "Identifier 'THEBE_JS_URL' has already been declared"
  on every page. Identical scripts are kept once.
* Nothing clipped. ``static/book_page_fixes.css``: code lines wrap at the column's edge,
  wide tables scroll in their own box, figures take the column's width.
* Figures follow the theme. ``static/plotly-theme-sync.js`` gives every plotly figure
  transparent backgrounds and a text colour for the light or dark theme, on load and whenever
  the reader switches (plotly itself ignores the theme).
* Theme mode. pydata-sphinx-theme sets ``<html data-mode>`` from ``localStorage`` and logs
  the console error "Got invalid theme mode: ." on a reader's first visit, when
  ``localStorage`` is empty. An inline script sets the mode to the default (``auto``) first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

_THEME_MODE = (
    "(function () { var d = document.documentElement.dataset; "
    "if (!d.mode) { d.mode = d.defaultMode || 'auto'; } })();"
)


def _rewrite_colab_button(app: Sphinx, context: dict[str, Any]) -> None:
    mapping = app.config.colab_source_map or {}
    if not mapping:
        return
    srcdir = Path(app.srcdir)
    for group in context.get("header_buttons") or []:
        for item in group.get("buttons") or []:
            url = item.get("url", "")
            if item.get("text") != "Colab" or "/blob/" not in url:
                continue
            head, _, rest = url.partition("/blob/")
            branch, _, path = rest.partition("/")
            for old, new in mapping.items():
                if path.startswith(old):
                    candidate = new + path[len(old):]
                    if (srcdir / candidate).is_file():
                        item["url"] = f"{head}/blob/{branch}/{candidate}"
                    else:
                        LOGGER.info(
                            f"book_page_fixes: no {candidate}; the Colab button keeps {path}"
                        )
                    break


def _drop_duplicate_scripts(context: dict[str, Any]) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, kept = set(), []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""
        attributes = getattr(js, "attributes", {}) or {}
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def _page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    _rewrite_colab_button(app, context)
    _drop_duplicate_scripts(context)


def _add_static(app: Sphinx) -> None:
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("colab_source_map", {}, "html")
    app.connect("builder-inited", _add_static)
    app.add_css_file("book_page_fixes.css")
    app.add_js_file("plotly-theme-sync.js", priority=800)
    app.add_js_file(None, body=_THEME_MODE, priority=90)
    # After sphinx-book-theme has built the launch buttons (its handlers run at 501) and
    # after myst-nb has added a page's own scripts.
    app.connect("html-page-context", _page_context, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
