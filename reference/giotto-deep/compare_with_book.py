"""How far the book's re-implementation of the giotto-deep tutorial agrees with giotto-deep.

Runs in the *book's* environment (``PYTHONPATH=. .venv/bin/python
reference/giotto-deep/compare_with_book.py``) after ``make gdeep-reference``: it reads
``book/results/gdeep_reference.json`` and the per-seed ``artifacts/seed*.npz`` that
``run_tutorial.py`` leaves (giotto-deep's data, batch, hooked activations, splits and trained
weights; not committed), and compares, over the same seeds:

A. the data: giotto-deep's ``EntangledTori`` against ``tdnn_utils.datasets.entangled_tori``;
B. the Betti numbers of the *same* points (giotto-deep's hooked activations) by
   giotto-deep's method (in the JSON) and by ``tdnn_utils.topology.betti_numbers(points, 0.5)``;
C. the layers: giotto-deep's trained weights loaded into ``tdnn_utils.models.FFNet`` and read
   with ``layer_activations(..., stage="pre")`` against giotto-deep's hooks;
D. persistence of the same points: giotto-deep's diagram summaries against
   ``tdnn_utils.topology.persistence``;
E. the two pipelines run independently: giotto-deep's numbers against the book's
   ``FFNet(..., negative_slope=0.01)`` + ``fit(epochs=7, batch_size=200, lr=0.01)`` +
   ``layer_activations(stage="pre")`` + ``betti_numbers(points, 0.5)``, per activation, mean
   and spread over the seeds.

Writes ``reference/giotto-deep/comparison.md`` (tables) and prints it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from run_tutorial import fit_torus, summarise_data  # noqa: E402  (numpy + scipy only)
from tdnn_utils import reference, topology  # noqa: E402
from tdnn_utils.datasets import entangled_tori  # noqa: E402
from tdnn_utils.models import FFNet, layer_activations  # noqa: E402
from tdnn_utils.training import fit, seed_everything  # noqa: E402

BOOK_NAMES = reference.ACTIVATIONS  # giotto-deep name -> book name
BOOK_LAYERS = ["hidden_1", "hidden_2", "hidden_3", "logits", "logits"]  # per hooked layer


def mean_sd(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3g} ± {values.std(ddof=1) if len(values) > 1 else 0:.2g}"


def load_artifact(seed: int, artifacts: Path) -> dict:
    path = artifacts / f"seed{seed}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make gdeep-reference` first")
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


# ---------------------------------------------------------------------------- A. data
def compare_data(doc, arts, n_pts) -> list[str]:
    out = ["## A. The data", ""]
    rows = []
    for seed, art in arts.items():
        Xg, yg = art["X"], art["y"]
        Xb, yb = entangled_tori(n_pts=n_pts, seed=seed)
        diff = np.abs(Xb.astype(float) - Xg.astype(float))
        rows.append({"seed": seed, "shape equal": Xg.shape == Xb.shape,
                     "dtype gdeep/book": f"{Xg.dtype}/{Xb.dtype}",
                     "labels equal (same order)": bool(np.array_equal(yg, yb)),
                     "max |X_book - X_gdeep|": float(diff.max())})
    out += [pd.DataFrame(rows).to_markdown(index=False), ""]
    seed0 = next(iter(arts))
    Xb, yb = entangled_tori(n_pts=n_pts, seed=seed0)
    book = summarise_data(Xb, yb, n_pts, split={})
    gdeep = doc["data"]
    fits = []
    for tg, tb in zip(gdeep["tori"], book["tori"]):
        if tg["translation"] != [0, 0, 0]:
            continue  # the 8 copies are identical (same noise) on both sides
        for side, torus in (("giotto-deep", tg), ("book", tb)):
            fits.append({"torus": tg["label"], "side": side,
                         "centre": torus["centre"], "major": torus["major_radius"],
                         "minor": torus["minor_radius"],
                         "tilt (deg)": torus["tilt_from_xy_plane_deg"],
                         "normal": torus["normal"]})
    out += [f"Fitted tori at the origin (seed {seed0}; the other 7 copies are translations by "
            "10 of these, noise included, on both sides):", "",
            pd.DataFrame(fits).to_markdown(index=False), ""]
    noise = {side: d["noise"] for side, d in (("giotto-deep", gdeep), ("book", book))}
    out += ["Noise read off exactly (points minus their noise-free position, rotation undone):",
            "", pd.DataFrame(noise).T[["measured_min", "measured_max", "measured_std",
                                       "uniform_std_expected",
                                       "copies_max_abs_difference"]].to_markdown(), ""]
    out += [f"Label counts: giotto-deep {gdeep['label_counts']}, book "
            f"{book['label_counts']}. Split: giotto-deep's Trainer {gdeep['split']['train']} "
            f"train / {gdeep['split']['validation']} validation (its own train_test_split, "
            f"new per network), no test set; the book trains on all {len(Xb)} points.", ""]
    return out


# ---------------------------------------------------------------------------- B, C, D
def compare_same_points(doc, arts, diagrams: bool) -> tuple[list[str], dict]:
    names = list(doc["activations"])
    betti_rows, layer_rows, dgm_rows = [], [], []
    near_threshold = 0
    for seed, art in arts.items():
        run_of = {name: next(r for r in doc["activations"][name]["runs"] if r["seed"] == seed)
                  for name in names}
        batch = art["batch_points"]
        X, y = art["X"], art["y"]
        for name in names:
            acts = [art[f"{name}/act{i}"] for i in range(5)]
            gd = run_of[name]["betti"]
            for depth, act in enumerate(acts):
                book = topology.betti_numbers(act, 0.5, maxdim=1).tolist()
                d = topology.distance_matrix(act)[np.triu_indices(len(act), 1)]
                near_threshold += int((np.abs(d - 0.5) < 1e-5).sum())
                betti_rows.append({"seed": seed, "activation": name, "depth": depth + 1,
                                   "gdeep_b0": gd[depth][0], "gdeep_b1": gd[depth][1],
                                   "book_b0": book[0], "book_b1": book[1]})
            # C. same weights in the book's FFNet
            model = FFNet([3, 5, 5, 5, 2], BOOK_NAMES[name], negative_slope=0.01)
            state = {key.replace("linears.", "layers.").split("/state/")[-1]: torch.from_numpy(
                art[key]) for key in art if key.startswith(f"{name}/state/")}
            model.load_state_dict(state)
            ours = layer_activations(model, batch, stage="pre")
            worst = max(float(np.abs(ours[BOOK_LAYERS[i]] - acts[i]).max()) for i in range(5))
            with torch.no_grad():
                correct = (model(torch.from_numpy(X)).argmax(1).numpy() == y)
            layer_rows.append({"seed": seed, "activation": name,
                               "max |book pre - gdeep hook|": worst,
                               "input equals batch": bool(np.array_equal(ours["input"], batch)),
                               "accuracy, book torch": float(correct.mean()),
                               "accuracy, gdeep JSON": run_of[name]["all_points_accuracy"]})
            if diagrams:
                summary = run_of[name]["diagrams"]
                for depth, act in enumerate(acts[:4]):
                    full = topology.persistence(act, maxdim=1, n_threads=1)
                    cut = topology.persistence(act, maxdim=1, thresh=10.0, n_threads=1)
                    for dim in (0, 1):
                        finite = cut[dim][np.isfinite(cut[dim][:, 1])]
                        dgm_rows.append({
                            "seed": seed, "activation": name, "depth": depth + 1, "dim": dim,
                            "gdeep_bars": summary["bars"][depth][dim],
                            "book_bars": len(full[dim]),
                            "book_bars_born_10_or_later": int((full[dim][:, 0] >= 10).sum()),
                            "book_bars_shorter_1e-6": int(
                                (full[dim][:, 1] - full[dim][:, 0] < 1e-6).sum()),
                            "book_bars_thresh10": len(cut[dim]),
                            "gdeep_at_10": summary["at_max_edge_length"][depth][dim],
                            "book_alive_at_10_thresh10": int(np.isinf(cut[dim][:, 1]).sum()),
                            "gdeep_total": summary["total_finite_persistence"][depth][dim],
                            "book_total_thresh10": float((finite[:, 1] - finite[:, 0]).sum())})
    betti = pd.DataFrame(betti_rows)
    layers = pd.DataFrame(layer_rows)
    out = ["## B. Betti numbers of the same points (giotto-deep's hooked activations)", ""]
    b0_rel = (betti.gdeep_b0 == betti.book_b0 - 1)
    b1_eq = (betti.gdeep_b1 == betti.book_b1)
    out += [f"{len(betti)} (seed, activation, layer) point sets. giotto-deep's beta_0 equals "
            f"the book's beta_0 - 1 in {int(b0_rel.sum())} of {len(betti)}; beta_1 is equal in "
            f"{int(b1_eq.sum())} of {len(betti)}. Pairwise distances within 1e-5 of the "
            f"threshold 0.5: {near_threshold}.", ""]
    mismatches = betti[~(b0_rel & b1_eq)]
    if len(mismatches):
        out += ["Mismatches:", "", mismatches.to_markdown(index=False), ""]
    out += ["## C. The same trained weights read by the book's code", "",
            layers.to_markdown(index=False), ""]
    if diagrams:
        dgm = pd.DataFrame(dgm_rows)
        same_count = dgm.gdeep_bars == dgm.book_bars
        same_cut = dgm.gdeep_bars == dgm.book_bars_thresh10
        same_at_10 = dgm.gdeep_at_10 == dgm.book_alive_at_10_thresh10
        absolute = (dgm.gdeep_total - dgm.book_total_thresh10).abs()
        out += ["## D. Persistence of the same points", "",
                "giotto-deep's plot_persistence_diagrams(batch, k=0) (giotto-tda "
                "VietorisRipsPersistence, max_edge_length=10: bars born at 10 or later are "
                "never seen, bars alive at 10 get death 10) against "
                "tdnn_utils.topology.persistence, without a threshold and with thresh=10 "
                "(bars alive at 10 die at inf); layers 1-4 (layer 5 repeats 4), "
                f"{len(dgm)} diagrams.", "",
                f"- bar counts, book without threshold: equal in {int(same_count.sum())} of "
                f"{len(dgm)};",
                f"- bar counts, book with thresh=10: equal in {int(same_cut.sum())} of {len(dgm)}; "
                f"bars alive at 10 equal in {int(same_at_10.sum())} of {len(dgm)};",
                f"- total persistence of the bars that die before 10 (book with thresh=10): "
                f"largest absolute difference {float(absolute.max()):.1g} (the JSON rounds to 4 "
                f"decimals, so up to 5e-05 is agreement); totals range from "
                f"{float(dgm.book_total_thresh10.min()):.3g} to "
                f"{float(dgm.book_total_thresh10.max()):.3g}.", ""]
        bad = dgm[~(same_count & same_cut & same_at_10)]
        if len(bad):
            out += ["Diagrams whose counts differ anywhere:", "",
                    bad.drop(columns=["gdeep_total", "book_total_thresh10"]).to_markdown(
                        index=False), ""]
    return out, {"betti": betti, "layers": layers}


# ---------------------------------------------------------------------------- E. independent
def independent_runs(doc, seeds, n_pts, threads) -> tuple[list[str], pd.DataFrame]:
    torch.set_num_threads(threads)
    rows, betti_rows = [], []
    for seed in seeds:
        X, y = entangled_tori(n_pts=n_pts, seed=seed)
        batch = np.random.default_rng(seed).choice(len(X), 500, replace=False)
        for gname, name in BOOK_NAMES.items():
            seed_everything(seed)
            model = FFNet([3, 5, 5, 5, 2], name, negative_slope=0.01)
            start = time.perf_counter()
            history = fit(model, X, y, epochs=7, batch_size=200, lr=0.01, seed=seed,
                          device="cpu", progress=False)
            rows.append({"seed": seed, "activation": name, "book_accuracy": history.final_accuracy,
                         "book_seconds": time.perf_counter() - start})
            for layer, points in layer_activations(model, X[batch], stage="pre").items():
                b = topology.betti_numbers(points, 0.5, maxdim=1)
                betti_rows.append({"seed": seed, "activation": name, "layer": layer,
                                   "b0": int(b[0]), "b1": int(b[1])})
    book_acc = pd.DataFrame(rows)
    book_betti = pd.DataFrame(betti_rows)
    gd_acc = reference.gdeep_accuracy_table(doc)
    gd_betti = reference.gdeep_betti_table(doc)

    acc_rows = []
    for name in BOOK_NAMES.values():
        g = gd_acc[gd_acc.activation == name]
        b = book_acc[book_acc.activation == name]
        acc_rows.append({"activation": name,
                         "gdeep train (32,000)": mean_sd(g.train_accuracy),
                         "gdeep validation (8,000)": mean_sd(g.val_accuracy),
                         "gdeep all 40,000": mean_sd(g.all_points_accuracy),
                         "book all 40,000 (= training set)": mean_sd(b.book_accuracy),
                         "gdeep per seed": ", ".join(f"{v:.3f}" for v in g.all_points_accuracy),
                         "book per seed": ", ".join(f"{v:.3f}" for v in b.book_accuracy)})
    out = ["## E. The two pipelines run independently (same seeds, different random streams)",
           "", "Accuracy after 7 epochs (fractions; mean ± sd over seeds):", "",
           pd.DataFrame(acc_rows).to_markdown(index=False), ""]

    gd_layers = {1: "hidden_1", 2: "hidden_2", 3: "hidden_3", 4: "logits"}
    table = []
    for name in BOOK_NAMES.values():
        b_in = book_betti[(book_betti.activation == name) & (book_betti.layer == "input")]
        table.append({"activation": name, "layer": "input", "gdeep b0 (reduced)": "not hooked",
                      "gdeep b0 + 1": "", "book b0": mean_sd(b_in.b0),
                      "gdeep b1": "not hooked", "book b1": mean_sd(b_in.b1)})
        for depth, layer in gd_layers.items():
            g = gd_betti[(gd_betti.activation == name) & (gd_betti.depth == depth)]
            g0, g1 = g[g.dim == 0].betti.to_numpy(), g[g.dim == 1].betti.to_numpy()
            b = book_betti[(book_betti.activation == name) & (book_betti.layer == layer)]
            table.append({"activation": name, "layer": layer,
                          "gdeep b0 (reduced)": mean_sd(g0), "gdeep b0 + 1": mean_sd(g0 + 1),
                          "book b0": mean_sd(b.b0), "gdeep b1": mean_sd(g1),
                          "book b1": mean_sd(b.b1)})
    out += ["Betti numbers per layer at the threshold 0.5, 500 pooled points (mean ± sd over "
            "seeds; giotto-deep's 5th hooked output repeats the logits and is left out):", "",
            pd.DataFrame(table).to_markdown(index=False), "",
            f"Book training time per network: {mean_sd(book_acc.book_seconds)} s "
            f"(torch {torch.__version__}, {threads} thread(s)); giotto-deep's Trainer: "
            f"{mean_sd([r['train_seconds'] for e in doc['activations'].values() for r in e['runs']])} s.",
            ""]
    return out, book_acc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts")
    parser.add_argument("--output", type=Path, default=HERE / "comparison.md")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-diagrams", action="store_true")
    args = parser.parse_args(argv)
    doc = reference.load_gdeep_reference()
    seeds = doc["settings"]["seeds"]
    n_pts = doc["settings"]["n_pts"]
    arts = {seed: load_artifact(seed, args.artifacts) for seed in seeds}
    started = time.perf_counter()
    lines = ["# giotto-deep's tutorial against the book's re-implementation", "",
             f"Generated by `reference/giotto-deep/compare_with_book.py` from "
             f"`book/results/gdeep_reference.json` (giotto-deep {doc['versions']['giotto-deep']}, "
             f"torch {doc['versions']['torch']}) and the book's code (torch "
             f"{torch.__version__}); seeds {seeds}.", ""]
    lines += compare_data(doc, arts, n_pts)
    same, _ = compare_same_points(doc, arts, diagrams=not args.no_diagrams)
    lines += same
    independent, _ = independent_runs(doc, seeds, n_pts, args.threads)
    lines += independent
    lines += [f"(comparison took {time.perf_counter() - started:.0f} s)", ""]
    text = "\n".join(lines)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
