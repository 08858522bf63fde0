"""giotto-deep's own run of its tutorial, read from ``book/results/gdeep_reference.json``.

The file is written by ``reference/giotto-deep/run_tutorial.py`` (``make gdeep-reference``) in
giotto-deep's own environment (Python 3.10, giotto-deep 0.0.4, torch 1.12.1); this module only
reads it, so the book's environment never needs giotto-deep.

- :func:`load_gdeep_reference` returns the JSON as a dict, after checking its shape;
- :func:`gdeep_betti_table` returns its per-layer Betti numbers as a tidy DataFrame;
- :func:`gdeep_accuracy_table` returns its accuracies, one row per (activation, seed);
- :func:`in_gdeep_convention` turns this book's pre-activation Betti table of the tutorial's
  networks into giotto-deep's layers and reduced beta_0;
- :func:`seed_agreement` compares two sets of runs group by group: do their ranges over
  seeds overlap? :func:`agreement_for_readers` puts its table in words.

Layers are those giotto-deep's ``ModelExtractor.get_activations`` hooks: the outputs of the
``Linear`` layers (before the activation) and, last, the model's output, which repeats the
logits; the input is not among them. Betti numbers are giotto-deep's, at one threshold
(0.5) on the 500-point batch pooled over both classes: its beta_0 is *reduced* (pieces - 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .validation import check_columns, check_finite

__all__ = ["ACTIVATIONS", "DEFAULT_PATH", "agreement_for_readers", "gdeep_accuracy_table", "gdeep_betti_table",
           "in_gdeep_convention", "load_gdeep_reference", "seed_agreement"]

#: The results file, relative to the repository root.
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "book" / "results" / "gdeep_reference.json"
#: The copy installed with the package (``make gdeep-reference`` writes both), read where the
#: repository is not at hand, as after ``pip install`` on Colab.
PACKAGED_PATH = Path(__file__).resolve().parent / "gdeep_reference.json"

#: giotto-deep tutorial's activation names -> this book's names (tdnn_utils.models).
ACTIVATIONS = {"relu": "relu", "leakyrelu": "leaky_relu", "tanh": "tanh", "sigmoid": "sigmoid"}

_TOP_KEYS = ("activations", "betti_method", "data", "layers", "settings", "versions")


def load_gdeep_reference(path=None) -> dict:
    """giotto-deep's reference run as a dict (``path`` defaults to :data:`DEFAULT_PATH`, or to
    :data:`PACKAGED_PATH` where the repository's file is absent).

    Raises ``FileNotFoundError`` naming the command that makes the file, and ``ValueError``
    when the file lacks a top-level key, an activation, or a run's Betti list does not have
    one entry per hooked layer.
    """
    if path is None:
        path = DEFAULT_PATH if Path(DEFAULT_PATH).is_file() else PACKAGED_PATH
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; make it with `make gdeep-reference` (giotto-deep's own "
            f"environment, Python 3.10)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} must hold a JSON object; found a {type(document).__name__}")
    missing = [key for key in _TOP_KEYS if key not in document]
    if missing:
        raise ValueError(f"{path} lacks the keys {missing}")
    unknown = set(document["activations"]) - set(ACTIVATIONS)
    if unknown or not document["activations"]:
        raise ValueError(f"{path}: activations {sorted(document['activations'])}; "
                         f"expected some of {sorted(ACTIVATIONS)}")
    n_layers = len(document["layers"]["hooked"])
    for activation, entry in document["activations"].items():
        for run in entry["runs"]:
            if len(run["betti"]) != n_layers:
                raise ValueError(f"{path}: {activation} seed {run['seed']} has "
                                 f"{len(run['betti'])} Betti rows for {n_layers} layers")
    return document


def gdeep_betti_table(reference=None) -> pd.DataFrame:
    """Per-layer Betti numbers of giotto-deep's run as a tidy table.

    ``reference`` is a dict from :func:`load_gdeep_reference`, or a path, or ``None`` for
    the default file. Columns: ``activation`` (the book's name: relu, leaky_relu, tanh,
    sigmoid), ``seed``, ``layer`` (the hooked module's name: ``linears.0`` ...,
    ``<model>`` for the model's own output), ``depth`` (1 for the first hooked layer: the
    input, depth 0, is not hooked), ``dim`` (0 or 1), ``betti`` (giotto-deep's count; beta_0
    is reduced).
    """
    if not isinstance(reference, dict):
        reference = load_gdeep_reference(reference)
    layers = [layer["name"] for layer in reference["layers"]["hooked"]]
    dims = reference["settings"]["homology_dimensions"]
    rows = []
    for activation, entry in reference["activations"].items():
        for run in entry["runs"]:
            for depth, (layer, betti) in enumerate(zip(layers, run["betti"]), start=1):
                rows += [{"activation": ACTIVATIONS[activation], "seed": int(run["seed"]),
                          "layer": layer, "depth": depth, "dim": int(dim), "betti": int(b)}
                         for dim, b in zip(dims, betti)]
    return pd.DataFrame(rows, columns=["activation", "seed", "layer", "depth", "dim", "betti"])


def gdeep_accuracy_table(reference=None) -> pd.DataFrame:
    """Accuracies of giotto-deep's run, one row per (activation, seed).

    Columns: ``activation``, ``seed``, ``train_accuracy`` (on the Trainer's own 80% training
    split), ``val_accuracy`` (its 20% validation split), ``all_points_accuracy`` (the whole
    data set), as fractions.
    """
    if not isinstance(reference, dict):
        reference = load_gdeep_reference(reference)
    columns = ["train_accuracy", "val_accuracy", "all_points_accuracy"]
    rows = [{"activation": ACTIVATIONS[activation], "seed": int(run["seed"]),
             **{column: float(run[column]) for column in columns}}
            for activation, entry in reference["activations"].items() for run in entry["runs"]]
    return pd.DataFrame(rows, columns=["activation", "seed", *columns])


def in_gdeep_convention(betti: pd.DataFrame, reference=None) -> pd.DataFrame:
    """This book's Betti table of the tutorial's networks, as giotto-deep reports it.

    ``betti``: a tidy table of :func:`tdnn_utils.topology.betti_by_layer` on
    ``layer_activations(model, X, stage="pre")`` of ``[3, 5, 5, 5, 2]`` networks on the
    pooled batch (one class label), with any extra key columns (``activation``, ``seed``).
    The input (depth 0) is dropped, depths 1 ... L keep their numbers and are named after
    giotto-deep's hooked layers, the last one (the logits) is repeated as giotto-deep's
    ``<model>`` layer, and beta_0 becomes reduced (pieces - 1). Raises ``ValueError`` when
    the network's depth differs from the reference's hooked layers.
    """
    if not isinstance(reference, dict):
        reference = load_gdeep_reference(reference)
    names = [layer["name"] for layer in reference["layers"]["hooked"]]
    table = betti[betti["depth"] > 0].copy()
    depths = sorted(table["depth"].unique())
    if depths != list(range(1, len(names))):
        raise ValueError(f"the table has depths {depths}; giotto-deep's {len(names)} hooked "
                         f"layers need depths 1 to {len(names) - 1} (the last is repeated)")
    last = table[table["depth"] == depths[-1]].assign(depth=len(names))
    table = pd.concat([table, last], ignore_index=True)
    table["layer"] = [names[d - 1] for d in table["depth"]]
    table["betti"] = table["betti"] - (table["dim"] == 0).astype(int)
    return table.drop(columns=["label"], errors="ignore").reset_index(drop=True)


def seed_agreement(ours: pd.DataFrame, theirs: pd.DataFrame, by, value: str) -> pd.DataFrame:
    """Per group ``by``: the two sets of seeds' mean, standard deviation and range of ``value``.

    ``agrees`` is True when the two ranges [min, max] over seeds overlap: the difference is
    within the spread of either re-run. Groups missing from one side are left out. Returns
    columns ``by``, ``ours_mean``, ``ours_sd``, ``ours_min``, ``ours_max``, ``ours_n``, the
    same for ``gdeep``, and ``agrees``.
    """
    by = list(by)
    for name, table in (("ours", ours), ("theirs", theirs)):
        check_columns(table, by + [value], name, numeric=[value], complete=by)
        check_finite(table[value], f"{name}[{value!r}]", allow_nan=True)

    def summary(table, prefix):  # a missing value (NaN) is left out; so is a group without any
        out = table.dropna(subset=[value]).groupby(by)[value].agg(["mean", "std", "min", "max", "size"])
        return out.rename(columns={"std": "sd", "size": "n"}).add_prefix(f"{prefix}_")

    table = summary(ours, "ours").join(summary(theirs, "gdeep"), how="inner").reset_index()
    table["agrees"] = (table["ours_min"] <= table["gdeep_max"]) & (table["gdeep_min"] <= table["ours_max"])
    return table


def agreement_for_readers(agreement: pd.DataFrame, by, *, percent: bool = False) -> pd.DataFrame:
    """:func:`seed_agreement`'s table as a reader reads it: per group ``by``, each run's mean and
    range over its seeds in one cell ("0.76 (0.70 to 0.81, 3 seeds)"; per cent with ``percent``),
    and whether the ranges overlap."""
    def number(value):
        return f"{value:.1%}" if percent else f"{value:.3g}"

    def cell(row, who):
        return (f"{number(row[f'{who}_mean'])} ({number(row[f'{who}_min'])} to {number(row[f'{who}_max'])}, "
                f"{int(row[f'{who}_n'])} seeds)")

    out = agreement[list(by)].copy()
    out["this book"] = [cell(row, "ours") for _, row in agreement.iterrows()]
    out["giotto-deep"] = [cell(row, "gdeep") for _, row in agreement.iterrows()]
    out["ranges overlap"] = agreement["agrees"].to_numpy()
    return out
