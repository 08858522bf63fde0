"""Chapter 2's study: Naitzat et al.'s claims about simplification, on their data, by the book's rules.

- :class:`Setup`: one data set as the chapter trains and measures it (source, subsample,
  network, training protocol, metric), from a preset's mapping;
- :func:`points` and :func:`problem`: the points, their known Betti numbers, and the sweep's
  :class:`~tdnn_utils.sweep.Problem` with k calibrated on the input;
- :func:`sweep`: one data set's networks trained and measured, with the setup's seed rule;
- :func:`speed`: per network, the first *trusted* layer where every class is one piece
  without holes (classes averaged within the network: the network is the unit);
- :func:`end_concentration`: per network, how much of the topological change happens at the
  end, above what a uniform spread over the layers would put there;
- :func:`paper_comparison`: the paper's values (:data:`tdnn_utils.paper.NAITZAT_FIGURES`)
  beside the book's mean and spread at the same depth.

The claims' rules are :mod:`tdnn_utils.verdicts`'; this module only prepares what they judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import datasets, paper, topology, trust, verdicts
from .sweep import NetworkSpec, Problem, Protocol, SweepResult, combine, run_sweep, run_sweep_until
from .validation import check_columns, check_positive_int, check_positive_number

SOURCES = ("published", "generator")
#: The activations of the paper's claim, in its claimed order (fastest first).
ACTIVATION_ORDER = ("relu", "leaky_relu", "tanh")
NETWORK = ("problem", "architecture", "activation", "seed")


@dataclass(frozen=True)
class Setup:
    """One data set as Chapter 2 trains and measures it.

    Parameters
    ----------
    name : "D-I", "D-II" or "D-III".
    source : "published" (the authors' files, :func:`tdnn_utils.datasets.naitzat_published`)
        or "generator" (:func:`tdnn_utils.datasets.naitzat`, the paper's training size).
    train_every : networks train on every ``train_every``-th point of the source.
    measure_every : Betti numbers are measured on every ``measure_every``-th training point.
    hidden : hidden-layer widths of the main network.
    lr, steps, lr_halving_every, patience, init, max_attempts : the training protocol
        (:class:`tdnn_utils.sweep.Protocol`).
    k_candidates : k-NN sizes tried on the input; the smallest that gives every class its
        known Betti numbers is kept for every layer.
    scale, maxdim : the Vietoris-Rips scale in hops and the highest dimension.
    seeds : networks per activation (seeds 0, 1, ...).
    trust_seeds : networks per activation whose every layer gets the metric's trust checks.
    min_perfect, max_seeds : with ``min_perfect`` > 0, an activation with fewer than
        ``min_perfect`` of its networks at 100% gets more seeds, up to ``max_seeds`` in all
        (:func:`tdnn_utils.sweep.run_sweep_until`); 0 keeps exactly ``seeds``.
    """

    name: str
    source: str = "published"
    train_every: int = 1
    measure_every: int = 1
    hidden: tuple = (15,) * 9
    lr: float = 0.02
    steps: int = 12_000
    lr_halving_every: int = 2_500
    patience: int | None = 1_000
    init: str = "glorot"
    max_attempts: int = 5
    k_candidates: tuple = (34,)
    scale: float = 2.5
    maxdim: int = 1
    seeds: int = 30
    trust_seeds: int = 3
    min_perfect: int = 0
    max_seeds: int | None = None

    def __post_init__(self):
        if self.name not in datasets.NAITZAT_NAMES:
            raise ValueError(f"name={self.name!r} is unknown; use one of {datasets.NAITZAT_NAMES}")
        if self.source not in SOURCES:
            raise ValueError(f"{self.name}: source={self.source!r} is unknown; use one of {SOURCES}")
        for name in ("train_every", "measure_every", "seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{self.name}: {name}={value!r} must be a positive integer")
        if isinstance(self.trust_seeds, bool) or not isinstance(self.trust_seeds, (int, np.integer)) \
                or not 0 <= self.trust_seeds <= self.seeds:
            raise ValueError(f"{self.name}: trust_seeds={self.trust_seeds!r} must be an integer in 0..seeds")
        if isinstance(self.min_perfect, bool) or not isinstance(self.min_perfect, (int, np.integer)) \
                or self.min_perfect < 0:
            raise ValueError(f"{self.name}: min_perfect={self.min_perfect!r} must be an integer >= 0")
        if self.min_perfect and (isinstance(self.max_seeds, bool)
                                 or not isinstance(self.max_seeds, (int, np.integer))
                                 or self.max_seeds < max(self.seeds, self.min_perfect)):
            raise ValueError(f"{self.name}: max_seeds={self.max_seeds!r} must be an integer >= seeds "
                             f"({self.seeds}) and >= min_perfect ({self.min_perfect}) when min_perfect > 0")
        for name in ("hidden", "k_candidates"):  # counted, never truncated (2.7 is not a width)
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or not len(values):
                raise ValueError(f"{self.name}: {name}={values!r} must be a non-empty list of positive integers")
            object.__setattr__(self, name, tuple(check_positive_int(v, f"{self.name}: {name}") for v in values))
        check_positive_number(self.scale, f"{self.name}: scale")
        check_positive_int(self.maxdim, f"{self.name}: maxdim", minimum=0, maximum=topology.MAX_DIMENSION)
        self.protocol()  # validates the training settings

    @classmethod
    def from_mapping(cls, name: str, settings: Mapping) -> "Setup":
        """A setup from a preset's mapping; unknown keys are refused with the allowed ones."""
        allowed = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise ValueError(f"{name}: settings {unknown} are unknown; allowed: {sorted(allowed)}")
        return cls(name, **dict(settings))

    @property
    def architecture(self) -> str:
        return f"{len(self.hidden)}×{self.hidden[0]}" if len(set(self.hidden)) == 1 else "custom"

    def protocol(self, device: str = "cpu") -> Protocol:
        return Protocol(steps=self.steps, lr=self.lr, lr_halving_every=self.lr_halving_every,
                        max_attempts=self.max_attempts, device=device, init=self.init,
                        patience=self.patience)


def points(setup: Setup) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """``(X_train, y_train, X_measure, y_measure, truth)`` for a setup.

    ``truth`` maps each class to its known Betti numbers as the paper reports them (the
    published D-III's class 1 is (18, 0, 9), its small inner spheres filled in).
    """
    if setup.source == "published":
        X, y = datasets.naitzat_published(setup.name)
        truth = datasets.NAITZAT_PUBLISHED_SCALE[setup.name]["betti"]
    else:
        X, y = datasets.naitzat(setup.name)
        truth = datasets.NAITZAT_BETTI[setup.name]
    X_train, y_train = X[::setup.train_every], y[::setup.train_every]
    truth = {label: tuple(betti)[: setup.maxdim + 1] for label, betti in truth.items()}
    return (X_train, y_train, X_train[::setup.measure_every], y_train[::setup.measure_every], truth)


def problem(setup: Setup, engine: str | None = None) -> tuple[Problem, pd.DataFrame, bool]:
    """The sweep's :class:`~tdnn_utils.sweep.Problem` for a setup, k calibrated on the input.

    Returns ``(problem, calibration, calibrated)``: ``calibration`` is
    :func:`tdnn_utils.topology.calibrate_k`'s table (with the known values in ``true``), and
    ``calibrated`` says whether a candidate gave every class its known Betti numbers (if
    none did, the first candidate is used and the input's measured values become the
    baseline: the chapter says so).
    """
    X_train, y_train, X_measure, y_measure, truth = points(setup)
    clouds = {label: X_measure[y_measure == label] for label in truth}
    k, table = topology.calibrate_k(clouds, truth, setup.k_candidates, scale=setup.scale,
                                    maxdim=setup.maxdim)
    table = table.assign(true=[list(truth[label]) for label in table["label"]], data=setup.name)
    calibrated = k is not None
    chosen = k if calibrated else setup.k_candidates[0]
    window = (trust.input_window(clouds, truth, chosen, scale=setup.scale, maxdim=setup.maxdim,
                                 engine=engine) if calibrated else None)
    table = table.assign(k_window=[window] * len(table))
    return (Problem(setup.name, X_train, y_train, X_measure, y_measure, k=chosen,
                    scale=setup.scale, maxdim=setup.maxdim, trust_seeds=setup.trust_seeds,
                    engine=engine, k_window=window), table, calibrated)


# ---------------------------------------------------------------------------- per network
def sweep(specs: Sequence[NetworkSpec], problem: Problem, protocol: Protocol, setup: Setup | None = None,
          activations: Sequence[str] = ACTIVATION_ORDER, **options) -> SweepResult:
    """One data set's networks, trained and measured (:func:`tdnn_utils.sweep.run_sweep`).

    With a ``setup`` whose ``min_perfect`` is set, its main networks (its architecture, one of
    ``activations``) get more seeds until that many reach 100%
    (:func:`tdnn_utils.sweep.run_sweep_until`); every other network (variants, extra
    activations) keeps the seeds in ``specs``. ``options`` go to the sweep (cache_dir,
    n_jobs, backend, ...).
    """
    problems = {problem.name: problem}
    results, rest = [], list(specs)
    if setup is not None and setup.min_perfect:
        main = [spec for spec in rest if spec.architecture == setup.architecture and spec.activation in activations]
        results.append(run_sweep_until(main, problems, protocol, min_perfect=setup.min_perfect,
                                       max_seeds=setup.max_seeds, **options))
        main_set = set(main)
        rest = [spec for spec in rest if spec not in main_set]
    if rest or not results:
        results.append(run_sweep(rest, problems, protocol, **options))
    return combine(results)


def trusted_depths(trust_table: pd.DataFrame, by=("problem", "architecture")) -> pd.DataFrame:
    """Depths trusted for every activation of a (problem, architecture): what comparisons read."""
    return trust.common_trust(trust_table, by)


def speed(betti: pd.DataFrame, trusted: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Layers to simplify, per (network, class) and per network, on trusted depths only.

    ``betti`` is the sweep's Betti table; ``trusted`` a table of trusted depths per
    (problem, architecture) (:func:`trusted_depths`), or None to read every depth. A class's
    ``layers`` is the first read depth at which it is one piece without holes, or one past
    the network's last depth when it never is (censored). Returns ``(per_class, per_network)``:
    the second averages the classes of each network (``censored``: every class was).
    """
    _check_betti(betti)
    kept = betti if trusted is None else trust.trusted_only(betti, trusted, by=("problem", "architecture"))
    n_layers = betti.groupby(list(NETWORK))["depth"].max().rename("n_layers_all")
    per_class = verdicts.layers_to_simplify(kept, by=list(NETWORK))
    per_class = per_class.join(n_layers, on=list(NETWORK))
    per_class["layers"] = np.where(per_class["censored"], per_class["n_layers_all"] + 1, per_class["layers"])
    per_class["n_layers"] = per_class["n_layers_all"]
    per_class = per_class.drop(columns="n_layers_all")
    per_network = verdicts.per_network(per_class, list(NETWORK), "layers")
    per_network = per_network.join(per_class.groupby(list(NETWORK))["n_layers"].first(), on=list(NETWORK))
    return per_class, per_network


def _check_betti(betti) -> pd.DataFrame:
    """A sweep's Betti table, checked: its columns, numbers where numbers are read, no missing key."""
    return check_columns(betti, [*NETWORK, "label", "depth", "dim", "betti"], "betti",
                         numeric=["depth", "dim", "betti"], complete=[*NETWORK, "label", "depth", "dim"])


def simplified_at_end(betti: pd.DataFrame, trusted: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per network: is every class one piece without holes at the last read (trusted) depth?

    Returns one row per network with ``depth`` (its last read depth) and ``simple``: True,
    False, or missing (``pd.NA``) when a Betti number of a class at that depth is missing (NaN,
    or no row in a dimension the class is read in elsewhere) and the readings there do not
    already show a class that is not simple. No verdict from no data: :func:`claim_simplifies`
    leaves those networks out. An empty table, or one with every value missing, gives no row
    or only missing ones.
    """
    _check_betti(betti)
    kept = betti if trusted is None else trust.trusted_only(betti, trusted, by=("problem", "architecture"))
    keys = list(NETWORK) + ["label"]
    if kept.empty:
        return pd.DataFrame({**{c: pd.Series(dtype=kept[c].dtype) for c in NETWORK},
                             "simple": pd.Series(dtype="boolean"), "depth": pd.Series(dtype="int64")})
    wide = kept.groupby(keys + ["depth", "dim"])["betti"].mean().unstack("dim")
    read_in = wide.notna().groupby(level=keys).any()  # the dimensions each class is read in
    last = kept.groupby(list(NETWORK))["depth"].max().rename("depth")
    classes = kept[keys].drop_duplicates().join(last, on=list(NETWORK))
    at_end = wide.reindex(pd.MultiIndex.from_frame(classes[keys + ["depth"]]))
    missing = at_end.isna().to_numpy() & read_in.reindex(pd.MultiIndex.from_frame(classes[keys])).to_numpy()
    beta0 = at_end[0] if 0 in at_end.columns else pd.Series(np.nan, index=at_end.index)
    higher = at_end[[d for d in at_end.columns if d != 0]]
    classes["fails"] = ((beta0.notna() & (beta0 != 1)) | (higher > 0).any(axis=1)).to_numpy()
    classes["unread"] = (missing.any(axis=1) | beta0.isna()).to_numpy()
    per_network = classes.groupby(list(NETWORK), sort=False).agg(
        fails=("fails", "any"), unread=("unread", "any"), depth=("depth", "first"))
    simple = pd.Series(~per_network["fails"], dtype="boolean")
    simple[~per_network["fails"] & per_network["unread"]] = pd.NA
    return per_network.assign(simple=simple)[["simple", "depth"]].reset_index()


def end_concentration(betti: pd.DataFrame) -> pd.DataFrame:
    """How much of each network's topological change happens in its last step, above uniform.

    With T(d) the sum of Betti numbers at depth d and L the last depth, the last step's
    share s = |T(L) - T(L-1)| / sum_d |T(d) - T(d-1)| would be 1/L if the change were spread
    evenly. The concentration ``(s - 1/L) / (1 - 1/L)`` is 0 for an even spread and 1 when
    all the change is in the last step, so networks of different depths compare (the raw
    share would favour shallow networks by 1/L alone). Classes are averaged within each
    network; a class whose T never changes is left out. Returns one row per network.
    """
    _check_betti(betti)
    share = verdicts.last_layer_share(betti, by=list(NETWORK)).dropna(subset=["share"])
    depth = betti.groupby(list(NETWORK))["depth"].max().rename("n_layers")
    share = share.join(depth, on=list(NETWORK))
    share["concentration"] = (share["share"] - 1 / share["n_layers"]) / (1 - 1 / share["n_layers"])
    per_network = verdicts.per_network(share, list(NETWORK), "concentration")
    return per_network.join(depth, on=list(NETWORK))


# ---------------------------------------------------------------------------- the paper beside ours
def paper_comparison(betti: pd.DataFrame, problem_name: str, architecture: str,
                     paper_architecture: str = "main") -> pd.DataFrame:
    """The paper's values for a data set and architecture beside the book's, at the same depth.

    For a "value" row: the book's mean and standard deviation of beta_dim over networks at
    that depth (the row's class, or both classes when the paper does not say). For a
    "reaches 1" row: the median over networks of the first depth where beta_0 is 1.
    """
    _check_betti(betti)
    rows = betti[(betti["problem"] == problem_name) & (betti["architecture"] == architecture)]
    if rows.empty:
        return pd.DataFrame()
    n_layers = int(rows["depth"].max())
    out = []
    for ref in paper.naitzat_points(problem_name, n_layers, paper_architecture).itertuples():
        mine = rows[(rows["activation"] == ref.activation) & (rows["dim"] == ref.dim)]
        if ref.label is not None and not pd.isna(ref.label):
            mine = mine[mine["label"] == ref.label]
        entry = {"data": problem_name, "activation": ref.activation, "class": "both" if ref.label is None
                 or pd.isna(ref.label) else int(ref.label), "dim": ref.dim, "depth": ref.depth,
                 "what": "mean β" if ref.kind == "value" else "first depth with β0 = 1",
                 "paper": ref.value if ref.kind == "value" else ref.depth}
        if ref.kind == "value":
            at = mine[mine["depth"] == ref.depth]["betti"]
            entry.update(book=float(at.mean()) if len(at) else np.nan,
                         sd=float(at.std(ddof=1)) if len(at) > 1 else np.nan, n=int(len(at)))
        else:
            firsts = (mine[mine["betti"] == 1].groupby(list(NETWORK) + ["label"])["depth"].min())
            entry.update(book=float(firsts.median()) if len(firsts) else np.nan,
                         sd=float(firsts.std(ddof=1)) if len(firsts) > 1 else np.nan, n=int(len(firsts)))
        out.append(entry)
    table = pd.DataFrame(out)
    table["difference"] = table["book"] - table["paper"]
    return table


# ---------------------------------------------------------------------------- the claims
#: Smallest effects that would matter, fixed before any run: one layer of "layers to
#: simplify"; 0.1 of end concentration (0 = even spread, 1 = all in the last step); one
#: unit of the sum of Betti numbers.
INTEREST = {"layers": 1.0, "concentration": 0.1, "betti_sum": 1.0}


def claim_simplifies(ends: pd.DataFrame) -> tuple[str, dict, str]:
    """Claim 1: a network at 100% ends with every class one piece without holes.

    ``ends`` is :func:`simplified_at_end` over the main networks. Rule:
    :func:`tdnn_utils.verdicts.share_claim` on the share of networks whose every class is
    simple at its last trusted depth (confirmed when the 95% interval's lower end is at
    least 0.8), among the networks read there: a network whose reading is missing
    (``simple`` is NA) is left out, and the evidence says how many were. Returns
    ``(verdict, facts, evidence)``.
    """
    check_columns(ends, ["problem", "simple"], "ends")
    read = ends[ends["simple"].notna()]
    simple = read["simple"].astype(bool)
    verdict, facts = verdicts.share_claim(int(simple.sum()), len(read))
    left_out = len(ends) - len(read)
    unread = (f"; {left_out} network(s) left out: a Betti number missing at their last trusted layer"
              if left_out else "")
    if not len(read):
        facts["reason"] = f"no network read at its last trusted layer ({len(ends)} network(s) in all)"
        return verdict, facts, f"No network to judge: {facts['reason']}."
    parts = [f"{p}: {int(r.sum())} of {len(r)}" for p, r in simple.groupby(read["problem"], sort=False)]
    evidence = (f"{facts['successes']} of {facts['n']} networks at 100% end with every class one piece "
                f"without holes at their last trusted layer (95% interval "
                f"{facts['low']:.0%} to {facts['high']:.0%}; " + "; ".join(parts) + unread + ").")
    return verdict, facts, evidence


def claim_activation_order(per_network: pd.DataFrame, order: Sequence[str] = ACTIVATION_ORDER,
                           ) -> tuple[str, pd.DataFrame, str]:
    """Claim 2: ReLU simplifies faster than leaky ReLU, which is faster than tanh.

    ``per_network`` is :func:`speed`'s second table for the main networks. Per data set,
    the consecutive pairs of ``order`` are compared (fewer layers to simplify), all pairs of
    all data sets Holm-corrected together, with one layer as the effect of interest.
    """
    pairs = [(problem_, a, b) for problem_ in dict.fromkeys(per_network["problem"])
             for a, b in zip(order, order[1:])]
    cap = float(per_network["n_layers"].max() + 1) if len(per_network) else None
    verdict, table = verdicts.ordering_claim(per_network, "activation", "layers", pairs,
                                             interest=INTEREST["layers"], censored="censored",
                                             cap=cap, family="problem")
    evidence = "Layers to simplify per network (classes averaged): " + \
        verdicts.describe_comparisons(table, " layers") + "."
    return verdict, table, evidence


def claim_depth(concentration: pd.DataFrame, depth_architectures: Sequence[str]) -> tuple[str, pd.DataFrame, str]:
    """Claim 3: shallow networks change topology abruptly at the end, deep ones spread it.

    ``concentration`` is :func:`end_concentration` for the depth variants (one activation);
    ``depth_architectures`` lists them from shallow to deep. Each deeper network is compared
    with the next shallower one: its concentration should be smaller (Holm over the pairs;
    0.1 as the effect of interest).
    """
    pairs = [(deep, shallow) for shallow, deep in zip(depth_architectures, depth_architectures[1:])]
    verdict, table = verdicts.ordering_claim(concentration, "architecture", "concentration", pairs,
                                             interest=INTEREST["concentration"])
    evidence = "End concentration above an even spread (0 even, 1 all in the last step), deeper < " \
               "shallower: " + verdicts.describe_comparisons(table) + "."
    return verdict, table, evidence


def claim_width(per_network: pd.DataFrame, width_architectures: Sequence[str],
                bottleneck: str | None, base: str) -> tuple[str, pd.DataFrame, str]:
    """Claim 4: wider networks simplify more slowly; a bottleneck layer speeds it up.

    ``per_network`` is :func:`speed`'s second table for the width variants (one
    activation); ``width_architectures`` lists them from narrow to wide; ``bottleneck`` names
    the bottleneck network (compared with ``base``, the main network), or None. Narrower
    should need fewer layers; the bottleneck fewer than ``base``. Holm over all pairs; one
    layer as the effect of interest.
    """
    pairs = list(zip(width_architectures, width_architectures[1:]))
    if bottleneck:
        pairs.append((bottleneck, base))
    cap = float(per_network["n_layers"].max() + 1) if len(per_network) else None
    verdict, table = verdicts.ordering_claim(per_network, "architecture", "layers", pairs,
                                             interest=INTEREST["layers"], censored="censored", cap=cap)
    evidence = "Layers to simplify per network: " + verdicts.describe_comparisons(table, " layers") + "."
    return verdict, table, evidence
