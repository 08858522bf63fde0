"""giotto-deep's own run of its "Topology of Deep Neural Networks" tutorial, as numbers.

Runs in giotto-deep's environment (Python 3.10, giotto-deep 0.0.4, torch 1.12.1; see
requirements.txt and ``make gdeep-reference``), never in the book's. It follows the tutorial
(``examples/topo_deep_neural_networks.ipynb``) with giotto-deep's own API:

1. ``DatasetBuilder(name="EntangledTori").build(n_pts=50)`` and the tutorial's
   ``DataLoaderBuilder`` call (batch 100, ``RandomSampler``);
2. ``gdeep.models.FFNet(arch=[3, 5, 5, 5, 2], activation=...)`` for ``F.relu``,
   ``F.leaky_relu``, ``torch.tanh``, ``torch.sigmoid``, each with a
   ``gdeep.trainer.Trainer(model, [dl_tr, dl_ts], nn.CrossEntropyLoss(), writer)``;
3. ``trainer.train(Adam, 7, False, {"lr": 0.01}, {"batch_size": 200})``;
4. one batch of 500 points (``DataLoaderBuilder((ds_tr,))``, ``RandomSampler``) and, per
   network, what ``Visualiser.plot_betti_numbers_layers(homology_dimensions=[0, 1],
   batch=..., filtration_value=0.5)`` computes: ``ModelExtractor.get_activations`` and
   ``gdeep.visualization._simplified_persistence_of_activations``, counted exactly as the
   Visualiser counts. The Visualiser method itself is also called and its plotted numbers
   are read back from the figure, to check that the two agree;
5. what ``Visualiser.plot_persistence_diagrams(batch, k=0)`` computes
   (``gdeep.visualization.persistence_diagrams_of_activations``), summarised per layer.

The tutorial seeds nothing; here ``random``, ``numpy`` and ``torch`` are seeded once per seed,
before the data set is built, and everything then happens in the tutorial's order.
TensorBoard writers go to a temporary folder. Writes a small JSON (no point clouds) and,
with ``--artifacts``, an ``.npz`` per seed with the data, the batch, the hooked activations,
the train/validation split and the trained weights, for ``compare_with_book.py``.

Usage: python run_tutorial.py [--seeds 0 1 2 3 4] [--n-pts 50] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "book" / "results" / "gdeep_reference.json"
DEFAULT_ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

ARCHITECTURE = [3, 5, 5, 5, 2]
EPOCHS = 7
LR = 0.01
TRAIN_BATCH = 200
LOADER_BATCH = 100
HOMOLOGY_BATCH = 500
FILTRATION_VALUE = 0.5
HOMOLOGY_DIMENSIONS = [0, 1]
DIAGRAM_K = 0  # the tutorial's plot_persistence_diagrams(batch, k=0): Euclidean VR
DIAGRAM_MAX_EDGE = 10  # persistence_diagrams_of_activations' default max_edge_length


def _quiet_imports():
    """Import giotto-deep and friends, hiding their import-time chatter."""
    warnings.filterwarnings("ignore")
    import torch  # noqa: F401
    import gdeep  # noqa: F401


def seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def versions() -> dict:
    names = {"giotto-deep": "giotto-deep", "torch": "torch", "numpy": "numpy",
             "giotto-tda": "giotto-tda", "giotto-ph": "giotto-ph",
             "scikit-learn": "scikit-learn", "torchtext": "torchtext", "scipy": "scipy"}
    out = {"python": platform.python_version()}
    for key, dist in names.items():
        out[key] = metadata.version(dist)
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------ the data
def _rotation_yz(angle: float) -> np.ndarray:
    """giotto-deep's ``Rotation(1, 2, angle).rotation_matrix()`` (angle in radians)."""
    matrix = np.identity(3)
    matrix[1, 1] = matrix[2, 2] = math.cos(angle)
    matrix[2, 1] = math.sin(angle)
    matrix[1, 2] = -math.sin(angle)
    return matrix


def fit_torus(points: np.ndarray) -> dict:
    """Least-squares torus through ``points``: centre, unit normal, major and minor radius.

    Starts from the centroid and the PCA normal (least-variance axis), then minimises the
    distances of the points to the torus surface with ``scipy.optimize.least_squares``.
    """
    from scipy.optimize import least_squares

    points = np.asarray(points, dtype=np.float64)
    centre0 = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre0, full_matrices=False)
    normal0 = vt[2]
    theta0 = math.acos(np.clip(normal0[2], -1, 1))
    phi0 = math.atan2(normal0[1], normal0[0])

    def unpack(p):
        c = p[:3]
        n = np.array([math.sin(p[3]) * math.cos(p[4]), math.sin(p[3]) * math.sin(p[4]),
                      math.cos(p[3])])
        return c, n, p[5], p[6]

    def residuals(p):
        c, n, major, minor = unpack(p)
        d = points - c
        h = d @ n
        rho = np.linalg.norm(d - np.outer(h, n), axis=1)
        return np.hypot(rho - major, h) - minor

    spread = np.linalg.norm(points - centre0, axis=1)
    start = np.r_[centre0, theta0, phi0, spread.mean(), 0.25 * (spread.max() - spread.min())]
    fit = least_squares(residuals, start, method="lm")
    c, n, major, minor = unpack(fit.x)
    # sign convention for the normal: its largest component positive
    n = n if n[np.argmax(np.abs(n))] > 0 else -n
    res = residuals(fit.x)
    return {"centre": c, "normal": n, "major": float(abs(major)), "minor": float(abs(minor)),
            "residual_std": float(res.std()), "residual_max_abs": float(np.abs(res).max())}


def summarise_data(X: np.ndarray, y: np.ndarray, n_pts: int, split: dict) -> dict:
    """Shape, labels, split sizes, one fitted torus per (copy, label), noise and angles."""
    X = np.asarray(X, dtype=np.float64)
    labels, counts = np.unique(y, return_counts=True)
    cell = np.round(X / 10.0).astype(int)  # the pair a point belongs to: translation / 10
    tori = []
    for key in sorted({tuple(c) for c in cell.tolist()}):
        in_cell = (cell == np.array(key)).all(axis=1)
        for label in labels.tolist():
            mask = in_cell & (y == label)
            fit = fit_torus(X[mask])
            tilt = math.degrees(math.acos(min(1.0, abs(fit["normal"][2]))))
            tori.append({
                "translation": [10 * k for k in key], "label": int(label),
                "n_points": int(mask.sum()),
                "centre": [round(float(v), 4) for v in fit["centre"]],
                "centre_minus_translation": [round(float(v - 10 * k), 4)
                                             for v, k in zip(fit["centre"], key)],
                "normal": [round(float(v), 4) for v in fit["normal"]],
                "tilt_from_xy_plane_deg": round(tilt, 3),
                "major_radius": round(fit["major"], 4), "minor_radius": round(fit["minor"], 4),
                "residual_std": round(fit["residual_std"], 5),
            })

    # Noise and angles, read off exactly: giotto-deep's order is (copy, torus, t, s) with
    # t the outer and s the inner angle, both 0, 1, ..., n_pts - 1 radians; subtracting the
    # noise-free points and undoing the rotation leaves the raw noise.
    t, s = np.meshgrid(np.arange(n_pts), np.arange(n_pts), indexing="ij")
    t, s = t.ravel().astype(float), s.ravel().astype(float)
    ring = 2.0 + 0.5 * np.cos(s)
    clean = np.c_[ring * np.cos(t), ring * np.sin(t), 0.5 * np.sin(s)]
    block = n_pts**2
    rotation = {0: np.identity(3), 1: _rotation_yz(180.0)}
    shift = {0: np.zeros(3), 1: np.array([2.0, 0.0, 0.0])}
    noise = []
    n_pairs = len(X) // (2 * block)
    translations = [(i, j, k) for i in range(2) for j in range(2) for k in range(2)]
    for copy in range(n_pairs):
        for label in (0, 1):
            start = (2 * copy + label) * block
            offset = 10.0 * np.array(translations[copy]) if n_pairs == 8 else np.zeros(3)
            raw = (X[start:start + block] - offset - shift[label]) @ rotation[label]
            noise.append(raw - clean)
    noise = np.concatenate(noise)
    origin_pair = X[: 2 * block]
    copies_identical = max(
        float(np.abs(X[c * 2 * block:(c + 1) * 2 * block] - 10.0 * np.array(translations[c])
                     - origin_pair).max())
        for c in range(n_pairs)) if n_pairs == 8 else None
    angles = np.mod(np.arange(n_pts), 2 * np.pi)
    gaps = np.diff(np.r_[np.sort(angles), np.sort(angles)[0] + 2 * np.pi])
    return {
        "shape": list(X.shape),
        "dtype": "float32",
        "label_counts": {str(int(label)): int(count) for label, count in zip(labels, counts)},
        "split": split,
        "tori": tori,
        "noise": {
            "description": "noise * (np.random.rand() - 0.5) per coordinate, noise = 0.1, "
                           "drawn before the rotation; the 8 copies share the same noise",
            "width": 0.1,
            "measured_min": round(float(noise.min()), 5),
            "measured_max": round(float(noise.max()), 5),
            "measured_std": round(float(noise.std()), 5),
            "uniform_std_expected": round(0.1 / math.sqrt(12), 5),
            "copies_max_abs_difference": copies_identical,
        },
        "angles": {
            "description": "both torus angles take the integer values 0, 1, ..., n_pts - 1 "
                           "(radians, not a uniform grid on [0, 2 pi)); t outer, s inner",
            "values": f"range({n_pts})",
            "largest_gap_rad": round(float(gaps.max()), 4),
            "smallest_gap_rad": round(float(gaps.min()), 4),
            "reconstruction_max_abs_noise": round(float(np.abs(noise).max()), 5),
        },
        "second_torus_rotation": {
            "giotto_deep_call": "Rotation(1, 2, 180): math.cos/math.sin of 180 (radians)",
            "angle_mod_2pi_rad": round(180.0 % (2 * math.pi), 6),
            "angle_mod_2pi_deg": round(math.degrees(180.0 % (2 * math.pi)), 4),
            "tilt_from_xy_plane_deg": round(math.degrees(math.acos(abs(math.cos(180.0)))), 4),
        },
    }


# ------------------------------------------------------------------------ networks
def hooked_layer_names(model) -> list[dict]:
    """The modules whose forward hooks fire, in firing order, as ``get_activations`` sees them.

    ``ModelExtractor.get_activations`` hooks every module of ``model.modules()`` and keeps
    the outputs in firing order; the same hooks here record the module names.
    """
    import torch

    fired = []
    handles = [module.register_forward_hook(
        lambda m, i, o, name=name: fired.append((name, type(m).__name__, int(o.shape[-1]))))
        for name, module in model.named_modules()]
    with torch.no_grad():
        model(torch.zeros(1, ARCHITECTURE[0]))
    for handle in handles:
        handle.remove()
    return [{"name": name or "<model>", "module": kind, "width": width}
            for name, kind, width in fired]


def betti_as_visualiser(activations, pipe_loss) -> list[list[int]]:
    """``Visualiser.plot_betti_numbers_layers``' numbers, computed by its own code path."""
    from gdeep.visualization import _simplified_persistence_of_activations

    diagrams = _simplified_persistence_of_activations(
        activations, HOMOLOGY_DIMENSIONS, FILTRATION_VALUE)
    betti = []
    for dgm in diagrams:  # the Visualiser's counting, verbatim
        xx = dgm[:, 2]
        betti.append([len(xx[(dgm[:, 2] == dim) * (dgm[:, 1] == 1.0)])
                      for dim in HOMOLOGY_DIMENSIONS])
    return betti


def diagram_summaries(diagrams) -> dict:
    """Per layer and homology dimension (lists indexed [layer][dim]): the number of bars,
    how many reach ``max_edge_length`` (giotto-tda's stand-in for infinity), and the total
    persistence of the other (finite) bars. Padding triples (birth == death) are not bars."""
    bars, at_max, total = [], [], []
    for diagram in diagrams:
        row_bars, row_max, row_total = [], [], []
        for dim in HOMOLOGY_DIMENSIONS:
            kept = diagram[(diagram[:, 2] == dim) & (diagram[:, 0] < diagram[:, 1])]
            infinite = kept[:, 1] >= DIAGRAM_MAX_EDGE
            finite = kept[~infinite]
            row_bars.append(int(len(kept)))
            row_max.append(int(infinite.sum()))
            row_total.append(round(float((finite[:, 1] - finite[:, 0]).sum()), 4))
        bars.append(row_bars)
        at_max.append(row_max)
        total.append(row_total)
    return {"bars": bars, "at_max_edge_length": at_max, "total_finite_persistence": total}


def run_seed(seed: int, n_pts: int, logdir: str, artifacts: Path | None,
             check_visualiser: bool, diagrams: bool) -> dict:
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.optim import Adam
    from torch.utils.data import RandomSampler

    import gdeep.trainer.trainer as trainer_module
    from gdeep.data.datasets import DataLoaderBuilder, DatasetBuilder
    from gdeep.models import FFNet, ModelExtractor
    from gdeep.search import GiottoSummaryWriter
    from gdeep.trainer import Trainer
    from gdeep.visualization import Visualiser, persistence_diagrams_of_activations

    seed_all(seed)
    tick = time.perf_counter()

    # 1. the data, exactly as the tutorial builds it
    db = DatasetBuilder(name="EntangledTori")
    ds_tr, ds_val, ds_ts = db.build(n_pts=n_pts)
    dl_tr, dl_val, dl_ts = DataLoaderBuilder((ds_tr, ds_val, ds_ts)).build(
        [{"batch_size": LOADER_BATCH, "sampler": RandomSampler(ds_tr)},
         {"batch_size": LOADER_BATCH, "sampler": RandomSampler(ds_tr)},
         {"batch_size": LOADER_BATCH, "sampler": RandomSampler(ds_tr)}])
    X = ds_tr.out_tuple[0].numpy()
    y = np.asarray(ds_tr.out_tuple[1]).astype(np.int64)

    # 2. the models and trainers, in the tutorial's order
    activation_string = ["relu", "leakyrelu", "tanh", "sigmoid"]
    activation_functions = [F.relu, F.leaky_relu, torch.tanh, torch.sigmoid]
    loss_function = nn.CrossEntropyLoss()
    trainers = []
    for name, function in zip(activation_string, activation_functions):
        model_temp = FFNet(arch=ARCHITECTURE, activation=function)
        writer_temp = GiottoSummaryWriter(
            log_dir=os.path.join(logdir, f"seed{seed}", model_temp.__class__.__name__ + name))
        trainers.append(Trainer(model_temp, [dl_tr, dl_ts], loss_function, writer_temp))

    # 3. training. Trainer.train splits the data itself (train_test_split, test_size=0.2,
    # seeded by the global numpy state); a spy records the split it draws.
    splits = []
    original_split = trainer_module.train_test_split

    def spy(*args, **kwargs):
        out = original_split(*args, **kwargs)
        splits.append((np.asarray(out[0]), np.asarray(out[1])))
        return out

    trainer_module.train_test_split = spy
    results = {}
    try:
        for name, pipe in zip(activation_string, trainers):
            start = time.perf_counter()
            valloss, valacc = pipe.train(Adam, EPOCHS, False, {"lr": LR},
                                         {"batch_size": TRAIN_BATCH})
            results[name] = {"train_seconds": round(time.perf_counter() - start, 2),
                             "trainer_val_accuracy_percent": round(float(valacc), 4),
                             "trainer_val_loss": round(float(valloss), 6)}
    finally:
        trainer_module.train_test_split = original_split
    assert len(splits) == len(trainers), "Trainer.train did not split the data once per call"

    Xt = torch.from_numpy(X)
    for (name, pipe), (tr_idx, val_idx) in zip(zip(activation_string, trainers), splits):
        model = pipe.model  # the Trainer trains a copy of the model it was given
        model.eval()
        with torch.no_grad():
            predicted = model(Xt).argmax(1).numpy()
        model.train()
        correct = predicted == y
        results[name].update({
            "train_accuracy": round(float(correct[tr_idx].mean()), 6),
            "val_accuracy": round(float(correct[val_idx].mean()), 6),
            "all_points_accuracy": round(float(correct.mean()), 6),
            "n_train": int(len(tr_idx)), "n_val": int(len(val_idx)),
        })

    # 4. the homology batch and the Betti numbers per layer
    one_batch_dataset, _, _ = DataLoaderBuilder((ds_tr,)).build(
        [{"batch_size": HOMOLOGY_BATCH, "sampler": RandomSampler(ds_tr)}])
    batch_for_plotting = next(iter(one_batch_dataset))
    inputs, batch_labels = batch_for_plotting
    batch_points = inputs.detach().numpy().copy()

    saved = {}
    for name, pipe in zip(activation_string, trainers):
        extractor = ModelExtractor(pipe.model, pipe.loss_fn)
        activations = extractor.get_activations(inputs)
        betti = betti_as_visualiser(activations, pipe.loss_fn)
        results[name]["betti"] = betti
        results[name]["layer_widths"] = [int(a.shape[-1]) for a in activations]
        if check_visualiser:
            import matplotlib.pyplot as plt

            figure = Visualiser(pipe).plot_betti_numbers_layers(
                homology_dimensions=HOMOLOGY_DIMENSIONS, batch=batch_for_plotting,
                filtration_value=FILTRATION_VALUE)
            plotted = [[int(v) for v in line.get_ydata()] for line in figure.axes[0].lines]
            plt.close(figure)
            results[name]["visualiser_plot_matches"] = plotted == np.array(betti).T.tolist()
        if diagrams:
            start = time.perf_counter()
            dgms = persistence_diagrams_of_activations(
                [a.detach().clone() for a in activations],
                homology_dimensions=HOMOLOGY_DIMENSIONS, k=DIAGRAM_K)
            results[name]["diagrams"] = diagram_summaries(dgms)
            results[name]["diagram_seconds"] = round(time.perf_counter() - start, 2)
        saved[name] = [a.detach().cpu().numpy() for a in activations]
        pipe.writer.close()

    layer_names = hooked_layer_names(trainers[0].model)
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
        arrays = {"X": X, "y": y, "batch_points": batch_points,
                  "batch_labels": batch_labels.numpy()}
        for (name, pipe), (tr_idx, val_idx) in zip(zip(activation_string, trainers), splits):
            arrays[f"{name}/train_idx"] = tr_idx
            arrays[f"{name}/val_idx"] = val_idx
            for i, act in enumerate(saved[name]):
                arrays[f"{name}/act{i}"] = act
            for key, value in pipe.model.state_dict().items():
                arrays[f"{name}/state/{key}"] = value.cpu().numpy()
        np.savez_compressed(artifacts / f"seed{seed}.npz", **arrays)

    return {"X": X, "y": y, "splits": splits, "results": results, "layers": layer_names,
            "seconds": round(time.perf_counter() - tick, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-pts", type=int, default=50)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS,
                        help="folder for the per-seed .npz files ('' to skip)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-diagrams", action="store_true",
                        help="skip the persistence diagrams (plot_persistence_diagrams)")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 10):
        print(f"warning: giotto-deep 0.0.4's environment is Python 3.10; this is "
              f"{platform.python_version()}", file=sys.stderr)

    _quiet_imports()
    import torch

    torch.set_num_threads(args.threads)
    artifacts = Path(args.artifacts) if str(args.artifacts) else None
    started = time.perf_counter()
    per_seed = []
    with tempfile.TemporaryDirectory(prefix="gdeep-tb-") as logdir:
        for seed in args.seeds:
            print(f"seed {seed}: building, training 4 networks, Betti numbers", flush=True)
            per_seed.append((seed, run_seed(seed, args.n_pts, logdir, artifacts,
                                            check_visualiser=True,
                                            diagrams=not args.no_diagrams)))
            print(f"seed {seed}: done in {per_seed[-1][1]['seconds']} s", flush=True)

    first = per_seed[0][1]
    split_sizes = {"train": int(len(first["splits"][0][0])),
                   "validation": int(len(first["splits"][0][1])), "test": 0}
    split = {
        **split_sizes,
        "description": "DatasetBuilder('EntangledTori').build() returns (dataset, None, None): "
                       "no validation or test set. The tutorial's Trainer gets [dl_tr, dl_ts] "
                       "(two loaders), so Trainer.train draws its own split of the whole data "
                       "set, train_test_split(range(n), test_size=0.2), new for every call "
                       "(each network sees a different 80%), unseeded (global numpy state). "
                       "The homology batch is drawn from all points, validation ones included.",
        "differs_per_network": bool(any(
            not np.array_equal(first["splits"][0][0], s[0]) for s in first["splits"][1:])),
    }
    activations_out = {}
    names = {"relu": "F.relu", "leakyrelu": "F.leaky_relu (negative_slope 0.01)",
             "tanh": "torch.tanh", "sigmoid": "torch.sigmoid"}
    for name in ("relu", "leakyrelu", "tanh", "sigmoid"):
        rows = []
        for seed, out in per_seed:
            r = out["results"][name]
            row = {"seed": seed, **{k: r[k] for k in (
                "train_accuracy", "val_accuracy", "all_points_accuracy",
                "trainer_val_accuracy_percent", "betti", "visualiser_plot_matches",
                "train_seconds")}}
            if "diagrams" in r:
                row["diagrams"] = r["diagrams"]
                row["diagram_seconds"] = r["diagram_seconds"]
            rows.append(dict(sorted(row.items())))
        activations_out[name] = {"function": names[name], "runs": rows}

    layers = first["layers"]
    document = {
        "about": "giotto-deep 0.0.4's own run of its tutorial 'Topology of Deep Neural "
                 "Networks' (examples/topo_deep_neural_networks.ipynb), made by "
                 "reference/giotto-deep/run_tutorial.py in giotto-deep's own environment",
        "preset": None,
        "versions": versions(),
        "settings": {
            "dataset": "DatasetBuilder(name='EntangledTori').build(n_pts=n_pts)",
            "n_pts": args.n_pts,
            "architecture": ARCHITECTURE,
            "epochs": EPOCHS,
            "optimizer": "Adam",
            "lr": LR,
            "batch_size": TRAIN_BATCH,
            "loader_batch_size": LOADER_BATCH,
            "gradient_clipping": "Trainer clips the gradient norm at 5 before every step",
            "homology_batch": HOMOLOGY_BATCH,
            "filtration_value": FILTRATION_VALUE,
            "homology_dimensions": HOMOLOGY_DIMENSIONS,
            "seeds": list(args.seeds),
            "seeding": "random.seed, np.random.seed, torch.manual_seed once per seed, before "
                       "the data set is built (the tutorial seeds nothing)",
            "torch_threads": args.threads,
            "device": "cpu",
        },
        "layers": {
            "hooked": layers,
            "description": "ModelExtractor.get_activations hooks every module in "
                           "model.modules(); the hooks that fire are the 4 Linear layers "
                           "(their outputs, i.e. before the activation, which FFNet applies "
                           "as a function) and the FFNet module itself (its output: the "
                           "logits again). The ModuleList never runs; the input is not "
                           "included. So 5 'layers': 3 pre-activation hidden layers, the "
                           "logits, and the logits a second time.",
            "pre_activation": True,
            "includes_input": False,
        },
        "betti_method": {
            "function": "gdeep.visualization._simplified_persistence_of_activations "
                        "(called by Visualiser.plot_betti_numbers_layers)",
            "distances": "sklearn pairwise_distances of each layer's output, binarised: "
                         "(d > filtration_value) * 1.0, so an edge is present when "
                         "d <= filtration_value",
            "persistence": "gtda VietorisRipsPersistence(homology_dimensions=[0, 1], "
                           "metric='precomputed'), defaults otherwise: reduced_homology=True, "
                           "infinite bars kept at death inf",
            "count": "bars of dimension d with death == 1.0 (births 0); with reduced "
                     "homology and a complete graph at 1, beta_0 is the number of pieces "
                     "minus 1 (reduced beta_0), beta_1 the number of loops at the threshold",
        },
        "diagrams_method": {
            "function": "gdeep.visualization.persistence_diagrams_of_activations(acts, "
                        "homology_dimensions=[0, 1], k=0) (Visualiser.plot_persistence_"
                        "diagrams(batch, k=0))",
            "persistence": "gtda VietorisRipsPersistence(reduced_homology=False, "
                           "max_edge_length=10, collapse_edges=True) on the points "
                           "(Euclidean); bars alive at 10 get death 10",
        },
        "data": summarise_data(first["X"], first["y"], args.n_pts, split),
        "activations": activations_out,
        "timing_seconds": {"total": round(time.perf_counter() - started, 1),
                           "per_seed": {str(seed): out["seconds"] for seed, out in per_seed}},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.output} in {document['timing_seconds']['total']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
