"""Chapter 4's experiment: CNNs trained with and without a topological loss, paired by seed.

- :class:`Arm`: one training recipe (the baseline, or a loss with its weight);
- :func:`arms`: the baseline and the sweeps of alpha (total persistence on the logits),
  lambda and beta (Hofer's densified loss on the features, same-class batches), and
  torch-topological's loss;
- :func:`small_sample`: a stratified small training set per seed and the test set;
- :func:`train_arm`: one network, one arm, one seed: accuracies, time, and the topology of
  every block at the end (:class:`tdnn_utils.dynamics.TopologyRecorder`);
- :func:`run_arms`: every (family, arm, seed), with a progress bar;
- :func:`compare`: each arm against its baseline, paired by seed
  (:func:`tdnn_utils.verdicts.paired_test`, Holm-adjusted per family).

Within a seed every arm starts from the same weights and the same training images, so the
comparison is paired. Arms of the densified loss draw their batches as same-class groups;
their baseline (``baseline-grouped``) draws them the same way, so only the loss differs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import cnn, dynamics, regularizers, verdicts
from .training import accuracy, fit, seed_everything

LOSSES = ("none", "total_persistence", "densified", "torch_topological")


@dataclass(frozen=True)
class Arm:
    """One training recipe: a loss, its weight, Hofer's beta, and whether batches are grouped."""

    loss: str = "none"
    weight: float = 0.0
    beta: float | None = None
    grouped: bool = False

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} is unknown; use one of {LOSSES}")
        if not (np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"weight={self.weight!r} must be a finite number >= 0")
        if self.loss == "densified" and not (self.beta and self.beta > 0 and self.grouped):
            raise ValueError("the densified loss needs beta > 0 and grouped batches")

    @property
    def name(self) -> str:
        if self.loss == "none":
            return "baseline-grouped" if self.grouped else "baseline"
        if self.loss == "densified":
            return f"densified λ={self.weight:g} β={self.beta:g}"
        return f"{self.loss.replace('_', '-')} α={self.weight:g}"

    @property
    def baseline(self) -> str:
        return "baseline-grouped" if self.grouped else "baseline"

    def objective(self, maxdim: int = 1) -> regularizers.Objective:
        if self.loss == "none" or self.weight == 0:
            return regularizers.Objective()
        if self.loss == "total_persistence":
            return regularizers.Objective(regularizers.TotalPersistenceLoss(maxdim), self.weight, "logits")
        if self.loss == "torch_topological":
            return regularizers.Objective(regularizers.TorchTopologicalLoss(maxdim), self.weight, "logits")
        return regularizers.Objective(regularizers.DensifiedLoss(self.beta), self.weight, "features")


def arms(alphas=(), densified=(), torch_topological=()) -> list[Arm]:
    """The baseline, total persistence at each alpha > 0, the densified loss at each
    (lambda, beta) with its grouped baseline, and torch-topological's loss at each alpha."""
    result = [Arm()]
    result += [Arm("total_persistence", float(a)) for a in alphas if a > 0]
    if densified:
        result.append(Arm(grouped=True))
        result += [Arm("densified", float(lam), float(beta), grouped=True) for lam, beta in densified]
    result += [Arm("torch_topological", float(a)) for a in torch_topological if a > 0]
    names = [arm.name for arm in result]
    if len(set(names)) != len(names):
        raise ValueError(f"an arm is given twice: {names}")
    return result


def small_sample(labels, n_train: int, n_test: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified training set of ``n_train`` images (seeded) and a test set.

    The test set is ``n_test`` of the remaining images (``None``: all of them), drawn with
    ``seed`` as well. Every class gets ``n_train // n_classes`` training images, the first
    ``n_train % n_classes`` classes one more.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if n_train < len(classes):
        raise ValueError(f"n_train={n_train} is fewer than the {len(classes)} classes")
    rng = np.random.default_rng(seed)
    per_class = [n_train // len(classes) + (i < n_train % len(classes)) for i in range(len(classes))]
    train = []
    for label, count in zip(classes, per_class):
        members = np.flatnonzero(labels == label)
        if count > len(members):
            raise ValueError(f"class {label} has {len(members)} images; n_train={n_train} needs {count}")
        train.append(rng.choice(members, count, replace=False))
    train = np.sort(np.concatenate(train))
    rest = rng.permutation(np.setdiff1d(np.arange(len(labels)), train))
    if n_test is not None:
        if n_test > len(rest):
            raise ValueError(f"n_test={n_test} exceeds the {len(rest)} images left after training")
        rest = rest[:n_test]
    return train, rest


def train_arm(arm: Arm, family: str, size: str, X_train, y_train, X_test, y_test, probe, *,
              seed: int, epochs: int, batch_size: int = 64, lr: float = 1e-3,
              group_size: int = 16, maxdim: int = 1, device: str = "auto") -> tuple[dict, pd.DataFrame]:
    """Train one network with ``arm`` and measure it.

    The weights are seeded with ``seed`` (the same for every arm). Returns a record (family,
    arm, seed, train/test accuracy, mean cross-entropy and regulariser per step, Omega of the
    probe's logits after training (:class:`~tdnn_utils.regularizers.TotalPersistenceLoss`, the
    total-persistence loss's own measure, for every arm), seconds of training and of persistence) and the topology of every block on ``probe`` after training
    (:attr:`tdnn_utils.dynamics.TopologyRecorder.summaries`).
    """
    n_classes = int(max(np.max(y_train), np.max(y_test))) + 1
    seed_everything(seed)
    model = cnn.build(family, size, num_classes=n_classes, in_channels=int(np.shape(X_train)[1]))
    objective = arm.objective(maxdim)
    order = None
    if arm.grouped:
        order = lambda generator: regularizers.grouped_order(y_train, group_size, generator)  # noqa: E731
    recorder = dynamics.TopologyRecorder(probe, epochs=[epochs], functional_graph=False)
    start = time.perf_counter()
    history = fit(model, X_train, y_train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                  device=device, progress=False, objective=objective, batch_order=order)
    seconds = time.perf_counter() - start
    recorder(model, epochs)
    steps = max(1, objective.steps)
    model.eval()
    with torch.no_grad():
        probe_logits = model(torch.as_tensor(np.asarray(probe), dtype=torch.float32,
                                             device=next(model.parameters()).device))
        probe_omega = regularizers.TotalPersistenceLoss(maxdim)(probe_logits.double().cpu()).item()
    record = {"family": family, "arm": arm.name, "baseline": arm.baseline, "loss": arm.loss,
              "weight": arm.weight, "beta": arm.beta, "seed": seed,
              "train_accuracy": history.final_accuracy,
              "test_accuracy": accuracy(model, X_test, y_test),
              "cross_entropy": objective.cross_entropy / steps,
              "regularizer": objective.regularizer / steps, "probe_omega": probe_omega,
              "train_seconds": seconds, "persistence_seconds": objective.persistence_seconds}
    summaries = recorder.summaries.assign(family=family, arm=arm.name, seed=seed)
    return record, summaries


def run_arms(arms_: list[Arm], families, seeds, data_for_seed, *, size: str, epochs: int,
             progress: bool = True, **train_kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every (family, seed, arm): :func:`train_arm` on ``data_for_seed(seed)``.

    ``data_for_seed(seed)`` returns ``(X_train, y_train, X_test, y_test, probe)``. Returns
    the records (one row per network) and the block summaries, concatenated.
    """
    jobs = [(family, seed, arm) for family in families for seed in seeds for arm in arms_]
    records, summaries = [], []
    data_cache = {}
    for family, seed, arm in tqdm(jobs, desc="networks", disable=not progress, mininterval=30.0):
        if seed not in data_cache:
            data_cache = {seed: data_for_seed(seed)}
        record, summary = train_arm(arm, family, size, *data_cache[seed], seed=seed, epochs=epochs,
                                    **train_kwargs)
        records.append(record)
        summaries.append(summary)
    return pd.DataFrame(records), pd.concat(summaries, ignore_index=True)


def compare(records: pd.DataFrame, value: str = "test_accuracy") -> pd.DataFrame:
    """Each arm against its baseline, paired by seed, per family.

    One row per (family, arm) that is not a baseline: the arm's mean and standard deviation
    of ``value``, the baseline's mean, and :func:`tdnn_utils.verdicts.paired_test`'s columns,
    with ``p_holm``: the t-test's p adjusted over the family's arms.
    """
    rows = []
    for (family, arm), group in records.groupby(["family", "arm"], sort=False):
        base_name = group["baseline"].iloc[0]
        if arm == base_name:
            continue
        base = records[(records["family"] == family) & (records["arm"] == base_name)]
        paired = group.merge(base[["seed", value]], on="seed", suffixes=("", "_baseline"))
        test = verdicts.paired_test(paired[value], paired[f"{value}_baseline"])
        rows.append({"family": family, "arm": arm, "baseline": base_name,
                     "loss": group["loss"].iloc[0], "weight": group["weight"].iloc[0],
                     "beta": group["beta"].iloc[0],
                     "mean": float(paired[value].mean()), "sd": float(paired[value].std(ddof=1)),
                     "baseline_mean": float(paired[f"{value}_baseline"].mean()), **test})
    table = pd.DataFrame(rows)
    if not table.empty:
        table["p_holm"] = table.groupby("family")["p"].transform(lambda p: verdicts.holm(p.to_numpy()))
    return table


def step_seconds(arm: Arm, family: str, size: str, X, y, *, batch_size: int = 64, steps: int = 20,
                 warmup: int = 3, maxdim: int = 1, group_size: int = 16, seed: int = 0) -> dict:
    """Median seconds per training step of ``arm`` on batches of ``batch_size``, and the share in persistence.

    For the benchmark: ``warmup`` steps are run first and not counted; the median resists
    the odd slow step. The share is the persistence time over the counted steps' total.
    """
    seed_everything(seed)
    model = cnn.build(family, size, num_classes=int(np.max(y)) + 1, in_channels=int(np.shape(X)[1]))
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    objective = arm.objective(maxdim)
    model.train()
    times, persistence_before = [], 0.0
    for step in range(warmup + steps):
        order = (regularizers.grouped_order(y, group_size, generator) if arm.grouped
                 else torch.randperm(len(X), generator=generator))
        index = order[:batch_size]
        if step == warmup:
            persistence_before = objective.persistence_seconds
        start = time.perf_counter()
        loss, _ = objective(model, X[index], y[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    persistence = objective.persistence_seconds - persistence_before
    total = sum(times)
    return {"family": family, "arm": arm.name, "step_seconds": float(np.median(times)),
            "persistence_share": persistence / total if total else 0.0}


def paired_differences(records: pd.DataFrame, value: str = "test_accuracy") -> pd.DataFrame:
    """Per (family, arm, seed): the arm's ``value`` minus its baseline's at the same seed."""
    base = records[records["arm"] == records["baseline"]][["family", "arm", "seed", value]]
    base = base.rename(columns={"arm": "baseline", value: "baseline_value"})
    treated = records[records["arm"] != records["baseline"]]
    paired = treated.merge(base, on=["family", "baseline", "seed"])
    paired["difference"] = paired[value] - paired["baseline_value"]
    return paired[["family", "arm", "baseline", "loss", "weight", "beta", "seed", "difference"]]


def with_block_persistence(records: pd.DataFrame, summaries: pd.DataFrame, block: str = "logits",
                           value: str = "normalised_persistence") -> pd.DataFrame:
    """``records`` with a column ``{block}_persistence``: ``value`` at ``block`` summed over dimensions.

    ``summaries`` are :func:`run_arms`'s block summaries (one row per family, arm, seed,
    block, dimension); by default the total persistence divided by the block's median
    distance, so the column is scale-free.
    """
    if block not in set(summaries["block"]):
        raise ValueError(f"block {block!r} is not in the summaries; they have {sorted(set(summaries['block']))}")
    totals = (summaries[summaries["block"] == block].groupby(["family", "arm", "seed"])[value].sum()
              .rename(f"{block}_persistence").reset_index())
    return records.merge(totals, on=["family", "arm", "seed"], how="left")


def improvement_claim(tests: pd.DataFrame, what: str = "test accuracy",
                      higher_is_better: bool = True) -> tuple[str, str]:
    """Verdict and evidence on "these arms improve ``what``", from :func:`compare` rows.

    Each family gets :func:`tdnn_utils.verdicts.improvement_verdict` over its arms; the
    verdict combines the families (:func:`tdnn_utils.verdicts.combine`). The evidence names
    each family's finding and its best arm: paired difference, its spread, the seeds that
    went the better way, p and Holm's p.
    """
    sign = 1 if higher_is_better else -1
    found, best = {}, []
    for family, rows in tests.groupby("family", sort=False):
        found[family] = verdicts.improvement_verdict(rows, higher_is_better=higher_is_better)
        row = rows.loc[(sign * rows["mean_difference"]).idxmax()]
        better = row["wins"] if higher_is_better else row["losses"]
        best.append(f"{family}: best {row['arm']} {row['mean_difference']:+.4g} {what} from "
                    f"{row['baseline_mean']:.4g} (sd {row['sd_difference']:.3g}, {better}/{row['n']} seeds "
                    f"better, p = {row['p']:.2g}, Holm {row['p_holm']:.2g})")
    verdict = verdicts.combine(v for v, _ in found.values())
    return verdict, "; ".join(f"{f}: {why}" for f, (_, why) in found.items()) + ". " + "; ".join(best)


def harm_claim(tests: pd.DataFrame, alpha: float = verdicts.ALPHA) -> tuple[str, str]:
    """Verdict and evidence on "these arms hurt": **confirmed** when every family's arms are
    all significantly worse (unadjusted p < ``alpha``), **partly** when some family's are."""
    hurt = {family: bool((rows["mean_difference"] < 0).all() and (rows["p"] < alpha).all())
            for family, rows in tests.groupby("family", sort=False)}
    verdict = "confirmed" if all(hurt.values()) else "partly" if any(hurt.values()) else "not reproduced"
    return verdict, "; ".join(f"{r.family}: {r.mean_difference:+.4f} (p = {r.p:.2g}, {r.losses}/{r.n} seeds worse)"
                              for r in tests.itertuples()) + "."
