"""Sweeps over (data set, architecture, activation, seed), as Naitzat et al. run them.

Each network is trained to 100% training accuracy (fresh starts allowed, counted), then the
Betti numbers of each class are measured on every layer with one fixed metric. Networks of
one (problem, hidden widths, activation) are trained together, as one batched model of up
to ``ensemble_size`` members (:func:`tdnn_utils.ensemble.fit_ensemble`: each member trains,
stops and restarts exactly as it would alone). The sweep runs these ensembles in parallel
(joblib's process pool on one machine, or a Dask cluster), and saves every network to its
own file in a cache folder as soon as its ensemble finishes: an interrupted sweep resumes
where it stopped, and a re-run with the same parameters reuses what is there.

- :class:`Problem`: one data set as the sweep sees it (training points, measured points, metric).
- :class:`Protocol`: the training protocol (full-batch Adam, step decay, attempts).
- :class:`NetworkSpec`: one network of the sweep; :func:`grid` makes them.
- :func:`measure`: what is measured on one trained network (Betti rows of every layer).
- :func:`train_and_measure_ensemble`: networks of one architecture, trained together, then
  measured one by one (what a worker runs); :func:`train_and_measure`: one network.
- :func:`run_sweep`: all of them, with a progress bar, cache and back end;
  :func:`run_sweep_until`: more seeds (:func:`next_seeds`) until enough reach 100%.

What an abandon rule would do to the attempts a sweep records: :mod:`tdnn_utils.attempt_rules`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
# Plain tqdm: a text bar, so executed chapters hold no widget state to load from a CDN.
from tqdm import tqdm

from . import parallel, topology
from .ensemble import LR_DECAYS, AbandonRule, fit_ensemble
from . import trust as trust_checks
from .models import ACTIVATIONS, INITS, FFNet, layer_activations
from .training import accuracy
from .validation import check_inside, check_labels, check_positive_int, check_positive_number, slug

BACKENDS = ("loky", "dask")
NETWORK_COLUMNS = ["problem", "architecture", "hidden", "activation", "seed", "perfect",
                   "final_accuracy", "heldout_accuracy", "attempts", "steps", "train_seconds",
                   "topology_seconds", "key"]
BETTI_COLUMNS = ["problem", "architecture", "activation", "seed", "layer", "depth",
                 "n_layers", "label", "k", "dim", "betti"]
TRUST_COLUMNS = ["problem", "architecture", "activation", "seed", *trust_checks.CHECK_COLUMNS]
#: One row per training attempt (:class:`~tdnn_utils.ensemble.AttemptRecord`): ``seed`` is
#: the network's, ``attempt_seed`` the attempt's;
#: ``check_steps``, ``check_accuracy`` and ``check_best`` are lists, one value per patience check.
ATTEMPT_COLUMNS = ["problem", "architecture", "activation", "seed", "attempt", "attempt_seed",
                   "steps", "ended", "reached_perfect", "final_accuracy", "check_steps",
                   "check_accuracy", "check_best"]


@dataclass(frozen=True, eq=False)
class Problem:
    """One data set as the sweep sees it.

    Parameters
    ----------
    name : a short name (e.g. "D-I"), used in tables and cache folders.
    X_train, y_train : training points (n_train, n_features) and int labels (n_train,).
    X_measure, y_measure : the points whose Betti numbers are measured on every layer
        (the paper's homology subset).
    k, scale, maxdim : the metric, fixed on the input and kept for every layer: hop counts
        in the symmetrised k-NN graph, Vietoris-Rips complex at ``scale`` hops, dimensions
        0 to ``maxdim``.
    trust_seeds : networks with a seed below this also get the metric's trust checks on
        every layer (:func:`tdnn_utils.trust.check_network`; about four times the cost of
        measuring them).
    k_window : the other values of k the input allows, ``(k_low, k_high)``
        (:func:`tdnn_utils.trust.input_window`), for the trust checks' stability; None: k
        * 0.75 and k * 1.25.
    engine : the persistence engine for the Betti numbers ("giotto-ph", "gudhi" or None for
        the default); engines give the same answers, so it is not part of the fingerprint.
    ks : the k every layer is read at (e.g. the chosen k and both ends of the input's window,
        for the verdicts' k robustness); None: ``k`` alone. ``k`` must be among them.
    X_heldout, y_heldout : points the networks do not train on (the authors' points left
        out of training), on which each network's accuracy is reported; None: none.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_measure: np.ndarray
    y_measure: np.ndarray
    k: int
    scale: float = 2.5
    maxdim: int = 1
    trust_seeds: int = 0
    engine: str | None = None
    k_window: tuple | None = None
    ks: tuple | None = None
    X_heldout: np.ndarray | None = None
    y_heldout: np.ndarray | None = None

    def __post_init__(self):
        for part in ("train", "measure"):
            X = topology.check_point_cloud(getattr(self, f"X_{part}"), name=f"X_{part}")
            y = np.asarray(getattr(self, f"y_{part}"))
            if y.shape != (len(X),):
                raise ValueError(f"{self.name}: y_{part} has shape {y.shape}; expected ({len(X)},)")
            y = check_labels(y, len(X), name=f"y_{part}")  # whole class numbers, never truncated
            object.__setattr__(self, f"X_{part}", X.astype(np.float32))
            object.__setattr__(self, f"y_{part}", y.astype(np.int64))
        if self.X_train.shape[1] != self.X_measure.shape[1]:
            raise ValueError(f"{self.name}: X_train has {self.X_train.shape[1]} features but "
                             f"X_measure has {self.X_measure.shape[1]}")
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"{self.name}: k={self.k!r} must be a positive integer")
        if not isinstance(self.trust_seeds, (int, np.integer)) or self.trust_seeds < 0:
            raise ValueError(f"{self.name}: trust_seeds={self.trust_seeds!r} must be an integer >= 0")
        check_positive_int(self.k, "k")
        object.__setattr__(self, "scale", check_positive_number(self.scale, "scale"))
        check_positive_int(self.maxdim, "maxdim", minimum=0, maximum=topology.MAX_DIMENSION)
        if self.ks is not None:
            ks = tuple(check_positive_int(k, f"{self.name}: ks") for k in self.ks)
            if self.k not in ks:
                raise ValueError(f"{self.name}: ks={self.ks!r} must be positive integers that include k={self.k}")
            object.__setattr__(self, "ks", tuple(sorted(set(ks))))
        if (self.X_heldout is None) != (self.y_heldout is None):
            raise ValueError(f"{self.name}: give both X_heldout and y_heldout, or neither")
        if self.X_heldout is not None:
            X = topology.check_point_cloud(self.X_heldout, name="X_heldout", min_points=1)
            y = check_labels(self.y_heldout, name="y_heldout")
            if y.shape != (len(X),) or X.shape[1] != self.X_train.shape[1]:
                raise ValueError(f"{self.name}: X_heldout {X.shape} and y_heldout {y.shape} must be "
                                 f"(n, {self.X_train.shape[1]}) and (n,)")
            object.__setattr__(self, "X_heldout", X.astype(np.float32))
            object.__setattr__(self, "y_heldout", y.astype(np.int64))

    @property
    def read_ks(self) -> tuple:
        """The k every layer is read at."""
        return self.ks or (int(self.k),)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def fingerprint(self) -> str:
        """A hash of the data and the metric: a cached network is reused only for the same."""
        digest = hashlib.sha1()
        arrays = [self.X_train, self.y_train, self.X_measure, self.y_measure]
        if self.X_heldout is not None:  # fields added later enter only when set: old keys hold
            arrays += [self.X_heldout, self.y_heldout]
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
        identity = [self.name, int(self.k), float(self.scale), int(self.maxdim), int(self.trust_seeds),
                    None if self.k_window is None else [int(k) for k in self.k_window]]
        if self.ks is not None:
            identity.append(list(self.ks))
        digest.update(json.dumps(identity).encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Protocol:
    """How every network of a sweep is trained (Naitzat et al.: full-batch Adam, step decay).

    ``steps`` is the budget of one attempt; ``max_attempts`` fresh starts are allowed to
    reach exactly 100% training accuracy. ``lr`` is halved every ``lr_halving_every`` steps.
    ``init`` is "torch" or "glorot" (the authors' TensorFlow default); ``patience`` abandons an
    attempt whose best accuracy has not risen over that many steps (the authors' trainer;
    None: never). ``device`` is "cpu", "cuda", "mps" or "auto". ``batch_size`` (None: full
    batch, the paper's) trains on mini-batches instead. ``check_every`` says how often the
    whole training set is checked for 100% (mini-batches; and full batch, where values above 1
    follow the authors' trainer: accuracy counts only at its checks, see
    :func:`~tdnn_utils.ensemble.fit_ensemble`). ``lr_decay`` is "step" or "continuous" (the
    authors' TensorFlow ``exponential_decay``). ``abandon_rule`` (an
    :class:`~tdnn_utils.ensemble.AbandonRule`, needs ``patience``) also abandons attempts
    whose best accuracy lies below its thresholds at the patience checks. At their defaults
    these four leave a network's cache key as it was before they existed.
    """

    steps: int = 10_000
    lr: float = 0.01
    lr_halving_every: int = 2_500
    max_attempts: int = 3
    negative_slope: float = 0.2
    device: str = "cpu"
    init: str = "torch"
    patience: int | None = None
    batch_size: int | None = None
    check_every: int = 1
    abandon_rule: AbandonRule | None = None
    lr_decay: str = "step"

    def __post_init__(self):
        for name in ("steps", "lr_halving_every", "max_attempts", "check_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Protocol.{name}={value!r} must be a positive integer")
        if self.patience is not None and (isinstance(self.patience, bool) or not isinstance(
                self.patience, (int, np.integer)) or self.patience < 1):
            raise ValueError(f"Protocol.patience={self.patience!r} must be a positive integer or None")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, (int, np.integer)) or self.batch_size < 1):
            raise ValueError(f"Protocol.batch_size={self.batch_size!r} must be a positive integer or None")
        if not self.lr > 0:
            raise ValueError(f"Protocol.lr={self.lr!r} must be positive")
        if self.init not in INITS:
            raise ValueError(f"Protocol.init={self.init!r} is unknown; use one of {INITS}")
        if self.abandon_rule is not None and not isinstance(self.abandon_rule, AbandonRule):
            raise ValueError(f"Protocol.abandon_rule={self.abandon_rule!r} must be an AbandonRule or None")
        if self.abandon_rule is not None and self.patience is None:
            raise ValueError("Protocol.abandon_rule is applied at the patience checks; set patience too")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"Protocol.lr_decay={self.lr_decay!r} is unknown; use one of {LR_DECAYS}")


@dataclass(frozen=True)
class NetworkSpec:
    """One network of a sweep: which data, which hidden widths, which activation, which seed."""

    problem: str
    architecture: str
    hidden: tuple = field(default=(15,) * 9)
    activation: str = "relu"
    seed: int = 0

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is unknown; use one of {sorted(ACTIVATIONS)}")
        hidden = tuple(int(w) for w in self.hidden)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"{self.architecture}: hidden widths {self.hidden!r} must be positive")
        object.__setattr__(self, "hidden", hidden)

    def key(self, problem: Problem, protocol: Protocol) -> str:
        """The cache key: this network, the problem's data and metric, the protocol."""
        text = json.dumps([asdict(self), problem.fingerprint(), _protocol_identity(protocol)],
                          sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:20]


def _protocol_identity(protocol: Protocol) -> dict:
    """The protocol's fields for the cache key; ``batch_size``, ``check_every``,
    ``abandon_rule`` and ``lr_decay`` only when they differ from their defaults, so that caches
    made before they existed stay valid."""
    fields = asdict(protocol)
    for name, default in (("batch_size", None), ("check_every", 1), ("abandon_rule", None), ("lr_decay", "step")):
        if fields[name] == default:
            del fields[name]
    return fields


def grid(problems: Sequence[str], architectures: Mapping[str, Sequence[int]],
         activations: Sequence[str], seeds) -> list[NetworkSpec]:
    """Every combination of problem, architecture (name -> hidden widths), activation, seed.

    ``seeds`` is a number of seeds (0, 1, ...) or the seeds themselves, integers >= 0.
    """
    if isinstance(seeds, (int, np.integer, bool, np.bool_)):
        seeds = range(check_positive_int(seeds, "seeds (a number of seeds)", minimum=0))
    if not hasattr(seeds, "__iter__") or isinstance(seeds, (str, bytes)):
        raise ValueError(f"seeds={seeds!r} must be a number of seeds or a list of seeds (integers >= 0)")
    seeds = [check_positive_int(seed, "seed", minimum=0) for seed in seeds]
    return [NetworkSpec(problem, name, tuple(architectures[name]), activation, int(seed))
            for problem, name, activation, seed
            in itertools.product(problems, architectures, activations, seeds)]


def measure(model: FFNet, problem: Problem, check: bool = False) -> tuple[list[dict], list[dict]]:
    """What the sweep measures on one trained network: Betti rows of every layer, and checks.

    Betti numbers of each class of ``problem.X_measure`` on every layer's output (input,
    hidden layers after their activation, logits), with the problem's fixed metric at each of
    its ``read_ks``. Returns ``(betti_rows, trust_rows)``, JSON-ready: the columns of
    :func:`tdnn_utils.topology.betti_by_layer` (``layer``, ``depth``, ``label``, ``k``, ``dim``,
    ``betti``), and with ``check`` the metric's trust checks of every layer
    (:func:`tdnn_utils.trust.check_network`; empty otherwise).
    """
    layers = layer_activations(model, problem.X_measure)
    table = topology.betti_by_layer(layers, problem.y_measure, problem.scale, ks=problem.read_ks,
                                    maxdim=problem.maxdim, engine=problem.engine)
    checks = []
    if check:
        k_low, k_high = trust_checks.stability_ks(problem.k, problem.k_window)
        checks = trust_checks.check_network(layers, problem.y_measure, k=problem.k,
                                            scale=problem.scale, maxdim=problem.maxdim,
                                            betti=table, k_low=k_low, k_high=k_high,
                                            engine=problem.engine).to_dict("records")
    return table.to_dict("records"), checks


def train_and_measure_ensemble(specs: Sequence[NetworkSpec], problem: Problem,
                               protocol: Protocol, threads: int = 1) -> list[dict]:
    """Train networks of one architecture together to 100% (or out of attempts), then measure each.

    ``specs`` share the problem, hidden widths and activation, and differ in seed; they are
    trained as one :func:`~tdnn_utils.ensemble.fit_ensemble` (each member exactly as
    ``fit_until_perfect`` would train it alone), then every network that reached 100% is
    measured with :func:`measure`. Runs with ``threads`` torch threads (restored
    afterwards), so parallel workers do not compete for cores.

    Returns one record per spec, in order: ``{"network": {...}, "betti": [rows], "trust":
    [rows], "attempts": [one dict per attempt]}``, JSON-ready; a network that never reached
    100% has no Betti rows, as the paper discards it. ``train_seconds`` is the network's share of the ensemble's training time (each
    step's time split equally among the networks still training at that step);
    ``topology_seconds`` is its own measurement time.
    """
    specs = list(specs)
    if not specs:
        raise ValueError("specs is empty; give at least one network")
    for spec in specs:
        if spec.problem != problem.name:
            raise ValueError(f"spec is for problem {spec.problem!r} but got {problem.name!r}")
    shapes = {(spec.hidden, spec.activation) for spec in specs}
    if len(shapes) > 1:
        raise ValueError(f"an ensemble has one architecture and activation; got {sorted(shapes)}")
    hidden, activation = shapes.pop()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        widths = [problem.n_features, *hidden, int(problem.y_train.max()) + 1]
        members = fit_ensemble(
            widths, activation, problem.X_train, problem.y_train, [spec.seed for spec in specs],
            steps=protocol.steps, lr=protocol.lr, lr_halving_every=protocol.lr_halving_every,
            max_attempts=protocol.max_attempts, device=protocol.device,
            negative_slope=protocol.negative_slope, init=protocol.init,
            patience=protocol.patience, abandon_rule=protocol.abandon_rule,
            batch_size=protocol.batch_size, check_every=protocol.check_every, lr_decay=protocol.lr_decay,
            progress=False)
        records = []
        for spec, member in zip(specs, members):
            start = time.perf_counter()
            betti_rows, trust_rows = (measure(member.model, problem, spec.seed < problem.trust_seeds)
                                      if member.reached_perfect else ([], []))
            topology_seconds = time.perf_counter() - start
            heldout = (accuracy(member.model, problem.X_heldout, problem.y_heldout)
                       if problem.X_heldout is not None else None)
            network = {"problem": spec.problem, "architecture": spec.architecture,
                       "hidden": "×".join(map(str, spec.hidden)), "activation": spec.activation,
                       "seed": spec.seed, "perfect": bool(member.reached_perfect),
                       "final_accuracy": round(float(member.final_accuracy), 6),
                       "heldout_accuracy": None if heldout is None else round(float(heldout), 6),
                       "attempts": int(member.attempts), "steps": int(member.steps),
                       "train_seconds": round(member.train_seconds, 3),
                       "topology_seconds": round(topology_seconds, 3)}
            records.append({"network": network, "betti": betti_rows, "trust": trust_rows,
                            "attempts": [record.as_dict() for record in member.attempt_records]})
    finally:
        torch.set_num_threads(previous_threads)
    return records


def train_and_measure(spec: NetworkSpec, problem: Problem, protocol: Protocol,
                      threads: int = 1) -> dict:
    """One network, start to finish: :func:`train_and_measure_ensemble` of one member."""
    return train_and_measure_ensemble([spec], problem, protocol, threads)[0]


@dataclass
class SweepResult:
    """A finished sweep: one row per network, and the tidy Betti table of the perfect ones.

    ``networks`` has :data:`NETWORK_COLUMNS`; ``betti`` has :data:`BETTI_COLUMNS`
    (``depth`` 0 is the input, ``n_layers`` is the network's last depth, the logits);
    ``trust`` has :data:`TRUST_COLUMNS`, the checks of the networks with a seed below their
    problem's ``trust_seeds``; ``attempts`` has :data:`ATTEMPT_COLUMNS`, one row per training
    attempt (none for networks cached before attempts were recorded). ``computed`` and
    ``reused`` count networks trained now and read from the cache.
    """

    networks: pd.DataFrame
    betti: pd.DataFrame
    computed: int
    reused: int
    trust: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRUST_COLUMNS))
    attempts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ATTEMPT_COLUMNS))


def _cache_path(cache_dir: Path, spec: NetworkSpec, key: str) -> Path:
    """``cache_dir/<problem>/<architecture>-<activation>-<seed>-<key>.json``, every name made
    safe (:func:`tdnn_utils.validation.slug`: no ``/``, ``..`` or absolute path from a name; the
    key, a hash of the names, keeps apart names with one slug) and checked to lie inside
    ``cache_dir``. Names that are safe already (``D-I``, ``9×15``) are kept as they are."""
    path = (Path(cache_dir) / slug(spec.problem)
            / f"{slug(spec.architecture)}-{slug(spec.activation)}-{slug(spec.seed)}-{slug(key)}.json")
    return check_inside(path, cache_dir)


def _write_atomic(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves no temporary file


#: What a cached network record must hold to be reused (see :func:`train_and_measure_ensemble`).
#: ``final_accuracy`` and ``heldout_accuracy`` are optional: records cached before they were kept
#: read as NaN there.
_NETWORK_FIELDS = [c for c in NETWORK_COLUMNS if c not in ("key", "final_accuracy", "heldout_accuracy")]
_BETTI_FIELDS = ("layer", "depth", "label", "dim", "betti")


def _cache_problem(record) -> str | None:
    """Why ``record`` is not a usable cached network (None when it is)."""
    if not isinstance(record, dict):
        return f"it holds a {type(record).__name__}, not a record"
    lacking = [k for k in ("network", "betti") if k not in record]
    if lacking:
        return f"it lacks {', '.join(lacking)}"
    network, betti, trust = record["network"], record["betti"], record.get("trust", [])
    attempts = record.get("attempts", [])  # absent from records cached before it was kept
    if not isinstance(network, dict):
        return "its network is not a mapping"
    lacking = [k for k in _NETWORK_FIELDS if k not in network]
    if lacking:
        return f"its network lacks {', '.join(lacking)}"
    if not isinstance(betti, list) or not all(isinstance(r, dict) and all(k in r for k in _BETTI_FIELDS)
                                              for r in betti):
        return f"its betti rows are not a list of rows with {', '.join(_BETTI_FIELDS)}"
    if not isinstance(trust, list) or not all(isinstance(r, dict) for r in trust):
        return "its trust rows are not a list of rows"
    if not isinstance(attempts, list) or not all(isinstance(r, dict) for r in attempts):
        return "its attempts are not a list of rows"
    return None


def _read_cached(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or a half-written file from a killed run: compute again
    problem = _cache_problem(record)
    if problem is not None:
        warnings.warn(f"{path}: not a usable cached network ({problem}); it is ignored and the "
                      "network computed again", RuntimeWarning, stacklevel=3)
        return None
    return record


def _check_sweep_input(specs, problems, protocol, cache_dir):
    """run_sweep's arguments, checked before anything runs (see :func:`run_sweep`)."""
    if isinstance(specs, (str, bytes, NetworkSpec)):
        raise ValueError(f"specs must be a list of NetworkSpec (see grid()); got {type(specs).__name__}")
    specs = list(specs)
    for spec in specs:
        if not isinstance(spec, NetworkSpec):
            raise ValueError(f"specs must hold NetworkSpec instances (see grid()); got {type(spec).__name__}")
        if isinstance(spec.seed, bool) or not isinstance(spec.seed, (int, np.integer)) or spec.seed < 0:
            raise ValueError(f"{spec.architecture}: seed={spec.seed!r} must be an integer >= 0")
        for field_name in ("problem", "architecture"):
            if not isinstance(getattr(spec, field_name), str) or not getattr(spec, field_name):
                raise ValueError(f"NetworkSpec.{field_name}={getattr(spec, field_name)!r} must be a "
                                 "non-empty string")
    if not isinstance(problems, Mapping):
        raise ValueError(f"problems must map problem names to Problem; got {type(problems).__name__}")
    for name, problem in problems.items():
        if not isinstance(problem, Problem):
            raise ValueError(f"problems[{name!r}] must be a Problem; got {type(problem).__name__}")
    for name in dict.fromkeys(spec.problem for spec in specs):
        if name in problems and problems[name].name != name:
            raise ValueError(f"problems[{name!r}] is the problem named {problems[name].name!r}; "
                             "key and name must agree")
    if not isinstance(protocol, Protocol):
        raise ValueError(f"protocol must be a Protocol; got {type(protocol).__name__}")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise ValueError(f"cache_dir={cache_dir!r} must be a folder path or None")
    if cache_dir is not None and str(cache_dir) == "":
        raise ValueError("cache_dir='' is not a folder; give a path, or None to keep nothing")
    return specs, problems, cache_dir


def _check_backend(backend, n_jobs, ensemble_size):
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is unknown; use one of {BACKENDS}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer")
    if (isinstance(ensemble_size, bool) or not isinstance(ensemble_size, (int, np.integer))
            or ensemble_size < 1):
        raise ValueError(f"ensemble_size={ensemble_size!r} must be a positive integer")


def ensembles(specs: Sequence[NetworkSpec], ensemble_size: int, n_jobs: int = 1) -> list[list[int]]:
    """Group networks that can train together: same problem, hidden widths and activation.

    Returns lists of indices into ``specs``, each of at most ``ensemble_size``: a group of
    n networks is cut into ceil(n / ensemble_size) ensembles of nearly equal sizes (31
    networks and a size of 30 give 16 + 15, not 30 + 1), in the order of ``specs``. With
    fewer ensembles than ``n_jobs`` workers, the largest are halved until every worker has
    one (or every ensemble is one network), so that no worker idles.
    """
    groups: dict[tuple, list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault((spec.problem, spec.hidden, spec.activation), []).append(i)
    chunks = []
    for members in groups.values():
        n_chunks = -(-len(members) // ensemble_size)
        chunks += [[int(i) for i in part] for part in np.array_split(members, n_chunks)]
    while 0 < len(chunks) < n_jobs and max(map(len, chunks)) > 1:
        largest = max(range(len(chunks)), key=lambda i: len(chunks[i]))
        half = (len(chunks[largest]) + 1) // 2
        chunks[largest:largest + 1] = [chunks[largest][:half], chunks[largest][half:]]
    return chunks


def _run_dask(tasks, n_jobs, address):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else address)
    try:
        problems = {}
        for _, problem, _, _ in tasks:
            if problem.name not in problems:
                problems[problem.name] = client.scatter(problem, broadcast=True)
        futures = [client.submit(_task, keys, problems[problem.name], specs, protocol, pure=False)
                   for keys, problem, specs, protocol in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _task(keys, problem, specs, protocol):
    with parallel.one_thread():  # also on a Dask worker
        return list(zip(keys, train_and_measure_ensemble(specs, problem, protocol)))


def run_sweep(specs: Sequence[NetworkSpec], problems: Mapping[str, Problem],
              protocol: Protocol = Protocol(), *, cache_dir=None, n_jobs: int = 1,
              backend: str = "loky", dask_address: str | None = None,
              ensemble_size: int = 30, progress: bool = True) -> SweepResult:
    """Train and measure every network in ``specs``; reuse and extend the cache.

    Parameters
    ----------
    specs : the networks (see :func:`grid`); each names a problem in ``problems``.
    problems : problem name -> :class:`Problem`.
    protocol : the training protocol, the same for every network.
    cache_dir : folder of per-network result files; ``None`` keeps nothing. A network whose
        file exists (same spec, data, metric and protocol) is read, not recomputed; each new
        one is written as soon as its ensemble finishes.
    n_jobs : parallel workers (processes; one torch thread each), each training one
        ensemble at a time.
    backend : "loky" (joblib's process pool on this machine) or "dask" (a Dask cluster:
        the one at ``dask_address``, e.g. "tcp://scheduler:8786", or a local cluster of
        ``n_jobs`` worker processes started for this call).
    ensemble_size : the networks still to train are grouped by (problem, hidden widths,
        activation) into ensembles of at most this many, each trained as one batched model
        (see :func:`ensembles`). A network's result does not depend on the ensemble it is
        in (on the CPU bit for bit; on a GPU up to rounding), so the cache holds the same
        networks whatever the grouping. A network's file is written when its whole ensemble
        is done, so an interrupted sweep loses the ensembles in flight. On the CPU a
        full-batch step costs about the same per network alone or in an ensemble of 8 or 32
        (``benchmarks/bench_training.py``: the points are cut into cache-sized tiles, and the
        members go through them one or a few at a time); on a GPU larger ensembles pay.
    progress : show a progress bar (networks).

    Returns
    -------
    :class:`SweepResult`, rows in the order of ``specs`` whatever order they finished in.
    """
    _check_backend(backend, n_jobs, ensemble_size)
    specs, problems, cache_dir = _check_sweep_input(specs, problems, protocol, cache_dir)
    unknown = sorted({spec.problem for spec in specs} - set(problems))
    if unknown:
        raise ValueError(f"specs name problems {unknown}; known: {sorted(problems)}")
    cache_dir = None if cache_dir is None else Path(cache_dir)
    keys = [spec.key(problems[spec.problem], protocol) for spec in specs]
    done: dict[str, dict] = {}
    if cache_dir is not None:
        for spec, key in zip(specs, keys):
            cached = _read_cached(_cache_path(cache_dir, spec, key))
            if cached is not None:
                done[key] = cached
    reused = len(done)
    pending, seen = [], set(done)
    for spec, key in zip(specs, keys):
        if key not in seen:
            seen.add(key)
            pending.append((key, spec))
    spec_of = {key: spec for spec, key in zip(specs, keys)}
    tasks = []
    for chunk in ensembles([spec for _, spec in pending], ensemble_size, n_jobs):
        chunk_specs = [pending[i][1] for i in chunk]
        tasks.append(([pending[i][0] for i in chunk], problems[chunk_specs[0].problem],
                      chunk_specs, protocol))

    bar = tqdm(total=len(seen), initial=reused, desc="networks", disable=not progress,
               mininterval=2.0)
    results = (parallel.as_completed(_task, tasks, n_jobs) if backend == "loky"
               else _run_dask(tasks, n_jobs, dask_address))
    for finished in results:  # one ensemble: every network's file at once
        for key, record in finished:
            done[key] = record
            if cache_dir is not None:
                _write_atomic(_cache_path(cache_dir, spec_of[key], key), record)
        bar.update(len(finished))
    bar.close()
    return _collect(specs, keys, done, computed=len(pending), reused=reused)


def next_seeds(networks: pd.DataFrame, min_perfect: int, max_seeds: int) -> list[NetworkSpec]:
    """The networks to add so that each group may reach ``min_perfect`` at 100%.

    ``networks`` is a sweep's table (:data:`NETWORK_COLUMNS`). For each (problem,
    architecture, activation) with p of its n networks at 100%, p < ``min_perfect`` and
    n < ``max_seeds``: the next ceil((min_perfect - p) * n / p) seeds after its largest (n
    more when p = 0), as many as its success rate so far says it needs, at most
    ``max_seeds`` in all. Empty when every group has enough or has tried ``max_seeds``.
    """
    for name, value in (("min_perfect", min_perfect), ("max_seeds", max_seeds)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    specs = []
    for (problem, architecture, activation), group in networks.groupby(
            ["problem", "architecture", "activation"], sort=False):
        tried, perfect = len(group), int(group["perfect"].sum())
        if perfect >= min_perfect or tried >= max_seeds:
            continue
        wanted = tried if perfect == 0 else -(-(min_perfect - perfect) * tried // perfect)
        first = int(group["seed"].max()) + 1
        hidden = tuple(int(width) for width in str(group["hidden"].iloc[0]).split("×"))
        specs += [NetworkSpec(problem, architecture, hidden, activation, seed)
                  for seed in range(first, first + min(wanted, max_seeds - tried))]
    return specs


def combine(results: Sequence[SweepResult]) -> SweepResult:
    """Several sweeps' results as one (rows in order; counts added; column types kept when
    some sweeps have no rows, e.g. no trust checks)."""
    results = list(results)
    if not results:
        raise ValueError("combine needs at least one SweepResult")

    def joined(frames):  # an empty frame's object columns would turn bool columns to object
        kept = [frame for frame in frames if len(frame)]
        return pd.concat(kept, ignore_index=True) if kept else frames[0].copy()

    return SweepResult(joined([r.networks for r in results]), joined([r.betti for r in results]),
                       sum(r.computed for r in results), sum(r.reused for r in results),
                       joined([r.trust for r in results]), joined([r.attempts for r in results]))


def run_sweep_until(specs: Sequence[NetworkSpec], problems: Mapping[str, Problem],
                    protocol: Protocol = Protocol(), *, min_perfect: int, max_seeds: int,
                    **options) -> SweepResult:
    """:func:`run_sweep`, then more seeds where too few networks reached 100%.

    After ``specs``, each (problem, architecture, activation) with fewer than
    ``min_perfect`` networks at 100% gets the seeds :func:`next_seeds` asks for, round after
    round, until it has ``min_perfect`` or has tried ``max_seeds``. Which seeds are added
    depends only on which networks reached 100%, never on what was measured on them, and a
    re-run adds the same seeds (the cache serves them). ``options`` go to :func:`run_sweep`.
    """
    results = [run_sweep(specs, problems, protocol, **options)]
    while more := next_seeds(combine(results).networks, min_perfect, max_seeds):
        results.append(run_sweep(more, problems, protocol, **options))
    return combine(results)


def _collect(specs, keys, done, *, computed, reused) -> SweepResult:
    networks, betti, checks, attempts = [], [], [], []
    for key in dict.fromkeys(keys):
        record = done[key]
        networks.append({**record["network"], "key": key})
        rows = record["betti"]
        n_layers = max((row["depth"] for row in rows), default=0)
        identity = {name: record["network"][name]
                    for name in ("problem", "architecture", "activation", "seed")}
        betti += [{**identity, **row, "n_layers": n_layers} for row in rows]
        checks += [{**identity, **row} for row in record.get("trust", [])]
        attempts += [{**identity, **{("attempt_seed" if k == "seed" else k): v for k, v in row.items()}}
                     for row in record.get("attempts", [])]
    return SweepResult(pd.DataFrame(networks, columns=NETWORK_COLUMNS),
                       pd.DataFrame(betti, columns=BETTI_COLUMNS), computed, reused,
                       pd.DataFrame(checks, columns=TRUST_COLUMNS),
                       pd.DataFrame(attempts, columns=ATTEMPT_COLUMNS))


def naitzat_problem(name: str, *, n_train: int | None = None, train_on_measured: bool = False,
                    k: int | None = None, scale: float = 2.5, maxdim: int = 1,
                    seed: int = 0) -> Problem:
    """A :class:`Problem` from Naitzat et al.'s D-I, D-II or D-III, measured as the paper does.

    The training set is ``naitzat(name, seed, n_train)`` (the paper's size by default); the
    measured points are every ``divisor``-th training point (3 for D-I, 4 for D-II and
    D-III), the authors' homology subset. With ``train_on_measured`` the networks are
    trained on the measured points alone (a quarter of the paper's training set for D-II
    and D-III, at the same density where it is measured): a CPU-sized protocol. ``k``
    defaults to the paper's (in :func:`tdnn_utils.topology.knn_graph` units,
    :data:`~tdnn_utils.datasets.NAITZAT_SCALE`); with fewer points than the paper,
    calibrate it with :func:`tdnn_utils.topology.calibrate_k` first.
    """
    from .datasets import NAITZAT_SCALE, NAITZAT_SIZES, naitzat

    X, y = naitzat(name, seed=seed, n_points=n_train)
    divisor = NAITZAT_SIZES[name]["divisor"]
    X_measure, y_measure = X[::divisor], y[::divisor]
    if train_on_measured:
        X, y = X_measure, y_measure
    k = NAITZAT_SCALE[name]["k_topology"] if k is None else k
    return Problem(name, X, y, X_measure, y_measure, k=k, scale=scale, maxdim=maxdim)


def architectures(depths=(9,), widths=(15,), *, bottleneck: bool = False,
                  base_depth: int = 9, base_width: int = 15) -> dict[str, tuple]:
    """Named hidden-layer widths for a sweep: ``"{depth}×{width}"`` -> (width,) * depth.

    ``depths`` vary the number of hidden layers at ``base_width``, ``widths`` the width at
    ``base_depth`` (the paper's main network is 9 hidden layers of width 15, plus the
    output). ``bottleneck`` adds ``"bottleneck"``: the main network with its third hidden
    layer 3 units wide. Depths and widths are positive integers (a bottleneck needs a base
    depth of at least 3).
    """
    for value, name in [(d, "depths") for d in depths] + [(w, "widths") for w in widths] + [
            (base_depth, "base_depth"), (base_width, "base_width")]:
        check_positive_int(value, name)
    if bottleneck and base_depth < 3:
        raise ValueError(f"bottleneck=True narrows the third hidden layer; base_depth={base_depth} has fewer")
    names = {}
    for depth in depths:
        names[f"{depth}×{base_width}"] = (base_width,) * depth
    for width in widths:
        names[f"{base_depth}×{width}"] = (width,) * base_depth
    if bottleneck:
        hidden = [base_width] * base_depth
        hidden[2] = 3
        names["bottleneck"] = tuple(hidden)
    return names
