"""What the papers report, read off their figures and text, to set beside the book's numbers.

Values read off a figure are approximate (about +-0.2 for Betti numbers). Each table says
where a value comes from; the chapters draw them as "paper (read off its figures)" and list
them next to their own measurement, with every disagreement discussed.
"""

from __future__ import annotations

import pandas as pd

from .validation import check_positive_int

#: Naitzat, Zhitnikov & Lim (2020), mean Betti numbers over well-trained networks, read off
#: the paper's figures. ``depth`` counts layers from the input (0); ``"logits"`` is the last
#: depth; ``label`` None where the figure does not say which class (drawn for both).
#: ``kind``: "value" (the mean at that depth) or "reaches 1" (the depth at which beta_0 first
#: reaches about 1, stored with value 1).
NAITZAT_FIGURES = pd.DataFrame(
    [
        # D-I, class a (9 disks), beta_0
        ("D-I", "relu", "main", 0, 0, 4, 2.2, "value"),
        ("D-I", "relu", "main", 0, 0, 6, 1.1, "value"),
        ("D-I", "leaky_relu", "main", 0, 0, 6, 2.0, "value"),
        ("D-I", "tanh", "main", 0, 0, 9, 1.3, "value"),
        # D-II: beta_0 reaches 1 at about layer 5 / 6 / 8; beta_1 at layer 5 and at the output
        ("D-II", "relu", "main", None, 0, 5, 1.0, "reaches 1"),
        ("D-II", "leaky_relu", "main", None, 0, 6, 1.0, "reaches 1"),
        ("D-II", "tanh", "main", None, 0, 8, 1.0, "reaches 1"),
        ("D-II", "relu", "main", None, 1, 5, 3.3, "value"),
        ("D-II", "leaky_relu", "main", None, 1, 5, 6.0, "value"),
        ("D-II", "tanh", "main", None, 1, 5, 8.0, "value"),
        ("D-II", "relu", "main", None, 1, "logits", 0.8, "value"),
        ("D-II", "leaky_relu", "main", None, 1, "logits", 1.3, "value"),
        ("D-II", "tanh", "main", None, 1, "logits", 2.4, "value"),
        # D-III: beta_0 at layer 6
        ("D-III", "relu", "main", None, 0, 6, 1.6, "value"),
        ("D-III", "leaky_relu", "main", None, 0, 6, 3.9, "value"),
        ("D-III", "tanh", "main", None, 0, 6, 5.4, "value"),
        # width variants, D-I, leaky ReLU, class a, beta_0 at layer 4
        ("D-I", "leaky_relu", "width 50", 0, 0, 4, 5.3, "value"),
        ("D-I", "leaky_relu", "width 5", 0, 0, 4, 3.8, "value"),
        ("D-I", "leaky_relu", "bottleneck", 0, 0, 4, 2.2, "value"),
    ],
    columns=["problem", "activation", "architecture", "label", "dim", "depth", "value", "kind"],
)

#: Corneanu et al. (CVPR 2019), LeNet on MNIST: where the beta_1 Betti curve of the functional
#: graph peaks (epsilon = 1 - |r|), read off the figure in their repository (dnn-topology).
CORNEANU_PEAKS = pd.DataFrame(
    [("before training", 0.23, 0.23), ("after training", 0.11, 0.16)],
    columns=["when", "epsilon_low", "epsilon_high"],
)

#: tda-nn-analysis (seed 000): the total-persistence regulariser's reported effect.
TDA_NN_ANALYSIS = {
    "alphas_helped": (0.001, 0.1),
    "gain_points": (0.5, 2.0),
    "test_images": 300,
    "runs_per_setting": 1,
    "alpha_hurt": 1.0,
}

#: Hofer et al. (ICML 2020), topologically densified distributions: their recipe's constants.
HOFER = {"lambda": 0.1, "beta": 0.7, "group_size": 16, "batch_groups": 8, "epochs": 310}


def naitzat_points(problem: str, n_layers: int, architecture: str = "main") -> pd.DataFrame:
    """:data:`NAITZAT_FIGURES` for one data set and architecture, ``"logits"`` resolved to ``n_layers``.

    An unknown data set or architecture is refused with the known ones (a misspelt name would
    otherwise show no paper values, silently); ``n_layers`` is an integer >= 0.
    """
    for value, column in ((problem, "problem"), (architecture, "architecture")):
        known = sorted(set(NAITZAT_FIGURES[column]))
        if value not in known:
            raise ValueError(f"{column}={value!r} is unknown; use one of {known}")
    n_layers = check_positive_int(n_layers, "n_layers", minimum=0)
    rows = NAITZAT_FIGURES[(NAITZAT_FIGURES["problem"] == problem)
                           & (NAITZAT_FIGURES["architecture"] == architecture)].copy()
    rows["depth"] = [n_layers if d == "logits" else int(d) for d in rows["depth"]]
    return rows.reset_index(drop=True)
