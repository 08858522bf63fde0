"""From per-layer Betti readings to the numbers Naitzat et al.'s claims are judged on.

A *reading* is the Betti numbers of one class in one layer of one network at one k of the hop
metric (a row group of a sweep's Betti table: columns ``problem``, ``architecture``,
``activation``, ``seed``, ``depth``, ``label``, ``k``, ``dim``, ``betti``). This module turns
readings into per-network measures, with no censoring anywhere:

- :func:`k_window`: which k read the input right, and the k chosen in its middle (the rule
  fixed before a run: the longest run of consecutive candidates that give every class its known
  Betti numbers; the chosen k is its middle, its ends the window the verdicts are re-read at);
- :func:`excess`: per reading, the class's topology beyond one piece without holes,
  ``(beta_0 - 1) + beta_1 + ...``, as a share of the same at the input (1 at the input, 0 when
  simple);
- :func:`simplification_area`: per network, the mean excess over the hidden layers and the
  logits (the area under the normalised Betti curve): small when the network simplifies early;
- :func:`end_reduction`: per network, how much of the input's excess in beta_0, and in the
  higher dimensions, is gone at the last layer (1 = all of it);
- :func:`long_table`: the readings as one row per (network, layer, class, k) with ``b0``,
  ``b1``, ``b2``: the per-network files the book commits; :func:`book_readings` reads them
  back (from this checkout, or downloaded from the book's repository, e.g. on Colab) and
  :func:`tidy` turns them into a Betti table again, so a reader redraws the book's figures
  without training.

Classes are averaged within a network: the network is the unit. A network is identified by
whichever of ``problem``, ``architecture``, ``activation`` and ``seed`` the table has.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import topology
from .validation import check_columns

NETWORK = ["problem", "architecture", "activation", "seed"]
READING = NETWORK + ["k", "depth", "label"]
#: Where the book's committed results live online (``repository.url`` and ``repository.branch``
#: of ``_config.yml``; a test keeps them in step).
BOOK_RESULTS_URL = "https://raw.githubusercontent.com/tdnn-book/tdnn-book/main/book/results"
#: This checkout's committed results (absent in an installed package).
BOOK_RESULTS_DIR = Path(__file__).resolve().parents[1] / "book" / "results"
#: Columns of the committed per-reading files (:func:`long_table`).
FILE_COLUMNS = ["data", "architecture", "activation", "seed", "layer", "depth", "label", "k", "points",
                "b0", "b1", "b2"]


# ---------------------------------------------------------------------------- the window of k
def k_window(clouds: Mapping, truth: Mapping, candidates: Sequence[int], *, scale: float,
             maxdim: int, engine: str | None = None) -> tuple[tuple[int, int] | None, int | None, pd.DataFrame]:
    """The window of k that reads the input right, and the k in its middle.

    Parameters
    ----------
    clouds : class label -> input points (n_points, n_features) of that class.
    truth : class label -> its known Betti numbers (beta_0, ..., at least up to ``maxdim``).
    candidates : increasing integers, the k tried (one neighbour query per class serves all).
    scale, maxdim, engine : as in :func:`tdnn_utils.topology.betti_numbers`.

    Returns
    -------
    ``(window, chosen, table)``: ``window`` is ``(k_low, k_high)``, the ends of the longest run
    of consecutive candidates at which every class reads its known numbers (the first such run
    on a tie), ``chosen`` its middle candidate (the lower of two), both None when no candidate
    reads right; ``table`` has one row per (k, label) with ``measured``, ``true`` and
    ``correct``.
    """
    candidates = [int(k) for k in candidates]
    if not candidates or any(b <= a for a, b in zip(candidates, candidates[1:])):
        raise ValueError(f"candidates={candidates!r} must be a non-empty increasing list of k")
    if set(clouds) != set(truth):
        raise ValueError(f"clouds has labels {sorted(clouds)} but truth has {sorted(truth)}")
    rows, correct = [], []
    per_class = {label: topology.betti_numbers_at_ks(points, scale, candidates, maxdim=maxdim, engine=engine)
                 for label, points in clouds.items()}
    for k in candidates:
        right = True
        for label in clouds:
            measured, true = per_class[label][k].tolist(), list(truth[label])[: maxdim + 1]
            right &= measured == true
            rows.append({"k": k, "label": label, "measured": measured, "true": true, "correct": measured == true})
        correct.append(right)
    best, start = (0, None), None
    for i, right in enumerate(correct + [False]):
        if right and start is None:
            start = i
        if not right and start is not None:
            best = max(best, (i - start, -start))
            start = None
    if best[1] is None:
        return None, None, pd.DataFrame(rows)
    first = -best[1]
    last = first + best[0] - 1
    window = (candidates[first], candidates[last])
    return window, candidates[(first + last) // 2], pd.DataFrame(rows)


# ---------------------------------------------------------------------------- per reading
def _check_table(betti: pd.DataFrame, needed: Sequence[str]) -> pd.DataFrame:
    """A Betti table, checked: its columns, numbers where numbers are read, no missing key. A
    missing Betti number (NaN) is allowed: the reading it belongs to is left out."""
    keys = [c for c in needed if c != "betti"]
    check_columns(betti, needed, "betti")
    return check_columns(betti, needed, "betti", numeric=["depth", "dim", "betti"],
                         complete=[*keys, *_network(betti)])


def _network(table: pd.DataFrame, with_k: bool = True) -> list[str]:
    """The columns of ``table`` that identify a network (and the k it was read at)."""
    return [c for c in NETWORK + (["k"] if with_k else []) if c in table.columns]


def _wide(betti: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """One row per reading, a column per dimension; a reading missing a dimension its class is
    read in elsewhere holds NaN there (a dimension never read for the class is 0's stand-in:
    not measured, not missing)."""
    _check_table(betti, ["depth", "label", "dim", "betti"])
    keys = [c for c in READING if c in betti.columns]
    wide = betti.groupby(keys + ["dim"], dropna=False)["betti"].mean().unstack("dim").reset_index()
    dims = sorted(c for c in wide.columns if isinstance(c, (int, np.integer, float)) and c not in keys)
    wide.columns = [int(c) if c in dims else c for c in wide.columns]
    dims = [int(d) for d in dims]
    if wide.empty or 0 not in dims:  # nothing read, or no beta_0 to read a class by
        return wide.iloc[:0], dims
    read_in = wide.groupby(_network(wide, with_k=False) + ["label"])[dims].transform(lambda c: c.notna().any())
    wide[dims] = wide[dims].where(wide[dims].notna() | read_in, 0)
    return wide, dims


#: What :func:`excess` counts for each part: the extra components (beta_0 - 1), the holes
#: (beta_1 + beta_2), or both.
PARTS = ("components", "holes", None)


def excess(betti: pd.DataFrame, part: str | None = None) -> pd.DataFrame:
    """Each reading's topology beyond one piece without holes, as a share of the input's.

    ``part``: "components" counts beta_0 - 1 only, "holes" the higher Betti numbers only, None
    both.

    ``betti`` as the module describes (``k`` optional). Returns one row per reading with
    ``raw`` = (beta_0 - 1) + beta_1 + ... and ``share`` = raw / raw at the input (depth 0) of the
    same network, k and class (NaN when the input is already simple or was not read). A
    reading with a Betti number missing is left out.
    """
    if part not in PARTS:
        raise ValueError(f"part={part!r} is unknown; use one of {PARTS}")
    wide, dims = _wide(betti)
    wide = wide.dropna(subset=dims)
    counted = {"components": [0], "holes": [d for d in dims if d > 0], None: dims}[part]
    wide["raw"] = wide[counted].sum(axis=1) - (part != "holes")
    group = _network(wide) + ["label"]
    at_input = wide.loc[wide["depth"] == 0].set_index(group)["raw"].rename("input_raw")
    wide = wide.join(at_input, on=group)
    wide["share"] = wide["raw"] / wide["input_raw"].where(wide["input_raw"] > 0)
    return wide[group + ["depth", "raw", "share"]]


def simplification_area(betti: pd.DataFrame, depths: pd.DataFrame | None = None,
                        part: str | None = None) -> pd.DataFrame:
    """Per network and k: the mean excess share over the read layers after the input.

    The area under the normalised Betti curve, divided by the number of layers read: 0 when
    every class is simple from the first hidden layer on, 1 when nothing changed. It needs no
    censoring: a network that never simplifies has a large area, not a missing value.

    Parameters
    ----------
    betti : as the module describes.
    depths : the depths to read, per (problem, architecture) (columns ``problem``,
        ``architecture``, ``depth``; e.g. the trusted ones); None: every depth.
    part : what the excess counts (:func:`excess`): "components", "holes" or None (both).

    Returns
    -------
    columns ``problem``, ``architecture``, ``activation``, ``seed`` (and ``k``), ``area``,
    ``layers`` (how many depths were read). Classes are averaged within the network.
    """
    shares = excess(betti, part)
    shares = shares[shares["depth"] > 0]
    if depths is not None:
        on = [c for c in ("problem", "architecture") if c in depths.columns] + ["depth"]
        shares = shares.merge(depths[on].drop_duplicates(), on=on)
    group = _network(shares)
    per_class = (shares.groupby(group + ["label"], sort=False)
                 .agg(area=("share", "mean"), layers=("depth", "nunique")).reset_index())
    return per_class.groupby(group, sort=False).agg(area=("area", "mean"), layers=("layers", "min")).reset_index()


def end_reduction(betti: pd.DataFrame, depth: int | None = None) -> pd.DataFrame:
    """Per network and k: how much of the input's excess is gone at the last layer.

    Two numbers, classes averaged: ``components`` = (beta_0(input) - beta_0(end)) / (beta_0(input)
    - 1) and ``holes`` = (sum of beta_d, d >= 1, at the input - the same at the end) / the same
    at the input; each 1 when the class ends simple in it, 0 when nothing changed, negative
    when the end has more. A class whose input has no excess in a part leaves that part out.
    ``depth`` reads that depth as the end (None: each network's last). ``simple``: every class
    is one piece without holes at the end.

    No verdict from no data: a network whose end (or input) reading of a class is missing is
    kept with NaN in both parts and ``simple`` NA (``read`` False), so that a claim can leave it
    out and say so; an empty table gives no row. Returns columns ``problem``, ``architecture``,
    ``activation``, ``seed`` (and ``k``), ``components``, ``holes``, ``simple``, ``read``.
    """
    wide, dims = _wide(betti)
    group = _network(wide)
    columns = group + ["components", "holes", "simple", "read"]
    if wide.empty:
        return pd.DataFrame(columns=columns)
    higher = [d for d in dims if d > 0]
    last = wide.groupby(group)["depth"].transform("max") if depth is None else depth
    start = wide[wide["depth"] == 0].set_index(group + ["label"])[dims]
    end = wide[wide["depth"] == last].set_index(group + ["label"])[dims]
    start, end = start.align(end, join="outer")
    read = start.notna().all(axis=1) & end.notna().all(axis=1)
    holes_in = start[higher].sum(axis=1)
    per_class = pd.DataFrame({
        "components": (start[0] - end[0]) / (start[0] - 1).where(start[0] > 1),
        "holes": (holes_in - end[higher].sum(axis=1)) / holes_in.where(holes_in > 0),
        "simple": (end[0] == 1) & (end[higher].sum(axis=1) == 0),
        "read": read,
    }).reset_index()
    per_network = per_class.groupby(group, sort=False).agg(
        components=("components", "mean"), holes=("holes", "mean"), simple=("simple", "all"),
        read=("read", "all")).reset_index()
    per_network.loc[~per_network["read"], ["components", "holes"]] = np.nan
    per_network["simple"] = per_network["simple"].astype("boolean").mask(~per_network["read"])
    return per_network[columns]


# ---------------------------------------------------------------------------- the files
def long_table(betti: pd.DataFrame, points: Mapping | None = None) -> pd.DataFrame:
    """The readings as :data:`FILE_COLUMNS`: one row per (network, layer, class, k).

    ``betti`` as the module describes, with ``layer``; ``points`` maps (problem, label) to the
    number of points the class was read on (None: left empty). ``b2`` is empty where dimension 2
    was not measured.
    """
    _check_table(betti, NETWORK + ["layer", "depth", "label", "k", "dim", "betti"])
    if betti.empty:  # no network to read (none at 100%): the file still has its columns
        return pd.DataFrame({column: pd.Series(dtype="Int64" if column in ("b0", "b1", "b2", "points") else object)
                             for column in FILE_COLUMNS})
    keys = NETWORK + ["layer", "depth", "label", "k"]
    wide = betti.pivot_table(index=keys, columns="dim", values="betti").reset_index()
    wide.columns = [f"b{c}" if isinstance(c, (int, np.integer)) else c for c in wide.columns]
    for column in ("b0", "b1", "b2"):
        if column not in wide.columns:
            wide[column] = np.nan
    wide = wide.rename(columns={"problem": "data"})
    wide["points"] = ([points.get((d, label)) for d, label in zip(wide["data"], wide["label"])]
                      if points is not None else np.nan)
    for column in ("b0", "b1", "b2", "points"):
        wide[column] = wide[column].astype("Int64")
    return wide[FILE_COLUMNS].sort_values(["data", "architecture", "activation", "seed", "k", "depth", "label"],
                                          ignore_index=True)


def book_readings(chapter: str, *, folder=None, url: str = BOOK_RESULTS_URL, timeout: float = 30.0) -> pd.DataFrame:
    """The book preset's committed readings of a chapter (``"01"`` or ``"02"``), as :func:`long_table` wrote them.

    Read from ``folder`` (default: this checkout's ``book/results``) when the file is there,
    else downloaded from ``url`` (the book's repository). Raises ``FileNotFoundError`` naming
    both places when neither answers.
    """
    if not (isinstance(chapter, str) and chapter.isdigit() and len(chapter) == 2):
        raise ValueError(f"chapter={chapter!r} must be a chapter's two digits, e.g. '02'")
    name = f"{chapter}_betti.csv"
    local = Path(folder or BOOK_RESULTS_DIR) / name
    if local.is_file():
        return pd.read_csv(local)
    address = f"{url.rstrip('/')}/{name}"
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            return pd.read_csv(response)
    except OSError as error:
        raise FileNotFoundError(f"the book's readings are neither in {local} nor at {address} ({error})") from None


def tidy(long: pd.DataFrame) -> pd.DataFrame:
    """A per-reading file (:data:`FILE_COLUMNS`) back as a tidy Betti table (``problem`` ...
    ``k``, ``dim``, ``betti``; dimensions not measured are left out)."""
    check_columns(long, FILE_COLUMNS, "readings")
    keys = ["data", "architecture", "activation", "seed", "layer", "depth", "label", "k"]
    table = long.melt(id_vars=keys, value_vars=["b0", "b1", "b2"], var_name="dim", value_name="betti")
    table = table.dropna(subset=["betti"]).rename(columns={"data": "problem"})
    table["dim"] = table["dim"].str[1].astype(int)
    table["betti"] = table["betti"].astype(int)
    return table.sort_values(["problem", "architecture", "activation", "seed", "k", "depth", "label", "dim"],
                             ignore_index=True)
