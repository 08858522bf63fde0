"""From the giotto-deep tutorial's reading of a network's topology to Naitzat et al.'s, one change at a time.

A *reading* says how the Betti numbers of a layer are measured: on how many points, pooled
over the classes or per class, before or after the activation, with one Euclidean
threshold or with hop counts in the k-nearest-neighbour graph, and on which networks.
:func:`ablation_steps` lists the readings from the tutorial's to the paper's, each differing
from the previous one in exactly one field; :func:`read_input` and :func:`read_networks`
measure them; :func:`threshold_sweep` asks which Euclidean thresholds recover known Betti
numbers on a given sample.

- :class:`Reading`: one way of reading Betti numbers;
- :func:`ablation_steps`: the tutorial's reading, then (a) denser, (b) per class, (c) after
  the activation, (d) the k-NN hop metric, optionally (d') denser again, (e) only networks at
  100% training accuracy;
- :func:`sample_indices`: the points a reading measures;
- :func:`read_input`, :func:`read_networks`: tidy Betti tables of the input and of every layer;
- :func:`input_recovery`: per step, the input's Betti numbers against the truth;
- :func:`threshold_sweep`, :func:`recovering_thresholds`: Betti numbers against a threshold;
- :func:`walk`: every step read, the input and the networks, as one table and per-layer totals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import topology
from .models import layer_activations
from .validation import check_labels, check_positive_int, check_positive_number

__all__ = ["Reading", "ablation_steps", "sample_indices", "read_input", "read_networks",
           "input_recovery", "threshold_sweep", "recovering_thresholds", "walk", "POOLED"]

#: The label of a pooled reading's single cloud.
POOLED = "pooled"
STAGES = ("pre", "post")
METRICS = ("threshold", "knn")
NETWORK_SETS = ("tutorial", "perfect")


@dataclass(frozen=True)
class Reading:
    """One way of reading Betti numbers from a network's layers.

    Parameters
    ----------
    name : a label for tables and figures.
    n_points : points measured: in all when pooled, per class otherwise.
    per_class : each class's points on their own (True) or all classes pooled (False).
    stage : "pre" (the Linear output, giotto-deep's hooks) or "post" (after the activation).
    metric : "threshold" (Euclidean distances, the complex at ``scale``) or "knn" (hop
        counts in the symmetrised ``k``-NN graph, the complex at ``scale`` hops).
    scale : the Euclidean threshold, or the number of hops.
    k : neighbours of the k-NN graph (needed by "knn", ignored otherwise).
    networks : "tutorial" (the tutorial's networks, whatever their accuracy) or "perfect"
        (only networks at 100% training accuracy).
    """

    name: str
    n_points: int
    per_class: bool
    stage: str
    metric: str
    scale: float
    k: int | None = None
    networks: str = "tutorial"

    def __post_init__(self):
        check_positive_int(self.n_points, "Reading.n_points", minimum=2)
        check_positive_number(self.scale, "Reading.scale")
        if self.stage not in STAGES:
            raise ValueError(f"Reading.stage={self.stage!r} is unknown; use one of {STAGES}")
        if self.metric not in METRICS:
            raise ValueError(f"Reading.metric={self.metric!r} is unknown; use one of {METRICS}")
        if self.networks not in NETWORK_SETS:
            raise ValueError(f"Reading.networks={self.networks!r} is unknown; use one of {NETWORK_SETS}")
        if self.metric == "knn":
            check_positive_int(self.k, "Reading.k")

    @property
    def k_or_none(self) -> int | None:
        """``k`` for the k-NN metric, ``None`` for the Euclidean threshold."""
        return self.k if self.metric == "knn" else None


def ablation_steps(*, tutorial_points: int, dense_points: int, threshold: float, k: int,
                   hops: float, paper_points: int | None = None) -> list[Reading]:
    """The readings from giotto-deep's tutorial to Naitzat et al., one change per step.

    0. the tutorial: ``tutorial_points`` pooled points, before the activation, Euclidean
       ``threshold``, the tutorial's networks;
    1. (a) denser: ``2 * dense_points`` pooled points (``dense_points`` per class on average);
    2. (b) per class: ``dense_points`` per class, each class on its own (the same density);
    3. (c) after the activation;
    4. (d) the k-NN hop metric: ``k`` neighbours, ``hops`` hops;
    5. only when ``paper_points`` is given and differs from ``dense_points``: (d') the same
       reading on ``paper_points`` per class (Euclidean readings of many points are costly,
       hop readings are not, so the paper's density can come after the metric);
    6. (e) only networks at 100% training accuracy.

    Returns the :class:`Reading` objects in that order (six, or seven with (d')).
    """
    tutorial = Reading("tutorial", tutorial_points, False, "pre", "threshold", threshold)
    dense = replace(tutorial, name="(a) denser", n_points=2 * check_positive_int(dense_points, "dense_points"))
    per_class = replace(dense, name="(b) per class", n_points=dense_points, per_class=True)
    post = replace(per_class, name="(c) after the activation", stage="post")
    knn = replace(post, name="(d) k-NN hops", metric="knn", scale=hops, k=check_positive_int(k, "k"))
    steps = [tutorial, dense, per_class, post, knn]
    paper_points = check_positive_int(paper_points, "paper_points", allow_none=True)
    if paper_points is not None and paper_points != dense_points:
        steps.append(replace(knn, name="(d') k-NN hops, denser", n_points=paper_points))
    steps.append(replace(steps[-1], name="(e) networks at 100%", networks="perfect"))
    return steps


def sample_indices(labels, reading: Reading, seed: int = 0) -> np.ndarray:
    """Indices of the points ``reading`` measures, drawn without replacement.

    Pooled: ``reading.n_points`` among all points; per class: ``reading.n_points`` of each
    class. ``labels`` has shape (n_points,). Raises ``ValueError`` when there are too few.
    Returns a sorted int array.
    """
    labels = check_labels(labels, integer=False)
    rng = np.random.default_rng(seed)
    if not reading.per_class:
        if reading.n_points > len(labels):
            raise ValueError(f"{reading.name}: n_points={reading.n_points} but only {len(labels)} points")
        return np.sort(rng.choice(len(labels), reading.n_points, replace=False))
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if reading.n_points > len(members):
            raise ValueError(f"{reading.name}: n_points={reading.n_points} per class but class "
                             f"{label!r} has {len(members)} points")
        chosen.append(rng.choice(members, reading.n_points, replace=False))
    return np.sort(np.concatenate(chosen))


def _read(layers: Mapping[str, np.ndarray], labels, reading: Reading, maxdim: int,
          engine: str | None) -> pd.DataFrame:
    groups = np.asarray(labels) if reading.per_class else np.zeros(len(labels), dtype=np.int64)
    table = topology.betti_by_layer(layers, groups, reading.scale, k=reading.k_or_none,
                                    maxdim=maxdim, engine=engine)
    if not reading.per_class:
        table["label"] = POOLED
    return table


def read_input(X, y, reading: Reading, *, maxdim: int = 1, seed: int = 0,
               engine: str | None = None) -> pd.DataFrame:
    """Betti numbers of the input sample that ``reading`` measures.

    ``X`` (n_points, n_features), ``y`` (n_points,). Returns the tidy columns of
    :func:`tdnn_utils.topology.betti_by_layer` (``label`` is :data:`POOLED` when pooled)
    plus ``step`` (the reading's name).
    """
    X = topology.check_point_cloud(X)
    keep = sample_indices(y, reading, seed)
    table = _read({"input": X[keep]}, np.asarray(y)[keep], reading, maxdim, engine)
    return table.assign(step=reading.name)


def read_networks(models: Mapping, X, y, reading: Reading, *, maxdim: int = 1, seed: int = 0,
                  engine: str | None = None) -> pd.DataFrame:
    """Betti numbers of every hidden layer and the logits of each network, as ``reading`` reads them.

    ``models`` maps a network's name to a trained :class:`~tdnn_utils.models.FFNet` (the
    caller passes the set the reading names: the tutorial's networks or those at 100%);
    every network is read on the same sample (:func:`sample_indices` with ``seed``). The
    input (depth 0) is left out: :func:`read_input` measures it once. Returns the columns
    of :func:`tdnn_utils.topology.betti_by_layer` plus ``network`` and ``step``.
    """
    X = topology.check_point_cloud(X)
    keep = sample_indices(y, reading, seed)
    labels = np.asarray(y)[keep]
    tables = []
    for name, model in models.items():
        layers = layer_activations(model.cpu(), X[keep], stage=reading.stage)
        del layers["input"]
        table = _read(layers, labels, reading, maxdim, engine)
        tables.append(table.assign(depth=table["depth"] + 1, network=name))
    columns = ["layer", "depth", "label", "dim", "betti", "network"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    return table.assign(step=reading.name)


def input_recovery(inputs: pd.DataFrame, truth: Sequence[int], steps: Sequence[Reading],
                   n_classes: int = 2) -> pd.DataFrame:
    """Per step: the input's measured Betti numbers, the truth and whether they agree.

    ``inputs``: :func:`read_input` tables of the steps, concatenated; ``truth``: the Betti
    numbers of one class, dimensions 0 up; a pooled cloud of ``n_classes`` classes (each with
    that truth, apart from one another) has ``n_classes`` times it. Returns one row per
    (step, label), in the order of ``steps``, with ``measured`` and ``true`` (tuples) and
    ``recovered`` (bool).
    """
    truth = np.asarray([check_positive_int(t, "truth", minimum=0) for t in truth], dtype=int)  # counts, not 2.5
    n_classes = check_positive_int(n_classes, "n_classes")
    rows = []
    for reading in steps:
        part = inputs[inputs["step"] == reading.name]
        if part.empty:
            raise ValueError(f"no input reading for step {reading.name!r}")
        times = 1 if reading.per_class else n_classes
        for label, rows_ in part.groupby("label", sort=True):
            measured = tuple(int(b) for b in rows_.sort_values("dim")["betti"])
            true = tuple(int(t) * times for t in truth[: len(measured)])
            rows.append({"step": reading.name, "label": label, "measured": measured, "true": true,
                         "recovered": measured == true})
    return pd.DataFrame(rows, columns=["step", "label", "measured", "true", "recovered"])


def threshold_sweep(clouds: Mapping, truth: Mapping, thresholds, *, maxdim: int = 1,
                    engine: str | None = None) -> pd.DataFrame:
    """Betti numbers of each cloud at every Euclidean threshold, against its truth.

    ``clouds`` maps a name to points (n_points, n_features); ``truth`` maps the same names to
    their Betti numbers (dimensions 0 up; at least ``maxdim + 1``); ``thresholds`` positive.
    One persistence computation per cloud, up to the largest threshold. Returns one row per
    (cloud, threshold): ``cloud``, ``threshold``, ``β0`` ... ``β<maxdim>``, ``recovered``.
    """
    thresholds = np.asarray(thresholds, dtype=float)
    if thresholds.ndim != 1 or len(thresholds) == 0 or not np.all(np.isfinite(thresholds)) \
            or np.any(thresholds <= 0):
        raise ValueError(f"thresholds={thresholds!r} must be a non-empty list of positive numbers")
    missing = set(clouds) - set(truth)
    if missing:
        raise ValueError(f"truth lacks the clouds {sorted(missing)}")
    rows = []
    for name, points in clouds.items():
        if len(truth[name]) < maxdim + 1:
            raise ValueError(f"truth[{name!r}]={tuple(truth[name])} has fewer than maxdim + 1 = {maxdim + 1} entries")
        diagrams = topology.persistence(points, maxdim=maxdim, thresh=float(thresholds.max()) * 1.0001,
                                        engine=engine)
        expected = [int(t) for t in truth[name][: maxdim + 1]]
        for t in thresholds:
            betti = [topology.betti_at(diagrams[d], t) for d in range(maxdim + 1)]
            rows.append({"cloud": name, "threshold": float(t),
                         **{f"β{d}": b for d, b in enumerate(betti)}, "recovered": betti == expected})
    return pd.DataFrame(rows)


def recovering_thresholds(sweep: pd.DataFrame) -> list[float]:
    """The thresholds of a :func:`threshold_sweep` at which *every* cloud reads its truth."""
    if sweep.empty:
        return []
    every = sweep.groupby("threshold")["recovered"].all()
    return [float(t) for t in every.index[every.to_numpy()]]


def walk(X, y, steps: Sequence[Reading], models: Mapping, perfect: pd.DataFrame, truth: Sequence[int], *,
         maxdim: int = 1, engine: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every step of the ablation read: the input against its truth, and each network's layers.

    Parameters
    ----------
    X, y : the points the steps sample, (n_points, n_features) and (n_points,).
    steps : :func:`ablation_steps`' readings; those on "tutorial" networks read ``models``.
    models : network name -> trained :class:`~tdnn_utils.models.FFNet` (the tutorial's).
    perfect : the tidy Betti table of the networks at 100% as the "perfect" step reads them
        (columns ``activation``, ``seed``, ``layer``, ``depth``, ``label``, ``dim``, ``betti``;
        the input's rows are left out here); may be empty.
    truth : one class's Betti numbers, dimensions 0 up.

    Returns
    -------
    ``(table, totals)``: one row per step with ``step``, ``points`` (in words), ``measured``
    and ``true`` (the input's Betti numbers, one tuple per cloud, joined), ``recovered``,
    ``last_b0`` and ``last_b1`` (means at each network's last hidden layer over networks and
    classes) and ``networks``; and one row per (step, network, label, depth) with ``total``,
    the sum of Betti numbers, the input at depth 0 under network "input".
    """
    inputs = pd.concat([read_input(X, y, reading, maxdim=maxdim, engine=engine) for reading in steps],
                       ignore_index=True)
    recovery = input_recovery(inputs, truth[: maxdim + 1], steps)
    layers = [read_networks(models, X, y, reading, maxdim=maxdim, engine=engine)
              for reading in steps if reading.networks == "tutorial"]
    for reading in steps:
        if reading.networks == "perfect" and len(perfect):
            rows = perfect[(perfect["depth"] > 0) & (perfect["dim"] <= maxdim)]
            layers.append(rows.assign(network=rows["activation"] + " " + rows["seed"].astype(str),
                                      step=reading.name)[["layer", "depth", "label", "dim", "betti", "network", "step"]])
    layers = pd.concat(layers, ignore_index=True)
    last = layers[layers["depth"] == layers.groupby(["step", "network"])["depth"].transform("max") - 1]
    at_last = last.pivot_table(index="step", columns="dim", values="betti", aggfunc="mean")
    order = [reading.name for reading in steps]
    by_step = recovery.groupby("step", sort=False)
    table = pd.DataFrame({
        "step": order,
        "points": [f"{r.n_points:,} {'per class' if r.per_class else 'pooled'}" for r in steps],
        "measured": by_step["measured"].agg(lambda v: " / ".join(map(str, v))).reindex(order).values,
        "true": by_step["true"].first().reindex(order).astype(str).values,
        "recovered": by_step["recovered"].all().reindex(order).values,
        "last_b0": at_last.get(0, pd.Series(dtype=float)).reindex(order).values,
        "last_b1": at_last.get(1, pd.Series(dtype=float)).reindex(order).values,
        "networks": layers.groupby("step")["network"].nunique().reindex(order).fillna(0).astype(int).values})
    totals = pd.concat([
        layers.groupby(["step", "network", "label", "depth"], as_index=False)["betti"].sum(),
        inputs.groupby(["step", "label"], as_index=False)["betti"].sum().assign(network="input", depth=0)],
        ignore_index=True).rename(columns={"betti": "total"})
    return table, totals

