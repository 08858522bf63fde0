"""Chapter 1's networks: giotto-deep's entangled tori, read where the input reads right.

- :class:`Setup`: the data (``n_pts``, ``copies``), the points held out of training, the points
  per class whose Betti numbers are read, and the k scanned on the input;
- :func:`points`: the training, measured and held-out points and each class's known Betti
  numbers;
- :func:`problem`: the sweep's :class:`~tdnn_utils.sweep.Problem` with k in the middle of the
  window of k that reads the input right (:func:`tdnn_utils.readings.k_window`), every layer
  read at that k and at both ends of the window, each network's held-out accuracy recorded;
- :func:`train`: the networks of every activation, trained to 100% and read (one sweep per
  activation, as each has its own learning rate);
- :func:`training_table`: per activation, networks tried and at 100%, starts, epochs, held-out
  accuracy;
- :func:`tutorial_networks`: giotto-deep's tutorial, step by step: its small networks, their
  accuracy and the Betti numbers its reading gives;
- :func:`claim_rows`: the simplification claim's comparisons, Chapter 2's claim 1 measured the
  same way (:func:`tdnn_utils.simplification.claim_simplifies`), as Chapter 1's claim and family;
- :func:`exactly_simple`: per activation, the networks that end exactly at one piece without
  holes (reported beside the verdict, not as it);
- :func:`passing_by_dimension`: how many checked readings pass the trust checks on each Betti
  number alone (the rule judges them together; this says which one fails).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import datasets, readings, simplification, topology, trust, verdicts
from .models import FFNet, layer_activations
from .sweep import Problem, Protocol, SweepResult, combine, grid, run_sweep
from .training import fit, seed_everything
from .validation import check_positive_int

NAME = "entangled tori"
#: Chapter 1's claim and the family of comparisons its Holm correction runs over.
CLAIM = "ch1-simplifies"
FAMILY = "Chapter 1: the end reduction of components and holes, per activation"
#: Why an activation's comparisons are untestable when only the input may be read.
NOTHING_READABLE = simplification.UNREAD["input"]


@dataclass(frozen=True)
class Setup:
    """The entangled tori as Chapter 1 trains and reads them.

    Parameters
    ----------
    n_pts : giotto-deep's ``n_pts``: each torus has ``n_pts**2`` points (the tutorial: 50).
    copies : linked pairs per axis (giotto-deep's ``m``): ``copies**3`` tori per class.
    heldout_share : the share of each class's points held out of training (giotto-deep's
        trainer validates on 20%); each network's accuracy on them is reported.
    measure_points : points per class, drawn from the training points, whose Betti numbers
        are read in every layer (0: every training point).
    k_min, k_max : the k-NN sizes scanned on the input's measured points: the longest run of
        them that gives every class its known Betti numbers is the window, its middle the k
        every layer is read at, and every layer is read at both ends too.
    scale, maxdim : the Vietoris-Rips scale in hops and the highest dimension.
    trust_seeds : networks per activation whose every layer gets the metric's trust checks.
    seed : seeds the noise of the tori and the draws of held-out and measured points.
    """

    n_pts: int = 50
    copies: int = 2
    heldout_share: float = 0.2
    measure_points: int = 0
    k_min: int = 8
    k_max: int = 40
    scale: float = 2
    maxdim: int = 1
    trust_seeds: int = 5
    seed: int = 0

    def __post_init__(self):
        for name, minimum in (("n_pts", 3), ("copies", 1), ("k_min", 1), ("k_max", 1)):
            check_positive_int(getattr(self, name), f"Setup.{name}", minimum=minimum)
        for name in ("measure_points", "trust_seeds", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Setup.{name}={value!r} must be an integer >= 0")
        if self.k_max < self.k_min:
            raise ValueError(f"Setup.k_max={self.k_max!r} must be at least k_min={self.k_min!r}")
        if not 0 < self.heldout_share < 1:
            raise ValueError(f"Setup.heldout_share={self.heldout_share!r} must be in (0, 1)")
        if self.maxdim not in (0, 1, 2):
            raise ValueError(f"Setup.maxdim={self.maxdim!r} must be 0, 1 or 2")

    @property
    def truth(self) -> dict:
        """Each class's known Betti numbers, dimensions 0 to ``maxdim``."""
        return {label: betti[: self.maxdim + 1] for label, betti in datasets.entangled_tori_betti(self.copies).items()}


def _draw(labels: np.ndarray, per_class, rng) -> np.ndarray:
    """A boolean mask: ``per_class(n)`` points of each class (n its size), drawn without replacement."""
    mask = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        mask[rng.choice(members, min(per_class(len(members)), len(members)), replace=False)] = True
    return mask


def points(setup: Setup) -> dict:
    """The setup's points: ``all``, ``train``, ``measure`` and ``heldout`` as (X, y), and ``truth``.

    ``heldout_share`` of each class is held out of training; Betti numbers are read on
    ``measure_points`` of each class's training points (all of them when 0), in their order.
    """
    X, y = datasets.entangled_tori(n_pts=setup.n_pts, m=setup.copies, seed=setup.seed)
    rng = np.random.default_rng(setup.seed)
    held = _draw(y, lambda n: int(round(setup.heldout_share * n)), rng)
    X_train, y_train = X[~held], y[~held]
    measured = (_draw(y_train, lambda n: setup.measure_points, rng) if setup.measure_points
                else np.ones(len(y_train), bool))
    return {"all": (X, y), "train": (X_train, y_train), "measure": (X_train[measured], y_train[measured]),
            "heldout": (X[held], y[held]), "truth": setup.truth}


def problem(setup: Setup, data: dict | None = None, engine: str | None = None) -> tuple[Problem, pd.DataFrame, tuple | None]:
    """The sweep's problem, k chosen on the input's measured points.

    ``data`` is :func:`points`' result (made when None). Returns ``(problem, calibration,
    window)`` as :func:`tdnn_utils.simplification.problem` does: the window ``(k_low, k_high)``
    of :func:`tdnn_utils.readings.k_window` and its table (with ``data``); the problem reads
    every layer at k_low, the chosen k and k_high. With no window, k is ``k_min`` alone and
    ``window`` is None (nothing can be judged: the chapter says so).
    """
    data = points(setup) if data is None else data
    (X_train, y_train), (X_measure, y_measure) = data["train"], data["measure"]
    clouds = {label: X_measure[y_measure == label] for label in data["truth"]}
    window, chosen, table = readings.k_window(clouds, data["truth"], range(setup.k_min, setup.k_max + 1),
                                              scale=setup.scale, maxdim=setup.maxdim, engine=engine)
    k = chosen if window is not None else setup.k_min
    X_heldout, y_heldout = data["heldout"]
    return (Problem(NAME, X_train, y_train, X_measure, y_measure, k=int(k), scale=setup.scale,
                    maxdim=setup.maxdim, trust_seeds=setup.trust_seeds, engine=engine, k_window=window,
                    ks=None if window is None else (window[0], k, window[1]),
                    X_heldout=X_heldout, y_heldout=y_heldout),
            table.assign(data=NAME), window)


def train(problem: Problem, activations, seeds: int, hidden, *, epochs: int, batch_size: int, lr,
          lr_halving_epochs: int, max_attempts: int, device: str = "cpu", cache_dir=None,
          n_jobs: int = 1) -> SweepResult:
    """Every activation's networks (seeds 0 .. ``seeds`` - 1), trained to 100% and read.

    Adam on mini-batches of ``batch_size`` (the tutorial's optimiser; the paper trains full
    batch), the rate ``lr[activation]`` halved every ``lr_halving_epochs`` epochs, up to
    ``epochs`` epochs an attempt and ``max_attempts`` fresh starts, the whole training set
    checked for 100% once an epoch. Each activation's networks are cut into about two
    ensembles per worker, so the trust-checked seeds spread over the workers.
    """
    steps_per_epoch = int(np.ceil(len(problem.X_train) / check_positive_int(batch_size, "batch_size")))
    hidden = tuple(int(w) for w in hidden)
    architecture = f"{len(hidden)}×{hidden[0]}" if len(set(hidden)) == 1 else "×".join(map(str, hidden))
    results = []
    for activation in activations:
        protocol = Protocol(steps=epochs * steps_per_epoch, lr=lr[activation],
                            lr_halving_every=lr_halving_epochs * steps_per_epoch, max_attempts=max_attempts,
                            device=device, batch_size=batch_size, check_every=steps_per_epoch)
        specs = grid([problem.name], {architecture: hidden}, [activation], seeds)
        results.append(run_sweep(specs, {problem.name: problem}, protocol, cache_dir=cache_dir, n_jobs=n_jobs,
                                 ensemble_size=max(1, -(-seeds // (2 * n_jobs))), progress=False))
    return combine(results)


def training_table(networks: pd.DataFrame, steps_per_epoch: int) -> pd.DataFrame:
    """Per activation: networks tried and at 100%, starts, median epochs, held-out accuracy of
    the networks at 100% (mean and lowest), CPU minutes of training and of the readings."""
    def at_100(column, how):
        return (column, lambda a: getattr(a[networks.loc[a.index, "perfect"]], how)())

    return (networks.groupby("activation", sort=False)
            .agg(networks=("seed", "size"), perfect=("perfect", "sum"), attempts=("attempts", "sum"),
                 median_epochs=("steps", lambda s: float(np.median(s)) / steps_per_epoch),
                 heldout=at_100("heldout_accuracy", "mean"), heldout_min=at_100("heldout_accuracy", "min"),
                 train_minutes=("train_seconds", lambda t: t.sum() / 60),
                 topology_minutes=("topology_seconds", lambda t: t.sum() / 60))
            .reset_index())


def tutorial_networks(X, y, activations, seeds: int, *, epochs: int, points: int, threshold: float,
                      device: str = "cpu") -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """giotto-deep's tutorial: a ``[3, 5, 5, 5, 2]`` network per activation and seed, read its way.

    Adam at 0.01 on batches of 200 for ``epochs`` epochs (leaky ReLU with PyTorch's slope 0.01,
    as the tutorial's ``F.leaky_relu``); then ``points`` points pooled over both classes (each
    seed its own draw) read before the activation at one Euclidean ``threshold``. Returns
    ``(models, runs, betti)``: ``{(activation, seed): model}``, one row per network with
    ``all_points_accuracy``, and the tidy Betti table with ``activation`` and ``seed``.
    """
    models, runs, tables = {}, [], []
    for activation in activations:
        for seed in range(seeds):
            seed_everything(seed)
            model = FFNet([3, 5, 5, 5, 2], activation, negative_slope=0.01)
            history = fit(model, X, y, epochs=epochs, batch_size=200, lr=0.01, device=device, seed=seed,
                          progress=False)
            models[(activation, seed)] = model.cpu()
            runs.append({"activation": activation, "seed": seed, "all_points_accuracy": history.final_accuracy})
            batch = np.random.default_rng(seed).choice(len(X), points, replace=False)
            layers = layer_activations(model, X[batch], stage="pre")
            table = topology.betti_by_layer(layers, np.zeros(points, dtype=int), threshold, maxdim=1)
            tables.append(table.assign(activation=activation, seed=seed))
    return models, pd.DataFrame(runs), pd.concat(tables, ignore_index=True)


def claim_rows(kept, *, claim: str = CLAIM, family: str = FAMILY) -> list[dict]:
    """The simplification claim's comparisons on Chapter 1's networks, for :func:`tdnn_utils.verdicts.judge`.

    ``kept`` holds the networks' readings at one k on the depths that may be read, one table or
    ``{"components": table, "holes": table}`` (each part on the layers trusted for it:
    :func:`tdnn_utils.trust.part_checks`). Per activation and part, Chapter 2's comparison of
    claim 1 (:func:`tdnn_utils.simplification.claim_simplifies`: the mean end reduction against
    ``simplification.CLAIMS["C1"]``'s deltas, each network a unit; untestable where neither of
    the last two layers may be read), labelled ``claim`` and ``family``.
    """
    return [{**row, "family": family, "claim": claim} for row in simplification.claim_simplifies(kept)]


def exactly_simple(ends: pd.DataFrame) -> pd.DataFrame:
    """Per activation: networks whose every class ends as one piece without holes, of how many,
    the share and its 95% Wilson interval. ``ends`` is :func:`tdnn_utils.readings.end_reduction`'s."""
    rows = []
    for activation, group in ends.groupby("activation", sort=False):
        low, high = verdicts.wilson_interval(int(group["simple"].sum()), len(group))
        rows.append({"activation": activation, "simple": int(group["simple"].sum()), "networks": len(group),
                     "share": group["simple"].mean(), "low": low, "high": high})
    return pd.DataFrame(rows, columns=["activation", "simple", "networks", "share", "low", "high"])


def passing_by_dimension(checks: pd.DataFrame) -> pd.DataFrame:
    """Per dimension d: the share of checked readings whose beta_d alone passes the trust checks.

    ``checks`` as the sweep keeps them (:func:`tdnn_utils.trust.check_network`'s columns). A
    reading's beta_d passes when it is possible in the layer's width and within
    :func:`tdnn_utils.trust.close` of its readings at both ends of the window and of the
    cross-check. Returns columns ``dim``, ``readings``, ``passing`` (a share); for telling which
    Betti number makes a reading fail, not a rule of its own.
    """
    rows = []
    dims = len(checks["betti"].iloc[0]) if len(checks) else 0
    for d in range(dims):
        passed = [(d == 0 or d < check.width or check.betti[d] == 0)
                  and all(trust.close([check.betti[d]], [other[d]])
                          for other in (check.betti_k_low, check.betti_k_high, check.betti_cross))
                  for check in checks.itertuples(index=False)]
        rows.append({"dim": d, "readings": len(passed), "passing": float(np.mean(passed))})
    return pd.DataFrame(rows, columns=["dim", "readings", "passing"])

