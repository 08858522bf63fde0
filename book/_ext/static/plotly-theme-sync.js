/* Plotly figures follow the book's light and dark theme (book/_ext/book_page_fixes.py).
 *
 * Plotly ignores the theme toggle of pydata-sphinx-theme (its issue #1248). The theme sets
 * <html data-theme="light|dark">; whenever that changes, and once the page has loaded, every
 * figure gets transparent backgrounds (paper, plot, 3-D scenes, legend), grey grid lines, and
 * a text colour that reads on the theme's background. Only what differs is changed, so a figure
 * already drawn right is left alone. Figures made with tdnn_utils.plotting's template are
 * transparent already; this also corrects figures drawn before it (white backgrounds).
 * After the idea of petrobras/ross's docs/_static/plotly-theme-sync.js.
 */
(function () {
  "use strict";
  var TEXT = { light: "#4d4d4d", dark: "#c8c8c8" };
  var GRID = "rgba(128, 128, 128, 0.25)";
  var CLEAR = "rgba(0, 0, 0, 0)";

  function mode() {
    return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
  }

  function wanted(layout, theme) {
    var want = { paper_bgcolor: CLEAR, plot_bgcolor: CLEAR, "font.color": TEXT[theme],
                 "legend.bgcolor": CLEAR };
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        ["gridcolor", "zerolinecolor", "linecolor"].forEach(function (part) {
          want[key + "." + part] = GRID;
        });
      } else if (/^scene\d*$/.test(key)) {
        want[key + ".bgcolor"] = CLEAR;
        ["xaxis", "yaxis", "zaxis"].forEach(function (axis) {
          want[key + "." + axis + ".backgroundcolor"] = CLEAR;
          want[key + "." + axis + ".gridcolor"] = GRID;
        });
      }
    });
    return want;
  }

  function current(layout, path) {
    return path.split(".").reduce(function (node, part) {
      return node == null ? undefined : node[part];
    }, layout);
  }

  function follow(gd, theme) {
    var layout = gd._fullLayout;
    if (!layout || !window.Plotly) {
      return;
    }
    var want = wanted(layout, theme), change = {};
    Object.keys(want).forEach(function (path) {
      if (current(layout, path) !== want[path]) {
        change[path] = want[path];
      }
    });
    if (Object.keys(change).length) {
      window.Plotly.relayout(gd, change);
    }
  }

  function followAll() {
    var theme = mode();
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      follow(gd, theme);
    });
  }

  new MutationObserver(followAll).observe(document.documentElement,
    { attributes: true, attributeFilter: ["data-theme"] });
  window.addEventListener("load", followAll);
})();
