"""Chapter 2's study: Naitzat et al.'s claims about simplification, on their data, at their density.

- :class:`Setup`: one data set as the chapter trains and measures it (source, subsample,
  network, training protocol, the k scanned on the input), from a preset's mapping;
- :func:`points` and :func:`problem`: the points (training, measured, held out), their known
  Betti numbers, and the sweep's :class:`~tdnn_utils.sweep.Problem` with k chosen in the middle
  of the window of k that reads the input right (:func:`tdnn_utils.readings.k_window`), every
  layer read at that k and at both ends of the window;
- :func:`sweep`: one data set's networks trained and measured, with the setup's seed rule;
- :func:`comparisons`: every comparison of the chapter's five claims at one k of the window,
  as rows for :func:`tdnn_utils.verdicts.judge` (each claim's size and where it comes from are
  in :data:`CLAIMS`); :func:`judge_across_window` judges them at each k and keeps a verdict
  only where the window agrees;
- :func:`end_concentration`: per network, how much of the topological change happens at the
  end, above what a uniform spread over the layers would put there;
- :func:`paper_comparison`: the paper's values (:data:`tdnn_utils.paper.NAITZAT_FIGURES`)
  beside the book's mean and spread at the same depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import datasets, images, paper, readings, topology, trust, verdicts
from .ensemble import AbandonRule
from .sweep import (NetworkSpec, Problem, Protocol, SweepResult, architectures, combine, grid, run_sweep,
                    run_sweep_until)
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
    lr, steps, lr_halving_every, lr_decay, patience, check_every, init, max_attempts : the
        training protocol (:class:`tdnn_utils.sweep.Protocol`); the defaults are the authors'
        (their trainer's TensorFlow schedule decays the rate continuously, and it reads the
        training accuracy every 1,000 steps, the patience too).
    k_min, k_max : the k-NN sizes scanned on the input (every integer from ``k_min`` to
        ``k_max``): the longest run of them that gives every class its known Betti numbers is the
        window, its middle the k kept for every layer (:func:`tdnn_utils.readings.k_window`), and
        every layer is also read at both ends.
    scale, maxdim : the Vietoris-Rips scale in hops and the highest dimension.
    seeds : networks per activation (seeds 0, 1, ...).
    trust_seeds : networks per activation whose every layer gets the metric's trust checks.
    abandon_below : the abandon rule's thresholds (:class:`tdnn_utils.ensemble.AbandonRule`):
        at the c-th check an attempt whose best accuracy lies below the c-th is ended early and
        a fresh start follows; empty: no rule (the authors' patience alone).
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
    lr_decay: str = "continuous"
    patience: int | None = 1_000
    check_every: int = 1_000
    abandon_below: tuple = ()
    init: str = "glorot"
    max_attempts: int = 5
    k_min: int = 5
    k_max: int = 60
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
        if isinstance(self.hidden, (str, bytes)) or not hasattr(self.hidden, "__iter__") or not len(self.hidden):
            raise ValueError(f"{self.name}: hidden={self.hidden!r} must be a non-empty list of positive integers")
        object.__setattr__(self, "hidden", tuple(check_positive_int(v, f"{self.name}: hidden") for v in self.hidden))
        for name in ("k_min", "k_max"):
            check_positive_int(getattr(self, name), f"{self.name}: {name}")
        if self.k_max < self.k_min:
            raise ValueError(f"{self.name}: k_max={self.k_max!r} must be at least k_min={self.k_min!r}")
        check_positive_number(self.scale, f"{self.name}: scale")
        check_positive_int(self.maxdim, f"{self.name}: maxdim", minimum=0, maximum=topology.MAX_DIMENSION)
        try:
            self.protocol()  # validates the training settings
        except ValueError as error:
            raise ValueError(f"{self.name}: {error}") from None

    @classmethod
    def from_mapping(cls, name: str, settings: Mapping) -> "Setup":
        """A setup from a preset's mapping; unknown keys are refused with the allowed ones."""
        allowed = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise ValueError(f"{name}: settings {unknown} are unknown; allowed: {sorted(allowed)}")
        return cls(name, **dict(settings))

    @property
    def k_candidates(self) -> range:
        """The k scanned on the input."""
        return range(self.k_min, self.k_max + 1)

    @property
    def architecture(self) -> str:
        return f"{len(self.hidden)}×{self.hidden[0]}" if len(set(self.hidden)) == 1 else "custom"

    def protocol(self, device: str = "cpu") -> Protocol:
        return Protocol(steps=self.steps, lr=self.lr, lr_halving_every=self.lr_halving_every,
                        max_attempts=self.max_attempts, device=device, init=self.init,
                        patience=self.patience, check_every=self.check_every, lr_decay=self.lr_decay,
                        abandon_rule=AbandonRule(tuple(self.abandon_below)) if self.abandon_below else None)


def points(setup: Setup) -> dict:
    """The setup's points: ``train``, ``measure`` and ``heldout`` as (X, y), and ``truth``.

    Networks train on every ``train_every``-th point of the source and are measured on every
    ``measure_every``-th training point; the held-out points are the rest of the source (the
    authors' file, or for the generator the rest of its pool), on which each network's accuracy
    is reported. ``truth`` maps each class to its known Betti numbers as the paper reports them
    (the published D-III's class 1 is (18, 0, 9), its small inner spheres filled in).
    """
    if setup.source == "published":
        X, y = datasets.naitzat_published(setup.name)
        truth = datasets.NAITZAT_PUBLISHED_SCALE[setup.name]["betti"]
        used = np.zeros(len(X), bool)
        used[::setup.train_every] = True
        X_train, y_train, X_rest, y_rest = X[used], y[used], X[~used], y[~used]
    else:
        n_train = datasets.NAITZAT_SIZES[setup.name]["train"]
        n_points = min(2 * n_train, datasets.NAITZAT_POOL[setup.name])
        X, y = datasets.naitzat(setup.name, n_points=n_points)  # the training set, then the held-out points
        X_train, y_train = X[:n_train][::setup.train_every], y[:n_train][::setup.train_every]
        X_rest, y_rest = X[n_train:], y[n_train:]
        truth = datasets.NAITZAT_BETTI[setup.name]
    truth = {label: tuple(betti)[: setup.maxdim + 1] for label, betti in truth.items()}
    return {"train": (X_train, y_train), "measure": (X_train[::setup.measure_every], y_train[::setup.measure_every]),
            "heldout": (X_rest, y_rest), "truth": truth}


def problem(setup: Setup, engine: str | None = None) -> tuple[Problem, pd.DataFrame, tuple | None]:
    """The sweep's :class:`~tdnn_utils.sweep.Problem` for a setup, k chosen on the input.

    Returns ``(problem, calibration, window)``: ``calibration`` is
    :func:`tdnn_utils.readings.k_window`'s table (with ``data``), ``window`` the (k_low, k_high)
    that read the input right. The problem reads every layer at k_low, the chosen k and k_high.
    If no candidate reads right, ``window`` is None, the first candidate is used alone and the
    input's measured values become the baseline (the chapter says so).
    """
    data = points(setup)
    (X_train, y_train), (X_measure, y_measure) = data["train"], data["measure"]
    clouds = {label: X_measure[y_measure == label] for label in data["truth"]}
    window, chosen, table = readings.k_window(clouds, data["truth"], setup.k_candidates, scale=setup.scale,
                                              maxdim=setup.maxdim, engine=engine)
    k = chosen if window is not None else setup.k_candidates[0]
    ks = (window[0], k, window[1]) if window is not None else None
    X_heldout, y_heldout = data["heldout"]
    held = {"X_heldout": X_heldout, "y_heldout": y_heldout} if len(X_heldout) else {}
    return (Problem(setup.name, X_train, y_train, X_measure, y_measure, k=k, scale=setup.scale,
                    maxdim=setup.maxdim, trust_seeds=setup.trust_seeds, engine=engine, k_window=window,
                    ks=ks, **held),
            table.assign(data=setup.name), window)


def k_roles(problems: Mapping[str, Problem]) -> pd.DataFrame:
    """Which k is each problem's "low", "chosen" and "high" (the ends of its window and its middle)."""
    rows = []
    for name, p in problems.items():
        low, high = p.k_window or (p.k, p.k)
        rows += [{"problem": name, "role": role, "k": k} for role, k in (("low", low), ("chosen", p.k), ("high", high))]
    return pd.DataFrame(rows)


def at_role(betti: pd.DataFrame, roles: pd.DataFrame, role: str) -> pd.DataFrame:
    """The readings of each problem at its ``role`` k ("low", "chosen", "high"), without ``k``."""
    keep = roles.loc[roles["role"] == role, ["problem", "k"]]
    return betti.merge(keep, on=["problem", "k"]).drop(columns="k")


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


@dataclass(frozen=True)
class RealData:
    """Naitzat et al.'s real-data problem: images on their first principal components, one digit
    against the rest (:func:`tdnn_utils.images.one_vs_rest_pca`), networks of ``hidden`` widths.
    ``k`` is fixed before the run (no truth to calibrate on); the trust checks say where it holds."""

    data: str = "mnist-5k"
    digit: int = 0
    components: int = 50
    hidden: tuple = (10,) * 9
    k: int = 10
    measure_every: int = 1
    steps: int = 12_000
    seeds: int = 6
    trust_seeds: int = 2

    @property
    def name(self) -> str:
        return f"{self.data} ({self.digit} vs rest)"

    def problem(self, engine: str | None = None) -> Problem:
        pixels, labels = images.load_dataset(self.data)
        X, y = images.one_vs_rest_pca(pixels, labels, self.digit, self.components)
        return Problem(self.name, X, y, X[::self.measure_every], y[::self.measure_every], k=self.k, scale=2.5,
                       maxdim=1, trust_seeds=min(self.seeds, self.trust_seeds), engine=engine)

    def protocol(self, device: str) -> Protocol:
        return Protocol(steps=self.steps, lr=0.02, lr_halving_every=2500, max_attempts=5, device=device,
                        init="glorot", patience=1000, check_every=1000, lr_decay="continuous")


@dataclass
class Study:
    """Chapter 2's networks, trained and read: what :func:`run_study` returns.

    ``networks``, ``betti``, ``checks`` and ``attempts`` are the sweeps' tables (every
    problem; ``attempts``: one row per training attempt, :data:`tdnn_utils.sweep.ATTEMPT_COLUMNS`); ``problems``
    maps each data set's name to its :class:`~tdnn_utils.sweep.Problem`; ``calibration`` is the
    k scan of every data set's input; ``roles`` says which k is each problem's low, chosen and
    high (:func:`k_roles`); ``design`` which networks each claim compares.
    """

    setups: Mapping[str, Setup]
    problems: Mapping[str, Problem]
    calibration: pd.DataFrame
    design: Design
    networks: pd.DataFrame
    betti: pd.DataFrame
    checks: pd.DataFrame
    computed: int
    reused: int
    attempts: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def roles(self) -> pd.DataFrame:
        return k_roles(self.problems)


def run_study(setups: Mapping[str, Setup], *, activations: Sequence[str] = ACTIVATION_ORDER,
              extra_activations: Sequence[str] = (), extra_seeds: int = 0, variant_activation: str = "leaky_relu",
              variant_depths: Sequence[int] = (), variant_widths: Sequence[int] = (), bottleneck: bool = False,
              variant_seeds: int = 0, real: RealData | None = None, device: str = "cpu",
              engine: str | None = None, **options) -> Study:
    """Train and read every network of the chapter.

    The main networks of every data set (``activations``, the setup's seed rule); the first data
    set's extra activations and its depth and width variants (``variant_activation``, the main
    width and depth; ``variant_seeds`` each); and, with ``real``, the real-data networks.
    ``options`` go to every sweep (cache_dir, n_jobs, backend, ensemble_size, ...).
    """
    problems, calibrations = {}, []
    for name, setup in setups.items():
        problems[name], table, _ = problem(setup, engine=engine)
        calibrations.append(table)
    first = setups[next(iter(setups))]
    base_depth, base_width = len(first.hidden), first.hidden[0]
    specs = [spec for name, s in setups.items() for spec in grid([name], {s.architecture: s.hidden}, activations, s.seeds)]
    specs += grid([first.name], {first.architecture: first.hidden}, extra_activations, extra_seeds)
    variants = architectures(depths=variant_depths, widths=variant_widths, bottleneck=bottleneck,
                             base_depth=base_depth, base_width=base_width)
    variants.pop(first.architecture, None)  # the main networks serve as that variant
    specs += grid([first.name], variants, [variant_activation], variant_seeds)
    protocols = {name: s.protocol(device) for name, s in setups.items()}
    if real is not None:
        problems[real.name] = real.problem(engine)
        protocols[real.name] = real.protocol(device)
        specs += grid([real.name], {f"{len(real.hidden)}×{real.hidden[0]}": tuple(real.hidden)}, activations, real.seeds)
    swept = combine([sweep([spec for spec in specs if spec.problem == name], problems[name], protocol,
                           setups.get(name), activations, **options) for name, protocol in protocols.items()])
    depth_names = tuple(f"{d}×{base_width}" for d in sorted(set(variant_depths) | {base_depth})) if variant_depths else ()
    width_names = tuple(f"{base_depth}×{w}" for w in sorted(set(variant_widths) | {base_width})) if variant_widths else ()
    design = Design(main={name: s.architecture for name, s in setups.items()}, activations=tuple(activations),
                    variant_problem=first.name, variant_activation=variant_activation,
                    depth_architectures=depth_names, width_architectures=width_names,
                    bottleneck="bottleneck" if bottleneck else None, base=first.architecture,
                    real=real.name if real is not None else None)
    return Study(setups, problems, pd.concat(calibrations, ignore_index=True), design, swept.networks,
                 swept.betti, swept.trust, swept.computed, swept.reused, swept.attempts)


def training_table(study: Study) -> pd.DataFrame:
    """Per configuration: networks tried, at 100%, starts in all, median steps, held-out accuracy."""
    return (study.networks.groupby(["problem", "architecture", "activation"], sort=False)
            .agg(networks=("seed", "size"), perfect=("perfect", "sum"), attempts=("attempts", "sum"),
                 median_steps=("steps", "median"),
                 heldout=("heldout_accuracy", lambda a: a[study.networks.loc[a.index, "perfect"]].mean()),
                 heldout_min=("heldout_accuracy", lambda a: a[study.networks.loc[a.index, "perfect"]].min()),
                 train_minutes=("train_seconds", lambda t: t.sum() / 60),
                 topology_minutes=("topology_seconds", lambda t: t.sum() / 60))
            .reset_index())


def training_summary(trained: pd.DataFrame) -> pd.DataFrame:
    """:func:`training_table` in seven columns a reader scans (fits a page's column): data,
    network, activation, "at 100%" (of the seeds tried), starts, held-out accuracy of the
    networks at 100% (mean, lowest) and CPU minutes (training + readings)."""
    def percent(x):
        return "n/a" if pd.isna(x) else f"{x:.1%}"

    return pd.DataFrame({
        "data": trained["problem"], "network": trained["architecture"], "activation": trained["activation"],
        "at 100%": [f"{p} of {n}" for p, n in zip(trained["perfect"], trained["networks"])],
        "starts": trained["attempts"],
        "held-out (lowest)": [f"{percent(m)} ({percent(lo)})" for m, lo in zip(trained["heldout"], trained["heldout_min"])],
        "CPU min: training + readings": [f"{t:.1f} + {r:.1f}" for t, r in zip(trained["train_minutes"],
                                                                            trained["topology_minutes"])]})


def key_result(judged: pd.DataFrame, found: Mapping[str, str], ends: pd.DataFrame) -> str:
    """Chapter 2's key-result box (MyST): the components merged at the end, what claim 1 found
    for each part, and every claim's verdict.

    ``judged`` is the chosen k's judged table (:func:`judge_across_window`), ``found`` the
    claims' verdicts, ``ends`` :func:`tdnn_utils.readings.end_reduction` of the main networks
    on the layers trusted for components.
    """
    first = judged[judged["claim"] == "C1"]
    parts = {part: first[first["comparison"].str.endswith(f": {part}")]["status"] for part in ("components", "holes")}
    def tally(statuses):
        return ", ".join(f"{n} {status}" for status, n in statuses.value_counts().items()) or "none"
    merged = (f"merge {ends['components'].mean():.0%} of their classes' extra components by their last layer "
              f"trusted for components (mean over {len(ends)} networks at the chosen k)" if len(ends) else
              "could not be read at any trusted layer")
    return (":::{admonition} Key result\n:class: tip\n"
            f"At the paper's density, the networks at 100% {merged}. Claim 1 per configuration: components "
            f"{tally(parts['components'])}; holes {tally(parts['holes'])}. Verdicts: "
            + "; ".join(f"claim {c[1:]} **{v}**" for c, v in found.items()) + ".\n:::")


#: Where ``tools/check_abandon_rule.py`` writes what replaying the rule's attempts found.
RULE_CHECK = Path(__file__).resolve().parents[1] / "book" / "results" / "02_rule_check.json"


#: The pilot behind D-III's learning rate and the former abandon rule (``tools/attempt_pilot.py``).
PILOT = RULE_CHECK.with_name("02_attempt_pilot.json")


def pilot_counts(path=PILOT) -> dict | None:
    """The pilot's attempts in all, and per data set its learning rate, attempts and successes
    (None where the pilot's file is missing)."""
    path = Path(path)
    if not path.is_file():
        return None
    records = pd.DataFrame(json.loads(path.read_text()))
    per_problem = {name: {"lr": float(rows["lr"].iloc[0]), "attempts": len(rows),
                          "perfect": int(rows["reached_perfect"].sum())}
                   for name, rows in records.groupby("problem", sort=False)}
    return {"attempts": len(records), **per_problem}


def rule_check(path=RULE_CHECK) -> dict | None:
    """The abandon rule's check (``tools/check_abandon_rule.py``), or None where it was not run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def describe_attempts(attempts: pd.DataFrame, check: dict | None = None) -> str:
    """One paragraph: how the attempts ended, and what replaying the rule's found (if run)."""
    if attempts.empty:
        return "No attempt was recorded."
    counts = attempts["ended"].value_counts()
    words = {"perfect": "reached 100%", "patience": "stopped improving (the authors' patience)",
             "rule": "were ended by the abandon rule", "budget": "ran out of steps"}
    text = (f"Of {len(attempts):,} attempts, " + ", ".join(f"{int(n):,} {words.get(k, k)}" for k, n in counts.items())
            + ".")
    if check is not None:
        text += (f" Trained again without the rule, {check['would_have_reached_100']} of the "
                 f"{check['ended_by_rule']} attempts it ended (in the run checked, {check['preset']} preset) "
                 f"would have reached 100%; the rule saved {check['steps_saved']:,} training steps.")
        if check["would_have_reached_100"] == 0:
            text += (" So every network kept here is, bit for bit, the one the authors' trainer alone "
                     "would have kept, and its Betti numbers are the same.")
        else:
            cut = [r for r in check.get("replays", []) if r.get("replay_perfect")]
            named = ", ".join(f"{r['problem']} {r['activation']} seed {r['seed']}" for r in cut)
            text += (f" The rule cut those successes ({named}): for these networks the one kept is a later "
                     "attempt's, not the one the authors' trainer alone would have kept, so the rule is a "
                     "deviation that changed which networks were read, for these seeds only.")
    return text


def trusted_depths(trust_table: pd.DataFrame, by=("problem", "architecture")) -> pd.DataFrame:
    """Depths trusted for every activation of a (problem, architecture): what comparisons read."""
    return trust.common_trust(trust_table, by)


def _check_betti(betti) -> pd.DataFrame:
    """A sweep's Betti table, checked: its columns, numbers where numbers are read, no missing key."""
    return check_columns(betti, [*NETWORK, "label", "depth", "dim", "betti"], "betti",
                         numeric=["depth", "dim", "betti"], complete=[*NETWORK, "label", "depth", "dim"])


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

    ``betti`` holds one k (e.g. :func:`at_role`'s "chosen"). For a "value" row: the book's mean
    and standard deviation over networks of beta_dim at that depth (the row's class, or both
    classes, each network's classes averaged, when the paper does not say). For a "reaches 1"
    row: the median over networks of the first depth where beta_0 is 1 (a class that never
    reaches it is left out and counted in ``never``).
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
            at = mine[mine["depth"] == ref.depth].groupby(list(NETWORK))["betti"].mean()
            entry.update(book=float(at.mean()) if len(at) else np.nan,
                         sd=float(at.std(ddof=1)) if len(at) > 1 else np.nan, n=int(len(at)), never=0)
        else:
            classes = mine.groupby(list(NETWORK) + ["label"])
            firsts = mine[mine["betti"] == 1].groupby(list(NETWORK) + ["label"])["depth"].min()
            entry.update(book=float(firsts.median()) if len(firsts) else np.nan,
                         sd=float(firsts.std(ddof=1)) if len(firsts) > 1 else np.nan, n=int(len(firsts)),
                         never=int(classes.ngroups - len(firsts)))
        out.append(entry)
    table = pd.DataFrame(out)
    table["difference"] = table["book"] - table["paper"]
    return table


# ---------------------------------------------------------------------------- the claims
#: Each claim's comparisons, the size claimed (delta) and where it comes from (rule 2 of
#: :mod:`tdnn_utils.verdicts`), fixed before any run at the paper's density.
CLAIMS = {
    "C1": {"claim": "A network trained to 100% reduces each class to one piece without holes by its last layer",
           "delta": {"components": 0.9, "holes": 0.75},
           "source": "judgement, set beside the paper's figures: at least 90% of the input's extra components "
                     "merged (D-I's 9 disks to at most 1.8 on average) and 75% of its holes filled (the paper's "
                     "own D-II output reads β1 0.8, 1.3 and 2.4 of 9 for ReLU, leaky ReLU and tanh: 91%, 86% "
                     "and 73% filled)"},
    "C2": {"claim": "ReLU simplifies faster than leaky ReLU, which is faster than tanh",
           "delta": 0.05,
           "source": "judgement, set beside the paper's figures: 5% of the input's excess topology averaged "
                     "over the layers; the paper's D-II curves put ReLU and leaky ReLU about 16% of the "
                     "input's excess apart at layer 5 (β1 3.3 against 6, of 8 + 9) and 3% at the output"},
    "C3": {"claim": "Shallow networks change topology abruptly at the end; deep ones spread the change",
           "delta": 0.1,
           "source": "judgement: a tenth of the scale from an even spread (0) to all change in the last step (1)"},
    "C4": {"claim": "Wider networks simplify more slowly; a bottleneck layer speeds it up",
           "delta": 0.05,
           "source": "judgement, as claim 2 (the paper's D-I width figure puts widths 50 and 5 about 1.5 of "
                     "the input's 8 extra components apart at layer 4, about 19%)"},
    "C5": {"claim": "On real data, with ReLU the topology falls to one piece by about layer 6; with tanh it "
                    "stays higher",
           "delta": {"by layer 6": 0.9, "tanh - relu": 0.05},
           "source": "the paper's text (\"the sum of Betti numbers falls to 1 by about layer 6\"), read as 90% "
                     "of the input's excess gone; the ReLU-tanh gap as claim 2's"},
}
FAMILY = "Chapter 2: every comparison of its five claims"
#: What every claim of the chapter was run on (the claims page shows it with each verdict).
SCOPE = ("fully connected networks trained to 100% with the authors' trainer on their D-I (generator), D-II and "
         "D-III (published files), read at the paper's density with the hop metric at the window of k")
#: The section of the chapter each claim is judged in (the claims page links there).
SECTIONS = {"C1": "ch2-claims", "C2": "ch2-claims", "C3": "ch2-variants", "C4": "ch2-variants", "C5": "ch2-real"}


def claim_records(judged: pd.DataFrame, found: Mapping[str, str], robustness: pd.DataFrame) -> list[tuple]:
    """``(id, claim, verdict, evidence, details)`` per claim for :func:`tdnn_utils.runs.record_claim`:
    the verdict across the window, the chosen k's comparisons in words, and the details the
    claims page shows (section, scope, delta and its source, family, comparisons)."""
    stands = robustness.set_index("claim")["stands"]
    entries = []
    for claim_id, claim in CLAIMS.items():
        rows = judged[judged["claim"] == claim_id]
        note = "" if stands.get(claim_id, True) else \
            (" The verdict changes across the window of k (" + ", ".join(
                f"{role} k: {robustness.set_index('claim').loc[claim_id, role]}" for role in ("low", "chosen", "high"))
             + "), so it is inconclusive.")
        delta = claim["delta"]
        delta_words = (", ".join(f"{name}: {value:g}" for name, value in delta.items()) if isinstance(delta, Mapping)
                       else f"{delta:g}")
        entries.append((f"ch2-{claim_id.lower()}", claim["claim"], found[claim_id],
                        verdicts.describe(rows) + note,
                        {"section": SECTIONS[claim_id], "scope": SCOPE, "delta": delta_words,
                         "delta_source": claim["source"], "family": FAMILY, "comparisons": rows}))
    return entries


def _rows(claim: str, rows: Mapping[str, dict]) -> list[dict]:
    """Rows for :func:`tdnn_utils.verdicts.judge`: each comparison tagged with the family and claim."""
    return [{"family": FAMILY, "claim": claim, "comparison": name, **row} for name, row in rows.items()]


def claim_simplifies(kept) -> list[dict]:
    """C1's comparisons: per (data set, activation), the end reduction of components and of holes.

    ``kept`` holds the main networks' readings at one k on the depths that may be read (the
    input and the trusted layers: :func:`readable`), one table for both parts or a mapping
    ``{"components": table, "holes": table}`` (each part read on the layers trusted for it). The
    end is the last readable depth; a configuration whose last two layers are both unreadable is
    untestable. One comparison per part and configuration, each network a unit, against
    :data:`CLAIMS`' deltas. A network whose end reading is missing is left out (``left_out``
    counts them); with no network at all the claim is untestable, with the reason.
    """
    tables = kept if isinstance(kept, Mapping) else {part: kept for part in CLAIMS["C1"]["delta"]}
    tables = {part: _check_betti(table) for part, table in tables.items()}
    judged = {part: (readings.end_reduction(table), _read_late(table)) for part, table in tables.items()}
    configurations = pd.concat([t[["problem", "activation"]] for t in tables.values()]).drop_duplicates()
    rows = {}
    for name, activation in configurations.itertuples(index=False):
        for part, delta in CLAIMS["C1"]["delta"].items():
            ends, late = judged[part]
            label = f"{name} {activation}: {part}"
            missing = late.get((name, activation))
            if missing:
                rows[label] = verdicts.untestable(UNREAD[missing], delta=delta)
                continue
            group = ends[(ends["problem"] == name) & (ends["activation"] == activation)]
            rows[label] = {**verdicts.paired_effect(group[part], delta), "left_out": int((~group["read"]).sum())}
    if not rows:
        rows = {"every configuration": verdicts.untestable("no network at 100% was read", delta=min(
            CLAIMS["C1"]["delta"].values()))}
    return _rows("C1", rows)


#: Why a configuration's claim-1 comparison is untestable, by what the checks left of it.
UNREAD = {"input": "no layer after the input passed the metric's checks: nothing the networks did can be read",
          "late": "neither of its last two layers passed the metric's checks"}


def _read_late(kept: pd.DataFrame) -> dict:
    """Per (problem, activation): None when one of the networks' last two layers is among the
    depths read, else the key of :data:`UNREAD` saying what is missing. The last layer is
    ``n_layers`` where the table has it, else the deepest depth of the (problem, architecture)."""
    if kept.empty:
        return {}
    layers = (kept["n_layers"] if "n_layers" in kept.columns
              else kept.groupby(["problem", "architecture"])["depth"].transform("max"))
    last = kept.assign(_layers=layers).groupby(["problem", "activation"]).agg(read=("depth", "max"),
                                                                              layers=("_layers", "max"))
    return {key: None if row.read >= row.layers - 1 else ("input" if row.read == 0 else "late")
            for key, row in last.iterrows()}


def readable(betti: pd.DataFrame, trusted: pd.DataFrame | None) -> pd.DataFrame:
    """The readings a verdict may use: the input, and the depths trusted for every activation of
    their (problem, architecture) (:func:`trusted_depths`); everything when ``trusted`` is None."""
    return betti if trusted is None else trust.trusted_only(betti, trusted, by=("problem", "architecture"))


def _ordered(values: pd.DataFrame, column: str, pairs, value: str, delta: float) -> dict:
    """"b exceeds a by delta" for each (label, a, b) in ``pairs`` of the groups of ``column``."""
    return {label: verdicts.shift_effect(values.loc[values[column] == a, value],
                                         values.loc[values[column] == b, value], delta)
            for label, a, b in pairs}


def _named(label: str, part: str | None) -> str:
    return label if part is None else f"{label} ({part})"


def claim_activation_order(area: pd.DataFrame, order: Sequence[str] = ACTIVATION_ORDER,
                           part: str | None = None) -> list[dict]:
    """C2's comparisons: per data set, each activation's area against the next slower one's
    (``part`` names the part the area counts, in the labels)."""
    rows = {}
    for name, group in area.groupby("problem", sort=False):
        pairs = [(_named(f"{name}: {a} < {b}", part), a, b) for a, b in zip(order, order[1:])]
        rows.update(_ordered(group, "activation", pairs, "area", CLAIMS["C2"]["delta"]))
    return _rows("C2", rows)


#: Why claim 3 reads no network: it needs each depth variant's last layer trusted for every part.
DEPTH_UNREAD = ("no depth variant's last layer passed the metric's checks for both components and holes, "
                "and the claim is about the change at the last layer")


def claim_depth_unread(depth_architectures: Sequence[str]) -> list[dict]:
    """C3's comparisons, each untestable for :data:`DEPTH_UNREAD`."""
    return _rows("C3", {f"{deep} < {shallow}": verdicts.untestable(DEPTH_UNREAD, delta=CLAIMS["C3"]["delta"])
                        for shallow, deep in zip(depth_architectures, depth_architectures[1:])})


def claim_depth(concentration: pd.DataFrame, depth_architectures: Sequence[str]) -> list[dict]:
    """C3's comparisons: each deeper network's end concentration below the next shallower one's."""
    pairs = [(f"{deep} < {shallow}", deep, shallow)
             for shallow, deep in zip(depth_architectures, depth_architectures[1:])]
    return _rows("C3", _ordered(concentration, "architecture", pairs, "concentration", CLAIMS["C3"]["delta"]))


def claim_width(area: pd.DataFrame, width_architectures: Sequence[str], bottleneck: str | None,
                base: str, part: str | None = None) -> list[dict]:
    """C4's comparisons: narrower networks' areas below wider ones'; the bottleneck's below ``base``'s."""
    pairs = [(_named(f"{a} < {b}", part), a, b) for a, b in zip(width_architectures, width_architectures[1:])]
    if bottleneck:
        pairs.append((_named(f"{bottleneck} < {base}", part), bottleneck, base))
    return _rows("C4", _ordered(area, "architecture", pairs, "area", CLAIMS["C4"]["delta"]))


def claim_real_data(kept: pd.DataFrame, by_layer: int = 6, part: str | None = None) -> list[dict]:
    """C5's comparisons on readable layers only (:func:`readable`): ReLU's excess (of ``part``)
    gone by ``by_layer``; tanh's area above ReLU's.

    Untestable, with the reason, when no layer after the input may be read, or ``by_layer`` may not.
    """
    deltas = {_named(name, part): delta for name, delta in CLAIMS["C5"]["delta"].items()}
    if not (kept["depth"] > 0).any():
        reason = "no layer after the input passed the metric's checks: nothing the networks did can be read"
        return _rows("C5", {name: verdicts.untestable(reason, delta=delta) for name, delta in deltas.items()})
    shares = readings.excess(kept[kept["activation"] == "relu"], part)
    if len(shares) and not (shares.loc[shares["depth"] == 0, "raw"] > 0).any():
        reason = (f"the input already reads as simple{f' in its {part}' if part else ''} in every class: "
                  "there is nothing for the networks to remove")
        return _rows("C5", {name: verdicts.untestable(reason, delta=delta) for name, delta in deltas.items()})
    at_layer = shares[shares["depth"] == by_layer]
    first, second = deltas
    rows = {first: (verdicts.paired_effect(1 - at_layer.groupby(list(NETWORK))["share"].mean(), deltas[first])
                    if len(at_layer) else
                    verdicts.untestable(f"layer {by_layer} did not pass the metric's checks", delta=deltas[first]))}
    area = readings.simplification_area(kept, part=part)
    rows.update(_ordered(area, "activation", [(second, "relu", "tanh")], "area", deltas[second]))
    return _rows("C5", rows)


@dataclass(frozen=True)
class Design:
    """Which networks each claim compares.

    main : data set -> its main architecture (claims 1 and 2 read these networks).
    activations : the main activations, in the paper's claimed order.
    variant_problem, variant_activation : the data set and activation of the depth and width
        variants (claims 3 and 4).
    depth_architectures, width_architectures : the variants, shallow to deep and narrow to wide.
    bottleneck, base : the bottleneck network's name and the main network it is compared with
        (None: no bottleneck).
    real : the real-data problem's name (claim 5), or None.
    """

    main: Mapping[str, str]
    activations: tuple = ACTIVATION_ORDER
    variant_problem: str = "D-I"
    variant_activation: str = "leaky_relu"
    depth_architectures: tuple = ()
    width_architectures: tuple = ()
    bottleneck: str | None = None
    base: str = "9×15"
    real: str | None = None

    def main_rows(self, table: pd.DataFrame, *, main_activations: bool = True) -> pd.DataFrame:
        """Rows of ``table`` (columns ``problem``, ``architecture``, ``activation``) on each data
        set's main architecture, and with ``main_activations`` only the main activations."""
        keep = table["problem"].map(self.main) == table["architecture"]
        if main_activations:
            keep &= table["activation"].isin(self.activations)
        return table[keep]


def comparisons(betti: pd.DataFrame, trust_table: pd.DataFrame | None, design: Design) -> list[dict]:
    """Every comparison of the chapter's five claims, on readings at one k (:func:`at_role`).

    ``trust_table`` is :func:`tdnn_utils.trust.layer_trust` by (problem, architecture,
    activation), of :func:`tdnn_utils.trust.part_checks` (with ``part``: components and holes
    judged apart) or of whole readings; None reads every depth. Each claim reads the input and
    the layers its arms may read for the part it judges: claim 1 each configuration's own (and
    only if one of its last two layers is among them); claims 2 and 5 the layers trusted for
    every activation compared; claim 3 each depth variant's own, trusted for every part and
    ending at its last layer; claim 4 the layers trusted for every width compared. Claims 1, 2,
    4 and 5 judge components and holes apart.
    """
    def keep(rows, part, arms=None):
        if trust_table is None or rows.empty:
            return rows
        table = trust.for_part(trust_table, part).merge(rows[["problem", "architecture", "activation"]].drop_duplicates())
        if arms is None:
            return trust.trusted_only(rows, table, by=("problem", "architecture", "activation"))
        return trust.trusted_only(rows, trust.common_trust(table, arms), by=arms)

    parts = ("components", "holes")
    main = design.main_rows(betti)
    rows = claim_simplifies({part: keep(main, part) for part in parts})
    for part in parts:
        area = readings.simplification_area(keep(main, part, ("problem", "architecture")), part=part)
        rows += claim_activation_order(area, design.activations, part)
    variants = betti[(betti["problem"] == design.variant_problem) & (betti["activation"] == design.variant_activation)]
    if design.depth_architectures:
        depth = _ending_at_the_last_layer(keep(variants[variants["architecture"].isin(design.depth_architectures)],
                                               "every"))
        rows += (claim_depth(end_concentration(depth), design.depth_architectures) if not depth.empty
                 else claim_depth_unread(design.depth_architectures))
    if design.width_architectures:
        names = list(design.width_architectures) + ([design.bottleneck] if design.bottleneck else [])
        for part in parts:
            width = keep(variants[variants["architecture"].isin(names)], part, ("problem", "activation"))
            rows += claim_width(readings.simplification_area(width, part=part), design.width_architectures,
                                design.bottleneck, design.base, part)
    if design.real:
        real = betti[betti["problem"] == design.real]
        for part in parts:
            rows += claim_real_data(keep(real, part, ("problem", "architecture")), part=part)
    return rows


def _ending_at_the_last_layer(kept: pd.DataFrame) -> pd.DataFrame:
    """The networks whose last layer is among their readable depths (the others left out; a
    table without ``n_layers`` is taken as read to its end)."""
    if kept.empty or "n_layers" not in kept.columns:
        return kept
    reaches = kept.groupby(list(NETWORK))["depth"].transform("max") == kept["n_layers"]
    return kept[reaches]


def judge_across_window(comparisons_at: Mapping[str, list]) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Judge the chapter at each k of the window; a verdict stands only where the window agrees.

    ``comparisons_at`` maps a role ("low", "chosen", "high") to the chapter's comparison rows
    read at that role's k. Each role's rows are judged as one family
    (:func:`tdnn_utils.verdicts.chapter_verdicts`). Returns ``(table, verdicts, robustness)``:
    the chosen k's judged table, each claim's verdict (the chosen k's when every role gives the
    same, else "inconclusive"), and a table of each claim's verdict per role with ``stands``.
    """
    per_role = {role: verdicts.chapter_verdicts(rows) for role, rows in comparisons_at.items()}
    table, chosen = per_role["chosen"]
    robustness = pd.DataFrame({role: pd.Series(found) for role, (_, found) in per_role.items()})
    robustness["stands"] = robustness.nunique(axis=1) == 1
    final = {claim: (verdict if robustness.loc[claim, "stands"] else "inconclusive")
             for claim, verdict in chosen.items()}
    return table, final, robustness.rename_axis("claim").reset_index()
