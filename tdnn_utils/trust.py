"""Can a layer's hop-metric reading be trusted? Three checks per (layer, class), and a rule.

Naitzat et al.'s metric (hop counts in the k-NN graph, one Vietoris-Rips scale) is calibrated
on the input, where the true Betti numbers are known, and then trusted at every layer. Deeper
in, nothing guarantees it: a network squeezes, stretches and folds the classes. Each reading
(the Betti numbers of one class in one layer of one network) is checked three ways, on its
numbers, not only on whether they say "simple":

- **possible**: no beta_d > 0 with d >= 1 at or above the layer's width (a subset of R^w has no
  homology in dimensions >= w; e.g. beta_2 > 0 on 2-D logits cannot be right);
- **stable**: every beta_d read at the two ends of the window of k that read the input right
  (:func:`tdnn_utils.readings.k_window`; by default k * 0.75 and k * 1.25) is within
  :func:`close` of beta_d at the chosen k: at most ``max(1, 0.5 * beta_d)`` away. A number that
  moves more than that when k moves within what the calibration allows rests on an arbitrary
  choice;
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
from sklearn.neighbors import KDTree

from . import collapse, engines, topology

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

    A pair within ``delta`` has ``|x - y| <= delta sqrt(rho_k(x) max rho_k)``, so each point
    searches only that far (its own radius): on clouds of uneven density, where one sparse
    point makes ``max rho_k`` large, this finds the same pairs as one radius of
    ``delta max rho_k`` for every point, several times faster.
    """
    X = topology.check_point_cloud(X)
    k = min(int(k), len(X) - 1)
    tree = KDTree(X)
    rho = tree.query(X, k=k + 1)[0][:, -1]
    rho = np.where(rho > 0, rho, np.finfo(float).tiny)
    found, lengths = tree.query_radius(X, r=delta * np.sqrt(rho * rho.max()), return_distance=True)
    row = np.repeat(np.arange(len(X)), [len(f) for f in found])
    col = np.concatenate(found).astype(np.int64)
    scaled = np.concatenate(lengths) / np.sqrt(rho[row] * rho[col])
    keep = (row != col) & (scaled <= delta)
    return sparse.coo_matrix((np.maximum(scaled[keep], np.finfo(np.float32).tiny),
                              (row[keep], col[keep])), shape=(len(X), len(X)))


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
                  engine: str | None = None) -> dict:
    """The three checks of one reading (the module's docstring); ``betti`` if already measured.

    ``k_low`` and ``k_high`` are the other values of k the input allows (:func:`input_window`);
    by default ``k * 0.75`` and ``k * 1.25``, rounded. Returns ``width``, ``distinct``
    (distinct points), ``betti``, ``betti_k_low``, ``betti_k_high``, ``betti_cross`` (lists),
    ``possible``, ``stable``, ``agrees`` and ``ok``.
    """
    points = topology.check_point_cloud(points)
    n_distinct = len(topology.distinct_points(points)[0])

    def clipped(k_):
        return int(np.clip(round(k_), 1, len(points) - 1))

    k_low = clipped(k * K_FACTORS[0] if k_low is None else k_low)
    k_high = clipped(k * K_FACTORS[1] if k_high is None else k_high)
    wanted = [k_low, k_high] + ([clipped(k)] if betti is None else [])
    readings = topology.betti_numbers_at_ks(points, scale, wanted, maxdim=maxdim, engine=engine)
    betti = readings[clipped(k)].tolist() if betti is None else [int(b) for b in betti]
    low, high = readings[k_low].tolist(), readings[k_high].tolist()
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
    :func:`tdnn_utils.topology.betti_by_layer` table, so readings are not measured twice;
    ``k_low`` and ``k_high`` as in :func:`check_reading`.
    Returns one row per (layer, class) with :data:`CHECK_COLUMNS`.
    """
    labels = np.asarray(labels)
    known = {}
    if betti is not None:
        for (depth, label), rows in betti.groupby(["depth", "label"]):
            known[(int(depth), label)] = rows.sort_values("dim")["betti"].tolist()
    rows = []
    for depth, (layer, values) in enumerate(activations.items()):
        if depth == 0:
            continue
        values = np.asarray(values)
        for label in np.unique(labels):
            reading = check_reading(values[labels == label], k=k, scale=scale, maxdim=maxdim,
                                    betti=known.get((depth, label.item())), k_low=k_low,
                                    k_high=k_high, engine=engine)
            rows.append({"depth": depth, "layer": layer, "label": label.item(), **reading})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def layer_trust(checks: pd.DataFrame, by=()) -> pd.DataFrame:
    """Per configuration (``by``) and depth: the share of readings passing each check, and trust.

    Returns columns ``by``, ``depth``, ``layer``, ``readings``, ``possible``, ``stable``,
    ``agrees``, ``ok`` (shares) and ``trusted`` (``ok`` >= :data:`TRUST_SHARE`).
    """
    keys = list(by) + ["depth", "layer"]
    missing = (set(keys) | {"possible", "stable", "agrees", "ok"}) - set(checks.columns)
    if missing:
        raise ValueError(f"checks lack columns {sorted(missing)}")
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
    return trust.groupby(keys, sort=True).agg(trusted=("trusted", "all")).reset_index()


def trusted_only(betti: pd.DataFrame, trust: pd.DataFrame, by=()) -> pd.DataFrame:
    """The rows of a tidy Betti table at the input or at a trusted depth of their configuration.

    ``betti`` and ``trust`` share the ``by`` columns (e.g. problem, architecture,
    activation) and ``depth``; depths without a trust row (never checked) are dropped too.
    """
    keys = list(by) + ["depth"]
    trusted = trust.loc[trust["trusted"], keys].drop_duplicates()
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
    missing = (set(keys) | set(READINGS)) - set(checks.columns)
    if missing:
        raise ValueError(f"checks lack columns {sorted(missing)}")
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
    rows = readings[(readings["depth"] > 0) & (readings["dim"] == dim)]
    if rows.empty:
        return {"means": {}, "moved": float("nan"), "dependent": False}
    means = rows.groupby("reading")["betti"].mean()
    index = [c for c in rows.columns if c not in ("layer", "reading", "dim", "betti")]
    ends = rows.pivot_table(index=index, columns="reading", values="betti", aggfunc="mean")
    return {"means": means.round(1).to_dict(),
            "moved": float((ends["smallest k"] != ends["largest k"]).mean()),
            "dependent": bool(means["smallest k"] > K_DEPENDENCE_RATIO * means["largest k"])}
