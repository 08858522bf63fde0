"""Can a layer's hop-metric reading be trusted? Three checks per (layer, class), and a rule.

Naitzat et al.'s metric (hop counts in the k-NN graph, one Vietoris-Rips scale) is calibrated
on the input, where the true Betti numbers are known, and then trusted at every layer. Deeper
in, nothing guarantees it: a network squeezes, stretches and folds the classes. Each reading
(the Betti numbers of one class in one layer of one network) is checked three ways, on its
numbers, not only on whether they say "simple":

- **possible**: no beta_d > 0 with d >= 1 at or above the layer's width (a subset of R^w has no
  homology in dimensions >= w; e.g. beta_2 > 0 on 2-D logits cannot be right);
- **stable**: every beta_d read at k * 0.75 and k * 1.25 (kept inside the window of k that
  reads the input right, :func:`stability_ks`) is within :func:`close` of beta_d at the chosen
  k: at most ``max(1, 0.5 * beta_d)`` away. A number that moves more than that when k moves a
  little rests on an arbitrary choice. (Whether a *verdict* holds across the whole window is
  judged apart, at its two ends: :func:`tdnn_utils.simplification.judge_across_window`; a layer
  is not also dropped for what that test already weighs);
- **agrees**: every beta_d of an independent reading of the same points is within
  :func:`close` of it: Vietoris-Rips persistence of their Euclidean distances normalised by
  local density, ``|x - y| / sqrt(rho_k(x) rho_k(y))`` with ``rho_k`` the distance to the k-th
  neighbour (Berry & Sauer's continuous k-NN graph, whose complex recovers the homology of a
  sampled manifold), read at ``delta`` = :data:`CROSS_CHECK_DELTA`. Different construction
  (Euclidean lengths, no shortest paths), same density adaptivity; delta was fixed on the
  inputs of D-I, D-II and D-III (1, 1.5, 2 tried; 1.5 agrees best there) before any layer was
  read.

The tolerance (:data:`RELATIVE_TOLERANCE`, :data:`ABSOLUTE_TOLERANCE`) was fixed before the
paper's-density runs: a reading of 20 loops that reads 14 at another k passes, one that reads
5 fails; a reading of 0 or 1 may move by one. The Betti numbers of all readings are kept, so
the reader sees how much they move too. A layer of a configuration is **trusted** when at
least :data:`TRUST_SHARE` of its checked readings pass all three checks. The input is
calibrated, so trusted by construction. The verdicts then use only layers trusted for every
arm of a comparison (:func:`common_trust`, :func:`trusted_only`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from . import collapse, engines, topology
from .validation import check_columns, check_positive_int

K_FACTORS = (0.75, 1.25)
CROSS_CHECK_DELTA = 1.5
TRUST_SHARE = 0.75
#: Two readings of one beta are close when they differ by at most
#: ``max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * reference)``.
RELATIVE_TOLERANCE = 0.5
ABSOLUTE_TOLERANCE = 1
CHECK_COLUMNS = ["depth", "layer", "label", "width", "distinct", "betti", "betti_k_low",
                 "betti_k_high", "betti_cross", "possible", "stable", "agrees", "ok"]


def density_normalised_distances(X, k: int, delta: float) -> sparse.coo_matrix:
    """Sparse ``|x - y| / sqrt(rho_k(x) rho_k(y))`` for the pairs where it is at most ``delta``.

    ``X`` (n_points, n_features) of distinct points; ``rho_k`` is the distance to the k-th
    nearest other point. Returns an (n, n) symmetric COO matrix without the diagonal.

    A pair within ``delta`` is within ``delta * rho_k`` of whichever of its two points has the
    larger ``rho_k``, so each point's ball of that radius finds every pair (a ball per point:
    where one part of a layer is squeezed and another stretched, one radius for all would join
    almost every pair of the squeezed part).
    """
    X = topology.check_point_cloud(X)
    n = len(X)
    k = min(int(k), n - 1)
    tree = cKDTree(X)
    asked = min(n, max(4 * (k + 1), 32))
    distances, index = tree.query(X, k=asked)
    distances, index = distances.reshape(n, asked), index.reshape(n, asked)
    rho = np.where(distances[:, k] > 0, distances[:, k], np.finfo(float).tiny)
    rows, cols = np.repeat(np.arange(n), asked), index.ravel()
    within = distances.ravel() <= delta * rho[rows] * (1 + 1e-9)
    rows, cols = rows[within], cols[within]
    larger = np.flatnonzero(distances[:, -1] <= delta * rho * (1 + 1e-9))  # balls holding more than asked
    if len(larger):
        found = tree.query_ball_point(X[larger], delta * rho[larger] * (1 + 1e-9), return_sorted=False)
        rows = np.r_[rows, np.repeat(larger, [len(f) for f in found])]
        cols = np.r_[cols, np.concatenate([np.asarray(f, dtype=np.int64) for f in found])]
    keep = rows != cols
    pairs = sparse.coo_matrix((np.ones(int(keep.sum()), bool), (np.minimum(rows, cols)[keep],
                                                                 np.maximum(rows, cols)[keep])), shape=(n, n)).tocsr()
    pairs = pairs.tocoo()  # duplicates summed away: each unordered pair once
    rows, cols = pairs.row, pairs.col
    scaled = np.sqrt(((X[rows] - X[cols]) ** 2).sum(axis=1)) / np.sqrt(rho[rows] * rho[cols])
    keep = scaled <= delta
    rows, cols, scaled = rows[keep], cols[keep], np.maximum(scaled[keep], np.finfo(np.float32).tiny)
    return sparse.coo_matrix((np.r_[scaled, scaled], (np.r_[rows, cols], np.r_[cols, rows])), shape=(n, n))


def cross_check_betti(X, k: int, maxdim: int, delta: float = CROSS_CHECK_DELTA,
                      engine: str | None = None) -> np.ndarray:
    """Betti numbers of the density-normalised Euclidean complex at ``delta`` (distinct points).

    The complex at ``delta`` is the flag complex of the pairs whose normalised distance, as the
    engines' float32 filtration holds it, is at most ``delta``; it is read by
    :func:`tdnn_utils.collapse.betti_of_symmetric`.
    """
    points, _ = topology.distinct_points(X)
    if len(points) == 1:
        return np.array([1] + [0] * maxdim, dtype=np.int64)
    pairs = density_normalised_distances(points, k, delta)
    keep = engines.filtration_values(pairs.data) <= delta
    graph = sparse.csr_matrix((np.ones(int(keep.sum()), bool), (pairs.row[keep], pairs.col[keep])),
                              shape=pairs.shape)
    graph = ((graph + graph.T) > 0).tocsr()
    graph.setdiag(False)
    graph.eliminate_zeros()
    return collapse.betti_of_symmetric(graph, maxdim, engine=engine)


def stability_ks(k: int, window: tuple | None = None) -> tuple[int, int]:
    """The two k a reading's stability is checked at: round(k * 0.75) and round(k * 1.25)
    (:data:`K_FACTORS`), each kept inside ``window`` (k_low, k_high) when given."""
    low, high = (max(1, int(round(k * factor))) for factor in K_FACTORS)
    if window is not None:
        low, high = max(low, int(window[0])), min(high, int(window[1]))
    return low, high


def close(reference, other) -> bool:
    """Is every beta of ``other`` within ``max(1, 0.5 * beta)`` of ``reference``'s (same dimensions)?"""
    reference, other = [int(b) for b in reference], [int(b) for b in other]
    if len(reference) != len(other):
        raise ValueError(f"readings of different dimensions: {reference} and {other}")
    return all(abs(o - r) <= max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * r) for r, o in zip(reference, other))


def is_simple(betti) -> bool:
    """One piece without holes: beta_0 = 1 and beta_k = 0 for k >= 1."""
    return int(betti[0]) == 1 and all(int(b) == 0 for b in betti[1:])


def input_window(clouds: Mapping, truth: Mapping, k: int, *, scale: float, maxdim: int,
                 engine: str | None = None) -> tuple[int, int]:
    """The smallest and largest k in [k * 0.75, k * 1.25] at which the input still reads true.

    ``clouds`` and ``truth`` map each class to its input points and known Betti numbers, as
    :func:`tdnn_utils.topology.calibrate_k` takes them; ``k`` is the calibrated value. Walks
    outwards from ``k`` one step at a time while every class reads its known numbers, so the
    window is contiguous around ``k``. Returns ``(k_low, k_high)`` (``k`` itself when no
    neighbour is allowed on that side).
    """
    def correct(k_):
        return all(topology.betti_numbers(points, scale, k=int(k_), maxdim=maxdim, engine=engine).tolist()
                   == list(truth[label])[: maxdim + 1] for label, points in clouds.items())

    smallest = max(1, int(np.ceil(k * K_FACTORS[0])))
    largest = min(int(np.floor(k * K_FACTORS[1])), min(len(p) for p in clouds.values()) - 1)
    low = k
    while low - 1 >= smallest and correct(low - 1):
        low -= 1
    high = k
    while high + 1 <= largest and correct(high + 1):
        high += 1
    return low, high


def check_reading(points, *, k: int, scale: float, maxdim: int, betti=None,
                  k_low: int | None = None, k_high: int | None = None,
                  engine: str | None = None, known: Mapping | None = None) -> dict:
    """The three checks of one reading (the module's docstring); ``betti`` if already measured.

    ``k_low`` and ``k_high`` are the other values of k the input allows (:func:`input_window`);
    by default ``k * 0.75`` and ``k * 1.25``, rounded. ``known`` maps a k to the reading
    already measured there (e.g. by the sweep), which is not measured again. Returns ``width``, ``distinct``
    (distinct points), ``betti``, ``betti_k_low``, ``betti_k_high``, ``betti_cross`` (lists),
    ``possible``, ``stable``, ``agrees`` and ``ok``.
    """
    points = topology.check_point_cloud(points)
    n_distinct = len(topology.distinct_points(points)[0])

    def clipped(k_):
        return int(np.clip(round(k_), 1, len(points) - 1))

    k_low = clipped(k * K_FACTORS[0] if k_low is None else k_low)
    k_high = clipped(k * K_FACTORS[1] if k_high is None else k_high)
    readings = {int(k_): [int(b) for b in v] for k_, v in (known or {}).items()}
    if betti is not None:
        readings[clipped(k)] = [int(b) for b in betti]
    wanted = [k_ for k_ in (k_low, k_high, clipped(k)) if k_ not in readings]
    if wanted:
        measured = topology.betti_numbers_at_ks(points, scale, wanted, maxdim=maxdim, engine=engine)
        readings.update({k_: v.tolist() for k_, v in measured.items()})
    betti, low, high = readings[clipped(k)], readings[k_low], readings[k_high]
    cross = cross_check_betti(points, k, maxdim, engine=engine).tolist()
    width = points.shape[1]
    possible = all(b == 0 for d, b in enumerate(betti) if d >= 1 and d >= width)
    stable = close(betti, low) and close(betti, high)
    agrees = close(betti, cross)
    return {"width": width, "distinct": n_distinct, "betti": betti, "betti_k_low": low,
            "betti_k_high": high, "betti_cross": cross, "possible": possible, "stable": stable,
            "agrees": agrees, "ok": possible and stable and agrees}


def check_network(activations: Mapping[str, np.ndarray], labels, *, k: int, scale: float,
                  maxdim: int, betti: pd.DataFrame | None = None, k_low: int | None = None,
                  k_high: int | None = None, engine: str | None = None) -> pd.DataFrame:
    """:func:`check_reading` for every hidden layer and the logits of one network, per class.

    ``activations`` as :func:`tdnn_utils.models.layer_activations` gives (the input first: it
    is skipped, being calibrated); ``betti`` optionally the network's
    :func:`tdnn_utils.topology.betti_by_layer` table (with a ``k`` column when it was read at
    several k), so readings are not measured twice;
    ``k_low`` and ``k_high`` as in :func:`check_reading`.
    Returns one row per (layer, class) with :data:`CHECK_COLUMNS`.
    """
    labels = np.asarray(labels)
    known = {}
    if betti is not None:
        if "k" not in betti.columns:
            betti = betti.assign(k=k)
        for (depth, label, k_read), rows in betti.groupby(["depth", "label", "k"]):
            known.setdefault((int(depth), label), {})[int(k_read)] = rows.sort_values("dim")["betti"].tolist()
    rows = []
    for depth, (layer, values) in enumerate(activations.items()):
        if depth == 0:
            continue
        values = np.asarray(values)
        for label in np.unique(labels):
            reading = check_reading(values[labels == label], k=k, scale=scale, maxdim=maxdim,
                                    k_low=k_low, k_high=k_high, engine=engine,
                                    known=known.get((depth, label.item())))
            rows.append({"depth": depth, "layer": layer, "label": label.item(), **reading})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


#: The parts of a reading judged apart (issue: beta_0 and the higher dimensions are different
#: questions): the components (beta_0) and the holes (beta_1 and beta_2).
PARTS = {"components": (0,), "holes": (1, 2)}


def part_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """The checks of every reading judged part by part (:data:`PARTS`): one row per (reading, part).

    ``checks`` as :func:`check_network` returns them (stacked over networks). For each part,
    ``possible``, ``stable``, ``agrees`` and ``ok`` are judged on that part's Betti numbers only
    (the same rules as :func:`check_reading`); the other columns are kept, plus ``part``. A
    reading of the components may pass while its holes move with k: a claim about components
    then reads that layer, one about holes does not.
    """
    check_columns(checks, ["width", "betti", "betti_k_low", "betti_k_high", "betti_cross"], "checks")
    rows = []
    lists = ("betti", "betti_k_low", "betti_k_high", "betti_cross")
    for check in checks.to_dict("records"):
        for part, dims in PARTS.items():
            dims = [d for d in dims if d < len(check["betti"])]
            if not dims:
                continue
            values = {name: [check[name][d] for d in dims] for name in lists}
            possible = all(b == 0 for d, b in zip(dims, values["betti"]) if d >= 1 and d >= check["width"])
            stable = close(values["betti"], values["betti_k_low"]) and close(values["betti"], values["betti_k_high"])
            agrees = close(values["betti"], values["betti_cross"])
            rows.append({**{k: v for k, v in check.items() if k not in ("possible", "stable", "agrees", "ok")},
                         "part": part, "possible": possible, "stable": stable, "agrees": agrees,
                         "ok": possible and stable and agrees})
    return pd.DataFrame(rows, columns=[*[c for c in checks.columns if c not in ("possible", "stable", "agrees", "ok")],
                                       "part", "possible", "stable", "agrees", "ok"])


def for_part(trust: pd.DataFrame, part: str) -> pd.DataFrame:
    """A per-part trust table (:func:`layer_trust` of :func:`part_checks`, with ``part``) for one
    part, or ``"every"``: a depth trusted for every part. A table without ``part`` is returned as is."""
    if "part" not in trust.columns:
        return trust
    if part == "every":
        keys = [c for c in trust.columns if c not in ("part", "trusted", "readings", "possible", "stable",
                                                      "agrees", "ok")]
        return trust.groupby(keys, sort=False, dropna=False).agg(trusted=("trusted", "all")).reset_index()
    if part not in PARTS:
        raise ValueError(f"part={part!r} is unknown; use one of {list(PARTS)} or 'every'")
    return trust[trust["part"] == part].drop(columns="part")


def layer_trust(checks: pd.DataFrame, by=()) -> pd.DataFrame:
    """Per configuration (``by``) and depth: the share of readings passing each check, and trust.

    Returns columns ``by``, ``depth``, ``layer``, ``readings``, ``possible``, ``stable``,
    ``agrees``, ``ok`` (shares) and ``trusted`` (``ok`` >= :data:`TRUST_SHARE`).
    """
    keys = list(by) + ["depth", "layer"]
    flags = ["possible", "stable", "agrees", "ok"]
    check_columns(checks, keys + flags, "checks", boolean=flags, complete=keys)
    table = (checks.groupby(keys, sort=True)
             .agg(readings=("ok", "size"), possible=("possible", "mean"), stable=("stable", "mean"),
                  agrees=("agrees", "mean"), ok=("ok", "mean")).reset_index())
    table["trusted"] = table["ok"] >= TRUST_SHARE
    return table


def common_trust(trust: pd.DataFrame, by) -> pd.DataFrame:
    """A depth is trusted for the group ``by`` (e.g. problem and architecture) when it is trusted
    for every configuration of the group (e.g. every activation), so that comparisons between
    them read the same layers."""
    keys = list(by) + ["depth"]
    check_columns(trust, keys + ["trusted"], "trust", boolean=["trusted"], complete=keys)
    return trust.groupby(keys, sort=True).agg(trusted=("trusted", "all")).reset_index()


def trusted_only(betti: pd.DataFrame, trust: pd.DataFrame, by=()) -> pd.DataFrame:
    """The rows of a tidy Betti table at the input or at a trusted depth of their configuration.

    ``betti`` and ``trust`` share the ``by`` columns (e.g. problem, architecture,
    activation) and ``depth``; depths without a trust row (never checked) are dropped too.
    """
    keys = list(by) + ["depth"]
    check_columns(betti, keys, "betti", complete=keys)
    check_columns(trust, keys + ["trusted"], "trust", boolean=["trusted"], complete=keys)
    trusted = trust.loc[trust["trusted"].astype(bool), keys].drop_duplicates()
    kept = betti.merge(trusted.assign(_trusted=True), on=keys, how="left")
    keep = kept["_trusted"].eq(True) | (kept["depth"] == 0)
    return kept.loc[keep].drop(columns="_trusted").reset_index(drop=True)


#: The readings :func:`check_network` keeps per (layer, class), as :func:`readings_long` names them.
READINGS = {"betti_k_low": "smallest k", "betti": "calibrated k", "betti_k_high": "largest k",
            "betti_cross": "cross-check"}


def readings_long(checks: pd.DataFrame, by=()) -> pd.DataFrame:
    """The checks' four readings of every (layer, class) as one tidy Betti table.

    ``checks`` as :func:`check_network` returns them (stacked over networks, with the ``by``
    columns). Returns columns ``by``, ``depth``, ``layer``, ``label``, ``reading`` (the
    values of :data:`READINGS`), ``dim`` and ``betti``: one row per reading and dimension,
    so that :func:`tdnn_utils.plotting.betti_by_layer` can draw how a layer's Betti numbers
    move with k and against the cross-check.
    """
    keys = list(by) + ["depth", "layer", "label"]
    check_columns(checks, keys + list(READINGS), "checks", complete=keys)
    for column in READINGS:
        bad = [v for v in checks[column] if not (isinstance(v, (tuple, list, np.ndarray)) and all(
            isinstance(b, (int, np.integer, float, np.floating)) and float(b).is_integer() and b >= 0 for b in v))]
        if bad:
            raise ValueError(f"checks[{column!r}] must hold Betti numbers (beta_0, beta_1, ...) per reading; "
                             f"got {bad[0]!r}")
    rows = [{**{key: getattr(check, key) for key in keys}, "reading": name, "dim": dim,
             "betti": int(value)}
            for check in checks.itertuples(index=False)
            for column, name in READINGS.items()
            for dim, value in enumerate(getattr(check, column))]
    return pd.DataFrame(rows, columns=[*keys, "reading", "dim", "betti"])


#: A dimension's readings depend on k when their mean at the smallest k of the input's window
#: is more than this multiple of their mean at the largest (:func:`k_dependence`).
K_DEPENDENCE_RATIO = 1.5


def k_dependence(readings: pd.DataFrame, dim: int = 1) -> dict:
    """How much dimension ``dim`` moves with k in :func:`readings_long`'s table (input excluded).

    Returns ``{"means": {reading: mean Betti number}, "moved": share of (configuration,
    depth, class) readings whose value differs between the smallest and largest k,
    "dependent": whether the mean at the smallest k exceeds :data:`K_DEPENDENCE_RATIO` times
    the mean at the largest}``; NaN and False when there is no reading past the input.
    """
    check_columns(readings, ["depth", "layer", "reading", "dim", "betti"], "readings",
                  numeric=["depth", "dim", "betti"], complete=["depth", "reading", "dim"])
    dim = check_positive_int(dim, "dim", minimum=0)
    rows = readings[(readings["depth"] > 0) & (readings["dim"] == dim)]
    if not {"smallest k", "largest k"} <= set(rows["reading"]):
        rows = rows.iloc[:0]  # no reading at both ends of the window: nothing moved, or not read
    if rows.empty:
        return {"means": {}, "moved": float("nan"), "dependent": False}
    means = rows.groupby("reading")["betti"].mean()
    index = [c for c in rows.columns if c not in ("layer", "reading", "dim", "betti")]
    ends = rows.pivot_table(index=index, columns="reading", values="betti", aggfunc="mean")
    return {"means": means.round(1).to_dict(),
            "moved": float((ends["smallest k"] != ends["largest k"]).mean()),
            "dependent": bool(means["smallest k"] > K_DEPENDENCE_RATIO * means["largest k"])}
