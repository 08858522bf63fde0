"""Sphinx extension: serve plotly.js once, from the book's own files.

Figures in the executed chapters are display bundles whose ``text/html`` is
``fig.to_html(full_html=False, include_plotlyjs=False)``: a ``<div>`` plus an inline
``Plotly.newPlot(...)`` script that needs a global ``Plotly`` when it runs. This extension

* copies ``plotly/package_data/plotly.min.js`` from the installed plotly package into
  ``_static/`` (once per build, not once per figure, no CDN);
* adds it to every page's ``<head>`` as a plain (not deferred, not async) script with a low
  priority, so it has run before the body's inline figure scripts. If an AMD loader
  (require.js, which myst-nb adds to pages holding ipywidgets state) already defined
  ``define.amd``, plotly.js would register itself as an AMD module and leave ``Plotly``
  undefined; two tiny inline scripts hide ``define`` while plotly.js loads and restore it;
* drops myst-nb's "skipping unknown output mime type" warning for the figures'
  ``application/vnd.plotly.v1+json`` data only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

STATIC_NAME = "plotly.min.js"  # path under _static/
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_HIDE_AMD = (
    "if (typeof window.define === 'function' && window.define.amd) "
    "{ window.__tdnnDefine = window.define; window.define = undefined; }"
)
_RESTORE_AMD = (
    "if (window.__tdnnDefine) { window.define = window.__tdnnDefine; "
    "delete window.__tdnnDefine; }"
)


def plotly_js_path() -> Path:
    """The plotly.min.js bundled with the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(
            f"plotly_offline: {path} not found; is the plotly package installed completely?"
        )
    return path


def _copy_plotly_js(app: Sphinx) -> None:
    if app.builder is None or app.builder.format != "html":
        return
    static = Path(app.builder.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    src, dst = plotly_js_path(), static / STATIC_NAME
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dst)


def _quiet_plotly_mime() -> None:
    """Skip the plotly mime type silently.

    Chapters display figures as a bundle of ``text/html`` (what the book shows) and
    ``application/vnd.plotly.v1+json`` (what JupyterLab and VS Code draw). With Sphinx,
    myst-nb renders every mime type of a bundle before choosing one and warns "skipping
    unknown output mime type" for the plotly one, once per figure. Only that warning is
    dropped; any other unknown mime type still warns.
    """
    from myst_nb.core.render import NbElementRenderer

    original = NbElementRenderer.render_unhandled
    if getattr(original, "_tdnn_quiet_plotly", False):
        return

    def render_unhandled(self, data):  # type: ignore[no-untyped-def]
        if data.mime_type == PLOTLY_MIME:
            return []
        return original(self, data)

    render_unhandled._tdnn_quiet_plotly = True  # type: ignore[attr-defined]
    NbElementRenderer.render_unhandled = render_unhandled  # type: ignore[method-assign]


def setup(app: Sphinx) -> dict[str, Any]:
    _quiet_plotly_mime()
    plotly_js_path()  # fail at start-up, not halfway through the build
    app.connect("builder-inited", _copy_plotly_js)
    # Low priorities: before Sphinx's own scripts (200) and myst-nb's require.js (500).
    app.add_js_file(None, body=_HIDE_AMD, priority=100)
    app.add_js_file(STATIC_NAME, priority=101)
    app.add_js_file(None, body=_RESTORE_AMD, priority=102)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
