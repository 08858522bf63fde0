"""Topology during training: a callback that measures a network at chosen epochs, and Chapter 3's runs.

:class:`TopologyRecorder` is a callback for :func:`tdnn_utils.training.fit`. At each chosen
epoch it reads every layer *after its activation* (:func:`tdnn_utils.cnn.block_activations`,
as tda-nn-analysis hooks its networks) and stores, as tidy tables:

- per layer and dimension (0 and 1): Vietoris-Rips persistence of a probe set's activations
  (Euclidean), summarised by total persistence (also divided by the layer's median distance,
  so layers of different scales compare), persistence entropy and the number of bars;
- optionally, the diagrams and Betti curves of the functional graph
  (:mod:`tdnn_utils.functional`) over a grid of epsilon in [0, cap], on a probe set of its
  own, and the same for the *shuffled-probe null* (every unit's signal permuted on its own).

Corneanu et al.'s reading of a diagram is reproduced by :func:`corneanu_curve` and
:func:`corneanu_peak` (what their ``visualise.py`` draws: bars that die before the cap,
longer than 0.02, curve over the bars' end points, moving average); :func:`peak_epsilon`
reads the plain Betti curve on a grid, with peaks at the cap marked censored.

Chapter 3 trains many networks; :func:`train_and_measure` is one network from start to finish
(a plain function of a JSON-able config and the data, so it runs in a worker process), and
:func:`run_cached` runs a list of them in parallel, saving each finished network to its own
file in a cache folder, so an interrupted run resumes and a re-run reuses what it has.
:func:`gap_predictions` is the 2020 paper's test: predict each network's generalisation gap
from features that need no test image, leaving out one architecture at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import functional, parallel, topology
from .cnn import block_activations
from .validation import check_columns, check_diagram, check_finite, check_inside, check_positive_int, slug

SUMMARY_COLUMNS = ["epoch", "block", "depth", "fraction", "dim", "total_persistence",
                   "normalised_persistence", "entropy", "bars"]
CURVE_COLUMNS = ["epoch", "graph", "reading", "dim", "epsilon", "betti"]
#: The two graphs the recorder measures, and the two readings of a diagram.
GRAPHS = ("measured", "shuffled probe")
READINGS = ("all bars", "Corneanu's reading")
#: Corneanu et al.'s ``visualise.py`` drops bars of persistence up to this before drawing.
CORNEANU_MIN_PERSISTENCE = 0.02


def _diagram_dims(diagrams, maxdim):
    return {dim: np.asarray(diagrams[dim], dtype=np.float64).reshape(-1, 2) for dim in range(maxdim + 1)}


class TopologyRecorder:
    """Record the topology of a network at chosen epochs (a :func:`~tdnn_utils.training.fit` callback).

    Parameters
    ----------
    probe : images (n_probe, channels, height, width) for the per-layer persistence, the same
        at every epoch.
    epochs : the epochs to measure (0 = before training); ``None`` measures every epoch.
    maxdim : highest homology dimension of the per-layer persistence (0, 1 or 2; 2 is slow).
    per_block : compute the per-layer persistence summaries.
    functional_graph : also compute the functional graph's diagrams and Betti curves.
    functional_probe : images for the functional graph (default: ``probe``); Corneanu et al.
        use 1,000 test images.
    shuffled_null : also measure the null graph of the same units with every unit's signal
        permuted on its own over the probe (:func:`tdnn_utils.functional.shuffle_signals`).
    max_units, cap, functional_maxdim, outputs : as in
        :func:`tdnn_utils.functional.functional_persistence`.
    grid_points : number of epsilon values of the Betti curves, from 0 to ``cap``.
    seed : seeds the subsampling of units and the shuffle.
    """

    def __init__(self, probe, *, epochs=None, maxdim: int = 1, per_block: bool = True,
                 functional_graph: bool = True, functional_probe=None, shuffled_null: bool = True,
                 max_units: int | None = 1000, cap: float = functional.DEFAULT_CAP,
                 functional_maxdim: int = 1, outputs: str = "log_softmax", grid_points: int = 61,
                 seed: int = 0):
        self.probe = _check_probe(probe, "probe")
        self.functional_probe = (self.probe if functional_probe is None
                                 else _check_probe(functional_probe, "functional_probe"))
        self.epochs = None if epochs is None else set(int(e) for e in epochs)
        if maxdim not in (0, 1, 2):
            raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or 2")
        if functional_maxdim not in range(functional.MAX_DIMENSION + 1):
            raise ValueError(f"functional_maxdim={functional_maxdim!r} is not allowed; "
                             f"use 0 to {functional.MAX_DIMENSION}")
        if outputs not in functional.OUTPUTS:
            raise ValueError(f"outputs={outputs!r} is unknown; use one of {functional.OUTPUTS}")
        if not (per_block or functional_graph):
            raise ValueError("per_block and functional_graph are both off: the recorder would measure nothing")
        if not 0 < cap <= 1:
            raise ValueError(f"cap={cap!r} must be in (0, 1]")
        if isinstance(grid_points, bool) or not isinstance(grid_points, (int, np.integer)) or grid_points < 2:
            raise ValueError(f"grid_points={grid_points!r} must be an integer >= 2 (epsilon from 0 to cap)")
        self.maxdim = maxdim
        self.per_block = per_block
        self.functional_graph = functional_graph
        self.shuffled_null = shuffled_null
        self.max_units, self.cap, self.functional_maxdim = max_units, cap, functional_maxdim
        self.outputs = outputs
        self.grid = np.linspace(0.0, cap, grid_points)
        self.seed = seed
        self.seconds = 0.0
        self._summaries: list[dict] = []
        self._curves: list[dict] = []
        self.diagrams: dict[int, dict[str, list[np.ndarray]]] = {}
        #: ``{epoch: {dim: diagram}}`` of the functional graph, and of its shuffled-probe null.
        self.functional_diagrams: dict[int, dict[int, np.ndarray]] = {}
        self.null_diagrams: dict[int, dict[int, np.ndarray]] = {}

    def __call__(self, model: torch.nn.Module, epoch: int) -> None:
        if self.epochs is not None and epoch not in self.epochs:
            return
        start = time.perf_counter()
        if self.per_block:
            activations = block_activations(model, self.probe)
            names = list(activations)
            self.diagrams[epoch] = {}
            for depth, name in enumerate(names):
                values = activations[name]
                diagrams = topology.persistence(values, maxdim=self.maxdim)
                self.diagrams[epoch][name] = diagrams
                scale = topology.median_distance(values) or 1.0
                for dim, diagram in enumerate(diagrams):
                    total = topology.total_persistence(diagram)
                    self._summaries.append({
                        "epoch": epoch, "block": name, "depth": depth,
                        "fraction": depth / max(1, len(names) - 1), "dim": dim,
                        "total_persistence": total, "normalised_persistence": total / scale,
                        "entropy": topology.persistence_entropy(diagram),
                        "bars": int(np.isfinite(diagram[:, 1]).sum())})
        if self.functional_graph:
            signals, _ = functional.model_signals(model, self.functional_probe, max_units=self.max_units,
                                                  seed=self.seed, outputs=self.outputs)
            graphs = [("measured", False)] + ([("shuffled probe", True)] if self.shuffled_null else [])
            for graph, shuffle in graphs:
                diagrams = _diagram_dims(functional.functional_persistence(
                    signals=signals, maxdim=self.functional_maxdim, cap=self.cap, seed=self.seed,
                    shuffle=shuffle), self.functional_maxdim)
                (self.null_diagrams if shuffle else self.functional_diagrams)[epoch] = diagrams
                for dim, diagram in diagrams.items():
                    self._curves += curve_rows(diagram, self.grid, epoch=epoch, graph=graph, dim=dim)
        self.seconds += time.perf_counter() - start

    @property
    def summaries(self) -> pd.DataFrame:
        """One row per (epoch, layer, dimension): :data:`SUMMARY_COLUMNS` (``block`` is the layer)."""
        return pd.DataFrame(self._summaries, columns=SUMMARY_COLUMNS)

    @property
    def functional_curves(self) -> pd.DataFrame:
        """The functional graph's Betti curves: one row per (epoch, graph, reading, dim, epsilon)."""
        return pd.DataFrame(self._curves, columns=CURVE_COLUMNS)


def _check_probe(probe, name):
    probe = np.asarray(probe, dtype=np.float32)
    if probe.ndim != 4 or len(probe) < 3:
        raise ValueError(f"{name} must be (n >= 3, channels, height, width); got shape {probe.shape}")
    if not np.isfinite(probe).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return probe


def curve_rows(diagram, grid, **keys) -> list[dict]:
    """Betti-curve rows of one diagram on ``grid``, in both readings (see :data:`READINGS`).

    "all bars" is the plain Betti curve; "Corneanu's reading" counts only the bars
    :func:`corneanu_bars` keeps (not smoothed: the smoothing acts on their end points, see
    :func:`corneanu_curve`).
    """
    rows = []
    for reading, bars in (("all bars", diagram), ("Corneanu's reading", corneanu_bars(diagram))):
        curve = topology.betti_curve(bars, grid)
        rows += [{**keys, "reading": reading, "epsilon": float(e), "betti": int(b)}
                 for e, b in zip(grid, curve)]
    return rows


# ---------------------------------------------------------------------------- readings
def corneanu_bars(diagram, min_persistence: float = CORNEANU_MIN_PERSISTENCE) -> np.ndarray:
    """The bars Corneanu et al.'s code keeps: finite (dying before the cap), longer than ``min_persistence``.

    Their ``read_pd`` keeps the pairs of the wanted dimension, which leaves out DIPHA's
    essential classes (the bars still alive at the cap), and drops bars of persistence up to
    ``min_persistence`` (``visualise.py`` passes 0.02).
    """
    bars = check_diagram(diagram)
    finite = np.isfinite(bars[:, 1])
    return bars[finite & (bars[:, 1] - bars[:, 0] > min_persistence)]


def corneanu_curve(diagram, min_persistence: float = CORNEANU_MIN_PERSISTENCE,
                   smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Corneanu et al.'s Betti curve: over the sorted end points of the kept bars, smoothed.

    As their ``pd2betti`` and ``visualise.py``: ``x`` are the births and deaths of
    :func:`corneanu_bars`, sorted; the curve at ``x[k]`` counts the bars born at or before it
    minus those dead at or before it; then a moving average over a tenth of the points,
    padded with zeros at both ends (``uniform_filter1d(..., mode="constant")``). Returns
    ``(x, curve)``, both empty when no bar is kept.
    """
    from scipy.ndimage import uniform_filter1d

    bars = corneanu_bars(diagram, min_persistence)
    if len(bars) == 0:
        return np.zeros(0), np.zeros(0)
    x = np.sort(np.concatenate([bars[:, 0], bars[:, 1]]))
    curve = (np.searchsorted(np.sort(bars[:, 0]), x, side="right")
             - np.searchsorted(np.sort(bars[:, 1]), x, side="right")).astype(np.float64)
    if smooth:
        curve = uniform_filter1d(curve, size=max(1, len(curve) // 10), mode="constant")
    return x, curve


def corneanu_peak(diagram, min_persistence: float = CORNEANU_MIN_PERSISTENCE,
                  smooth: bool = True) -> float:
    """Where :func:`corneanu_curve` is highest (their ``epsilon_max``); NaN when no bar is kept."""
    x, curve = corneanu_curve(diagram, min_persistence, smooth)
    return float(x[int(np.argmax(curve))]) if len(x) else float("nan")


def life_and_midlife(diagram, cap: float | None = None, *, reading: str = "all bars") -> tuple[float, float]:
    """Corneanu et al. (2020)'s summaries of one diagram: mean bar length and mean bar centre.

    ``reading="all bars"`` cuts the bars still alive at the filtration cap (death ``inf``) at
    ``cap``, as the capped computation sees them; ``"Corneanu's reading"`` uses only the bars
    of :func:`corneanu_bars`, as their ``visualise.py`` prints LIFE and MIDLIFE. The centre is
    (birth + death) / 2, the paper's definition (their ``pd2midlife`` computes
    ``mean(death + birth / 2)``, an operator-precedence slip). Returns ``(0.0, nan)`` for an
    empty diagram: no cavity lives, and there is no centre.
    """
    if reading not in READINGS:
        raise ValueError(f"reading={reading!r} is unknown; use one of {READINGS}")
    bars = check_diagram(diagram)
    if reading == "Corneanu's reading":
        bars = corneanu_bars(bars)
    elif np.isinf(bars[:, 1]).any():
        if cap is None:
            raise ValueError("the diagram has bars alive at the cap: give cap to cut them there")
        bars = np.column_stack([bars[:, 0], np.minimum(bars[:, 1], cap)])
    if len(bars) == 0:
        return 0.0, float("nan")
    return float((bars[:, 1] - bars[:, 0]).mean()), float(((bars[:, 1] + bars[:, 0]) / 2).mean())


def peak_epsilon(curves: pd.DataFrame, dim: int = 1) -> pd.DataFrame:
    """Per epoch, the epsilon where the Betti curve of ``dim`` is highest (NaN if it is all 0).

    ``censored`` is True when the curve reaches its maximum at the cap (its last epsilon):
    the curve may still rise beyond, so the peak is *at least* the value given (the cap).
    ``curves`` has columns ``epoch``, ``dim``, ``epsilon``, ``betti`` (one graph and reading).
    """
    rows = []
    for epoch, group in curves[curves["dim"] == dim].groupby("epoch"):
        group = group.sort_values("epsilon")
        betti = group["betti"].to_numpy()
        top = int(np.argmax(betti))
        rows.append({"epoch": epoch,
                     "peak_epsilon": float(group["epsilon"].iloc[top]) if betti[top] > 0 else np.nan,
                     "peak_betti": int(betti[top]),
                     "censored": bool(betti[top] > 0 and betti[-1] == betti[top])})
    frame = pd.DataFrame(rows, columns=["epoch", "peak_epsilon", "peak_betti", "censored"])
    frame.loc[frame["censored"], "peak_epsilon"] = float(curves["epsilon"].max()) if len(curves) else np.nan
    return frame


def depth_profiles(summaries: pd.DataFrame, epoch: int, by=("family", "seed"),
                   value: str = "normalised_persistence") -> pd.DataFrame:
    """Does each network's ``value`` fall then rise with depth at ``epoch``? One row per (``by``, dim).

    The layers are split by their fraction of the depth (0 = first layer, 1 = the logits) into
    thirds: ``early`` (fraction < 1/3), ``middle`` and ``late`` (fraction >= 2/3), each the mean
    of its layers' values. ``fall`` = log(early / middle), ``rise`` = log(late / middle), and
    ``both`` = min(fall, rise): positive when both ends lie above the middle.
    ``falls_then_rises`` says it. Fixed thirds, not the position of the minimum: the minimum of
    a flat but noisy profile is interior in most networks by chance alone.

    A missing value (NaN) is left out of its third; a network and dimension with a third left
    without any value gets no row (no verdict from no data). Infinite values are refused.
    """
    rows = []
    check_columns(summaries, [*by, "epoch", "dim", "fraction", value], "summaries",
                  numeric=["epoch", "dim", "fraction", value], complete=[*by, "epoch", "dim", "fraction"])
    if (check_finite(summaries[value], f"summaries[{value!r}]", allow_nan=True) < 0).any():
        raise ValueError(f"summaries[{value!r}] holds negative values; the thirds' means are compared by "
                         "their log ratio, so the values must be >= 0")
    at_epoch = summaries[summaries["epoch"] == epoch]
    for key, group in at_epoch.groupby(list(by) + ["dim"]):
        fraction, values = group["fraction"].to_numpy(), group[value].to_numpy(float)
        thirds = {"early": fraction < 1 / 3, "middle": (fraction >= 1 / 3) & (fraction < 2 / 3),
                  "late": fraction >= 2 / 3}
        if not all(third.any() for third in thirds.values()):
            raise ValueError(f"{key}: {len(group)} layers, too few for three thirds of the depth")
        parts = {name: values[third & ~np.isnan(values)] for name, third in thirds.items()}
        if any(len(v) == 0 for v in parts.values()):
            continue  # a third without any value: no reading of this network's profile
        means = {name: float(v.mean()) for name, v in parts.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            fall, rise = np.log(means["early"] / means["middle"]), np.log(means["late"] / means["middle"])
        rows.append({**dict(zip(list(by) + ["dim"], key)), **means, "fall": float(fall), "rise": float(rise),
                     "both": float(min(fall, rise)), "falls_then_rises": bool(fall > 0 and rise > 0)})
    return pd.DataFrame(rows, columns=list(by) + ["dim", "early", "middle", "late", "fall", "rise", "both",
                                              "falls_then_rises"])


# ---------------------------------------------------------------------------- Chapter 3's runs
#: Bump when :func:`train_and_measure` changes what it computes: cached results are then redone.
CACHE_VERSION = 3


def _bars_to_json(diagram) -> list:
    return [[float(b), None if np.isinf(d) else float(d)] for b, d in np.asarray(diagram).reshape(-1, 2)]


def bars_from_json(bars) -> np.ndarray:
    """A diagram stored by :func:`train_and_measure` (deaths ``None`` = alive at the cap) as an array."""
    return np.array([[b, np.inf if d is None else d] for b, d in bars], dtype=np.float64).reshape(-1, 2)


def train_and_measure(config: dict, data: dict) -> dict:
    """Train one network and measure it at the chosen epochs: one task of Chapter 3.

    ``config`` (JSON-able): ``family``, ``size``, ``dropout`` (None: the family's), ``p`` (the
    share of permuted training labels, :func:`tdnn_utils.images.corrupt_labels`), ``seed``,
    ``epochs``, ``batch_size``, ``optimizer``, ``lr``, ``lr_halving_epochs`` (optional: halve
    the learning rate every this many epochs), ``weight_decay``, ``device``, ``measure_epochs``, ``progress_epochs`` (where the training and test accuracies are
    recorded; default the measured epochs; the last epoch always), ``per_block`` (per-layer
    persistence on ``data["probe_depth"]``), ``functional`` (the functional graph and its
    shuffled-probe null on ``data["probe"]`` at the measured epochs), ``train_probe`` (after
    training, the functional graph on ``data["probe_train"]``, training images only),
    ``cap``, ``functional_maxdim``, ``max_units``, ``grid_points``.

    ``data``: ``X_train``, ``y_train`` (clean labels), ``X_test``, ``y_test`` and the probes.

    Returns a JSON-able dict: ``network`` (accuracies on the labels it was trained on, on the
    clean labels and on the test images, seconds), ``progress`` (training and test accuracy at
    each measured epoch), ``summaries`` (per-layer rows), ``curves`` (Betti curves, both
    graphs and readings, dims >= 1), ``diagrams`` (``{epoch: {dim: bars}}`` of the measured
    graph, dims >= 1) and ``train_probe`` (``{dim: bars}``).
    """
    from . import cnn, images
    from .training import accuracy, fit, seed_everything

    # worker processes get the arrays read-only (memory-mapped); torch wants writable ones
    data = {name: np.array(values) for name, values in data.items()}
    y_used, _ = images.corrupt_labels(data["y_train"], config["p"], seed=config["seed"])
    seed_everything(config["seed"])
    X_train = data["X_train"]
    model = cnn.build(config["family"], config["size"], num_classes=int(data["y_train"].max()) + 1,
                      in_channels=X_train.shape[1], image_size=X_train.shape[-1],
                      dropout=config.get("dropout"))
    measure = sorted(set(int(e) for e in config["measure_epochs"]) | {0, int(config["epochs"])})
    recorder = None
    if config.get("per_block") or config.get("functional"):
        recorder = TopologyRecorder(
            data["probe_depth"] if config.get("per_block") else data["probe"], epochs=measure,
            per_block=bool(config.get("per_block")), functional_graph=bool(config.get("functional")),
            functional_probe=data["probe"], max_units=config["max_units"], cap=config["cap"],
            functional_maxdim=config["functional_maxdim"], grid_points=config["grid_points"],
            seed=config["seed"])
    progress = []
    tracked = set(int(e) for e in config.get("progress_epochs", measure)) | {int(config["epochs"])}

    def track(model_, epoch):
        if epoch in tracked:
            progress.append({"epoch": epoch, "train_accuracy": accuracy(model_, X_train, y_used),
                             "test_accuracy": accuracy(model_, data["X_test"], data["y_test"])})

    halving = config.get("lr_halving_epochs")
    steps_per_epoch = -(-len(X_train) // min(int(config["batch_size"]), len(X_train)))
    start = time.perf_counter()
    fit(model, X_train, y_used, epochs=int(config["epochs"]), batch_size=config["batch_size"],
        lr=config["lr"], lr_halving_every=int(halving) * steps_per_epoch if halving else None,
        optimizer=config["optimizer"], weight_decay=config["weight_decay"],
        device=config["device"], seed=config["seed"], progress=False,
        callbacks=[c for c in (recorder, track) if c is not None])
    seconds = time.perf_counter() - start
    topology_seconds = recorder.seconds if recorder is not None else 0.0
    train_probe = {}
    if config.get("train_probe"):
        begin = time.perf_counter()
        signals, _ = functional.model_signals(model, data["probe_train"], max_units=config["max_units"],
                                              seed=config["seed"])
        diagrams = functional.functional_persistence(signals=signals, maxdim=config["functional_maxdim"],
                                                     cap=config["cap"])
        train_probe = {str(dim): _bars_to_json(d) for dim, d in enumerate(diagrams) if dim >= 1}
        topology_seconds += time.perf_counter() - begin
    final = progress[-1]
    network = {"family": config["family"], "size": config["size"], "p": config["p"],
               "seed": config["seed"], "epochs": int(config["epochs"]),
               "train_accuracy": final["train_accuracy"],
               "clean_train_accuracy": accuracy(model, X_train, data["y_train"]),
               "test_accuracy": final["test_accuracy"], "parameters": cnn.count_parameters(model),
               # training (and the accuracy checks at the measured epochs), without the topology
               "train_seconds": round(seconds - (recorder.seconds if recorder else 0.0), 3),
               "topology_seconds": round(topology_seconds, 3)}
    curves = recorder.functional_curves if recorder is not None else pd.DataFrame(columns=CURVE_COLUMNS)
    curves = curves[curves["dim"] >= 1]
    return {"network": network, "progress": progress,
            "summaries": recorder.summaries.to_dict("records") if recorder is not None else [],
            "curves": curves.to_dict("records"),
            "diagrams": {str(e): {str(d): _bars_to_json(bars) for d, bars in dims.items() if d >= 1}
                         for e, dims in (recorder.functional_diagrams.items() if recorder else [])},
            "train_probe": train_probe}


def fingerprint(data: dict) -> str:
    """A hash of the data arrays: a cached network is reused only for the same data."""
    digest = hashlib.sha1()
    for name in sorted(data):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(data[name]).tobytes())
    return digest.hexdigest()[:16]


def task_key(config: dict, data_fingerprint: str) -> str:
    """The cache key of one task: its config, the data, :data:`CACHE_VERSION`."""
    text = json.dumps([CACHE_VERSION, config, data_fingerprint], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


#: What every result of :func:`train_and_measure` holds; a cached file without them is redone.
RESULT_KEYS = ("network", "progress", "summaries", "curves", "diagrams", "train_probe")


def _read_cached(path: Path, required=()):
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or half-written by a killed run: compute again
    if required:
        lacking = ([key for key in required if key not in result] if isinstance(result, dict)
                   else list(required))
        if lacking:
            warnings.warn(f"{path}: the cached result lacks {', '.join(lacking)}; it is ignored and "
                          "the task computed again", RuntimeWarning, stacklevel=3)
            return None
    return result


def _write_atomic(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def _task(key, function, config, data, threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return key, function(config, data)
    finally:
        torch.set_num_threads(previous)


def run_cached(function, configs, data: dict, *, cache_dir=None, n_jobs: int = 1,
               threads: int | None = None, name=None, progress: bool = True,
               required=None) -> tuple[list[dict], dict]:
    """``function(config, data)`` for every config, in parallel, with a per-task cache.

    Each task's result is written to ``cache_dir/<name>-<key>.json`` as soon as it finishes
    (``key`` from :func:`task_key`: the config, a hash of ``data`` and :data:`CACHE_VERSION`);
    a task whose file exists is read, not recomputed, so an interrupted run resumes where it
    stopped. ``name(config)`` names the files (default: the config's family, p and seed).
    ``n_jobs`` > 1 runs tasks in that many worker processes (joblib); each task runs with
    ``threads`` torch threads (default 1: on a shared machine, two threads per process can be
    many times slower than one), which is not part of the cache key. Returns ``(results in the order of configs, counts)`` with counts
    ``{"computed", "reused"}``. File names are made safe (:func:`tdnn_utils.validation.slug`:
    no ``/`` or ``..`` from a config's values) and always lie inside ``cache_dir``.
    ``required``: keys every cached result must hold (default: :data:`RESULT_KEYS` for
    :func:`train_and_measure`, none otherwise); a file that parses but lacks one is
    recomputed, with a warning naming it.
    """
    from tqdm import tqdm

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer")
    if not callable(function):
        raise TypeError(f"function must be callable, function(config, data); got {type(function).__name__}")
    configs = list(configs)
    if not all(isinstance(c, dict) for c in configs):
        raise ValueError("configs must be dicts (JSON-able): one per task")
    if not isinstance(data, dict):
        raise ValueError(f"data must be a dict of arrays; got {type(data).__name__}")
    threads = int(threads or 1)
    required = (RESULT_KEYS if function is train_and_measure else ()) if required is None else tuple(required)
    name = name or (lambda c: f"{c.get('family', 'task')}-p{c.get('p', '')}-seed{c.get('seed', '')}")
    cache = None if not cache_dir else Path(cache_dir)
    data_print = fingerprint(data)
    keys = [task_key(c, data_print) for c in configs]
    paths = [None if cache is None else check_inside(cache / f"{slug(name(c))}-{k}.json", cache)
             for c, k in zip(configs, keys)]
    done = {}
    for key, path in zip(keys, paths):
        if path is not None and key not in done:
            cached = _read_cached(path, required)
            if cached is not None:
                done[key] = cached
    reused = len(done)
    pending = {}
    for key, config, path in zip(keys, configs, paths):
        if key not in done and key not in pending:
            pending[key] = (config, path)
    bar = tqdm(total=len(set(keys)), initial=reused, desc="networks", disable=not progress,
               mininterval=2.0)
    if n_jobs == 1 or len(pending) <= 1:  # no worker processes for one task or none (a cached re-run)
        results = (_task(key, function, config, data, threads) for key, (config, _) in pending.items())
    else:
        results = parallel.as_completed(
            _task, [(key, function, config, data, threads) for key, (config, _) in pending.items()], n_jobs)
    for key, result in results:
        done[key] = result
        if pending[key][1] is not None:
            _write_atomic(pending[key][1], result)
        bar.update(1)
    bar.close()
    return [done[key] for key in keys], {"computed": len(pending), "reused": reused}


def collect(results, keys=("family", "p", "seed"), cap: float = functional.DEFAULT_CAP) -> dict[str, pd.DataFrame]:
    """Tidy tables from :func:`train_and_measure` results, each row tagged with the network's ``keys``.

    Returns ``networks``, ``progress``, ``summaries``, ``curves``, ``peaks`` (per network,
    epoch, graph, dim and reading: ``peak_epsilon``, ``censored`` for "all bars", and
    ``bars`` the number of bars kept, for Corneanu's reading) and ``features`` (per network:
    ``life_k``, ``midlife_k`` and ``bars_k`` of each dimension k >= 1 of the training-probe
    graph, in Corneanu's reading). A dimension with no bar gets life 0 and midlife ``cap``:
    no cavity lives below the cap.
    """
    tables = {name: [] for name in ("networks", "progress", "summaries", "curves", "peaks", "features")}
    for result in results:
        tag = {k: result["network"][k] for k in keys}
        tables["networks"].append(result["network"])
        tables["progress"] += [{**tag, **row} for row in result["progress"]]
        tables["summaries"] += [{**tag, **row} for row in result["summaries"]]
        curves = pd.DataFrame(result["curves"], columns=CURVE_COLUMNS)
        tables["curves"].append(curves.assign(**tag))
        for (graph, dim), rows in curves[curves["reading"] == "all bars"].groupby(["graph", "dim"]):
            for peak in peak_epsilon(rows, dim).itertuples():
                tables["peaks"].append({**tag, "epoch": peak.epoch, "graph": graph, "dim": dim,
                                        "reading": "all bars", "peak_epsilon": peak.peak_epsilon,
                                        "peak_betti": peak.peak_betti, "censored": peak.censored})
        for epoch, dims in result["diagrams"].items():
            for dim, bars in dims.items():
                diagram = bars_from_json(bars)
                tables["peaks"].append({**tag, "epoch": int(epoch), "graph": "measured", "dim": int(dim),
                                        "reading": "Corneanu's reading", "peak_epsilon": corneanu_peak(diagram),
                                        "peak_betti": np.nan, "censored": False,
                                        "bars": int(len(corneanu_bars(diagram)))})
        if result["train_probe"]:
            row = dict(tag)
            for dim, bars in result["train_probe"].items():
                life, midlife = life_and_midlife(bars_from_json(bars), reading="Corneanu's reading")
                row[f"life_{dim}"], row[f"midlife_{dim}"] = life, (cap if np.isnan(midlife) else midlife)
                row[f"bars_{dim}"] = len(corneanu_bars(bars_from_json(bars)))
            tables["features"].append(row)
    out = {name: pd.DataFrame(rows) for name, rows in tables.items() if name != "curves"}
    curves = [c for c in tables["curves"] if len(c)]
    out["curves"] = (pd.concat(curves, ignore_index=True) if curves
                     else pd.DataFrame(columns=CURVE_COLUMNS + list(keys)))
    return out


# ---------------------------------------------------------------------------- the 2020 claim
def _linear_fit_predict(train_x, train_y, test_x):
    design = np.column_stack([np.ones(len(train_x)), train_x])
    coef, *_ = np.linalg.lstsq(design, train_y, rcond=None)
    return np.column_stack([np.ones(len(test_x)), test_x]) @ coef


def gap_predictions(table: pd.DataFrame, predictors: dict, *, target: str = "gap",
                    group: str = "family") -> pd.DataFrame:
    """Leave-one-``group``-out predictions of ``target`` by each predictor, for every row.

    ``predictors`` maps a name to a list of feature columns; an empty list is the trivial
    predictor "the mean of the other groups' ``target``". For each value of ``group`` (an
    architecture), a linear fit with intercept on the other groups' rows predicts that
    group's rows: the prediction must carry over to an architecture it has never seen.
    Returns ``table`` with ``pred_<name>`` and ``error_<name>`` (absolute error) columns.
    Missing values (NaN) leave their rows out of the fits; infinite ones are refused.
    """
    features = sorted({c for columns in predictors.values() for c in columns} | {target})
    check_columns(table, [group, *features], "table", numeric=features, complete=[group])
    for column in features:
        check_finite(table[column], f"table[{column!r}]", allow_nan=True)
    out = table.copy()
    groups = out[group].unique()
    if len(groups) < 2:
        raise ValueError(f"leave-one-{group}-out needs at least 2 values of {group!r}; got {list(groups)}")
    for name, columns in predictors.items():
        missing = set(columns) - set(out.columns)
        if missing:
            raise ValueError(f"predictor {name!r}: table lacks columns {sorted(missing)}")
        predicted = np.full(len(out), np.nan)
        for value in groups:
            test = (out[group] == value).to_numpy()
            train = ~test & out[target].notna().to_numpy()
            if columns:
                train &= out[columns].notna().all(axis=1).to_numpy()
            if not train.any():
                continue  # nothing to learn from: NaN predictions
            if columns:
                predicted[test] = _linear_fit_predict(out.loc[train, columns].to_numpy(float),
                                                      out.loc[train, target].to_numpy(float),
                                                      out.loc[test, columns].to_numpy(float))
            else:
                predicted[test] = out.loc[train, target].mean()
        out[f"pred_{name}"] = predicted
        out[f"error_{name}"] = np.abs(predicted - out[target].to_numpy(float))
    return out


# ---------------------------------------------------------------------------- preconditions
def lenet_preconditions(networks: pd.DataFrame, curves: pd.DataFrame, *, generalised: float,
                        memorised: float, memorise_p: float = 1.0, clean_p: float = 0.0) -> pd.DataFrame:
    """Per network, the preconditions of Corneanu et al.'s claims, checked on the run's own numbers.

    ``networks`` has ``p``, ``seed``, ``epochs`` (its last epoch), ``train_accuracy`` (on the
    labels it was trained on) and ``test_accuracy``; ``curves`` the functional graph's curves
    (:func:`collect`) of the same networks. Adds three booleans:

    - ``beyond_chance``: at epoch 0 and at the network's last epoch the measured β1 curve (all
      bars) rises above the shuffled probe's, so the graph holds more than chance correlations;
    - ``generalised``: a clean-label network (``p == clean_p``) with test accuracy of at
      least ``generalised``;
    - ``memorised``: a network at ``p == memorise_p`` with training accuracy of at least
      ``memorised`` on its permuted labels.
    """
    b1 = curves[(curves["dim"] == 1) & (curves["reading"] == "all bars")]
    b1 = b1.merge(networks[["p", "seed", "epochs"]], on=["p", "seed"])
    b1 = b1[(b1["epoch"] == 0) | (b1["epoch"] == b1["epochs"])]
    height = b1.groupby(["p", "seed", "epoch", "graph"])["betti"].max().unstack("graph")
    if "shuffled probe" not in height:
        height["shuffled probe"] = np.nan
    above = height["measured"] > height["shuffled probe"].fillna(-1)
    at_both = above.groupby(["p", "seed"]).agg(lambda v: bool(v.all()) and len(v) == 2).rename("beyond_chance")
    out = networks.join(at_both, on=["p", "seed"])
    out["beyond_chance"] = out["beyond_chance"].astype("boolean").fillna(False).astype(bool)
    out["generalised"] = np.isclose(out["p"], clean_p) & (out["test_accuracy"] >= generalised)
    out["memorised"] = np.isclose(out["p"], memorise_p) & (out["train_accuracy"] >= memorised)
    return out


def fitted_labels(networks: pd.DataFrame, threshold: float, *, clean_p: float = 0.0) -> pd.Series:
    """Per network, whether it met the precondition of a gap prediction: it fitted its labels.

    ``networks`` has ``p`` (the share of permuted training labels) and ``train_accuracy`` (on
    the labels it was trained on). A network trained on permuted labels (``p != clean_p``)
    fitted them when that accuracy is at least ``threshold``; a clean-label network needs no
    memorisation and always passes. Returns a boolean Series aligned with ``networks``.
    """
    missing = {"p", "train_accuracy"} - set(networks.columns)
    if missing:
        raise ValueError(f"networks lack columns {sorted(missing)}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold!r} must be a training accuracy in (0, 1]")
    clean = np.isclose(networks["p"].to_numpy(float), clean_p)
    return pd.Series(clean | (networks["train_accuracy"].to_numpy(float) >= threshold), index=networks.index,
                     name="fitted")


def profile_shape(fall: float, rise: float) -> str:
    """A depth profile in words, from :func:`depth_profiles`' ``fall`` (log early / middle) and
    ``rise`` (log late / middle): "falls then rises", "falls throughout", "rises throughout" or
    "rises then falls"; "flat" where either is exactly 0 or missing."""
    if not (np.isfinite(fall) and np.isfinite(rise)) or fall == 0 or rise == 0:
        return "flat"
    return {(True, True): "falls then rises", (True, False): "falls throughout",
            (False, True): "rises throughout", (False, False): "rises then falls"}[(fall > 0, rise > 0)]


def precondition_met(count: int, minimum: int, what: str) -> str | None:
    """``None`` when ``count`` networks meet a precondition and that is at least ``minimum``;
    otherwise the reason the claim is untestable, naming ``what`` was needed."""
    count, minimum = check_positive_int(count, "count", minimum=0), check_positive_int(minimum, "minimum", minimum=0)
    if count >= max(1, minimum):  # never met by no network at all, whatever the minimum
        return None
    return f"{count} network(s) {what}, fewer than {max(1, minimum)}"
