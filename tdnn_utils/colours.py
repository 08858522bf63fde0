"""The book's colours, and whether a reader with red-green colour blindness can tell them apart.

Categories take the qualitative "Safe" palette (Paul Tol's colour-blind-safe colours, as plotly
ships them in ``plotly.express.colors.qualitative.Safe``) without its grey, ordered so that the
first colours have contrast on a light and on a dark page alike; every series also gets a
marker symbol and a line dash of its own, so that colour is never the only cue. Continuous
values take cividis.

The check: a colour as a reader with protanopia or deuteranopia sees it is simulated with
Machado, Oliveira & Fernandes (2009)'s matrices at full severity (in linear RGB), and two
colours are compared by their distance in CIELAB (ΔE, CIE 1976; about 2 is just noticeable,
above 10 reads as different at a glance).

- :func:`red_green_conflicts`: pairs of colours that differ for a reader with normal vision
  but look alike with protanopia or deuteranopia;
- :func:`is_red_green_scale`: a continuous scale whose far-apart stops look alike with
  protanopia or deuteranopia (a red-yellow-green scale's two ends, for example).

The browser test of the rendered book (``tests/test_book.py``) runs both on every figure.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

#: plotly's qualitative "Safe" palette, its grey left out (it reads like the rose and the teal
#: to a red-green colour-blind reader), in an order of mid-tone colours first.
SAFE = ("#44AA99", "#AA4499", "#999933", "#CC6677", "#117733", "#88CCEE", "#DDCC77",
        "#332288", "#882255", "#661100")
#: Marker symbols and line dashes, one per series: the second cue beside the colour.
SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "cross", "star", "hexagon",
           "triangle-down", "pentagon")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
#: The continuous scale of the book (colour-blind safe, even in lightness).
SEQUENTIAL = "cividis"
#: Neutral grey for reference lines (truth, diagonals): mid-grey reads on either theme.
NEUTRAL = "#888888"

#: Differ for normal vision when ΔE is above this; look alike when below :data:`ALIKE`.
DIFFERENT = 20.0
ALIKE = 10.0
#: A scale's stops at least half the scale apart must stay at least this far apart (ΔE).
SCALE_SEPARATION = 25.0

_MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")


def to_rgb(colour: str) -> np.ndarray:
    """``colour`` ("#rrggbb", "#rgb", "rgb(r, g, b)" or "rgba(r, g, b, a)") as 3 floats in 0..255."""
    text = str(colour).strip()
    match = _RGB.match(text)
    if match:
        return np.array([float(v) for v in match.groups()])
    if re.fullmatch(r"#[0-9a-fA-F]{6}", text):
        return np.array([int(text[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    if re.fullmatch(r"#[0-9a-fA-F]{3}", text):
        return np.array([int(c * 2, 16) for c in text[1:]], dtype=float)
    raise ValueError(f"colour {colour!r} is not '#rrggbb', '#rgb', 'rgb(r, g, b)' or 'rgba(r, g, b, a)'")


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.clip(rgb / 255.0, 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = (_RGB_TO_XYZ @ linear) / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(colour: str, vision: str | None = None) -> np.ndarray:
    """CIELAB coordinates (L, a, b) of ``colour`` for normal vision (``None``) or ``vision``
    ("protanopia" or "deuteranopia")."""
    linear = _linear(to_rgb(colour))
    if vision is not None:
        if vision not in _MACHADO:
            raise ValueError(f"vision={vision!r} is unknown; use None or one of {sorted(_MACHADO)}")
        linear = np.clip(_MACHADO[vision] @ linear, 0, 1)
    return _lab(linear)


def difference(a: str, b: str, vision: str | None = None) -> float:
    """ΔE (CIE 1976) between colours ``a`` and ``b`` as ``vision`` sees them (None: normal)."""
    return float(np.linalg.norm(seen(a, vision) - seen(b, vision)))


def red_green_difference(a: str, b: str) -> float:
    """The smaller ΔE between ``a`` and ``b`` with protanopia or with deuteranopia."""
    return min(difference(a, b, vision) for vision in _MACHADO)


def red_green_conflicts(colours) -> list[tuple[str, str]]:
    """Pairs of ``colours`` that differ for normal vision but look alike with red-green colour blindness.

    A pair conflicts when its ΔE is above :data:`DIFFERENT` for normal vision and below
    :data:`ALIKE` with protanopia or deuteranopia (green #2ca02c and red #d62728: 120 and 7).
    """
    distinct = list(dict.fromkeys(str(c) for c in colours))
    return [(a, b) for a, b in itertools.combinations(distinct, 2)
            if difference(a, b) > DIFFERENT and red_green_difference(a, b) < ALIKE]


def scale_colours(scale, n_stops: int = 5) -> list[str]:
    """``n_stops`` evenly spaced colours of ``scale``: a plotly scale's name ("Cividis"), a list
    of ``[position, colour]`` pairs (plotly's form) or a list of colours (evenly spaced)."""
    from plotly.colors import get_colorscale, sample_colorscale

    if isinstance(scale, str):
        scale = get_colorscale(scale)
    scale = [list(s) if isinstance(s, (list, tuple)) else s for s in scale]
    if not scale:
        raise ValueError("scale is empty; give a name, [position, colour] pairs or colours")
    if not all(isinstance(s, list) for s in scale):
        positions = np.linspace(0, 1, len(scale)) if len(scale) > 1 else [0.0]
        scale = [[float(p), c] for p, c in zip(positions, scale)]
    if len(scale) == 1:
        return [str(scale[0][1])] * n_stops
    scale = [[float(p), "rgb({:.0f}, {:.0f}, {:.0f})".format(*to_rgb(c))] for p, c in scale]
    return sample_colorscale(scale, list(np.linspace(0, 1, n_stops)))


def is_red_green_scale(scale) -> bool:
    """Whether a continuous colour scale confuses red and green (``scale`` as :func:`scale_colours` takes it).

    True when two of its stops at least half the scale apart are less than
    :data:`SCALE_SEPARATION` apart (ΔE) with protanopia or deuteranopia: the two ends of
    red-yellow-green (18), not those of cividis or viridis (135) or red-blue (35).
    """
    colours = scale_colours(scale)
    span = len(colours) - 1
    return any(red_green_difference(colours[i], colours[j]) < SCALE_SEPARATION
               for i, j in itertools.combinations(range(len(colours)), 2) if (j - i) * 2 >= span)
