"""Chapter 3's costs: each piece of the book preset, timed, and the preset's total predicted from them.

The pieces, at the book preset's sizes (read from ``notebooks/presets.yml``), each run with one
torch thread as the chapter's workers run them, interleaved over rounds
(:func:`harness.interleave`) so that load from elsewhere falls on all of them alike:

- one training epoch of each network (Corneanu et al.'s LeNet; the small ResNet, DenseNet and
  EfficientNet) on the preset's training images, batch as in the preset;
- one evaluation of the training and test accuracy (what the runs record at chosen epochs);
- one functional-graph measurement: the LeNet's on the test probe (every unit, dimensions 0
  to ``functional_maxdim``, capped at ``cap``) with its shuffled-probe null, as the
  recorder makes it at each measured epoch; each family's on the training probe;
- one per-layer persistence call of each family (dimensions 0-1 on the depth probe).

Targets (one line each, on the per-round ratios or values):

- a LeNet functional-graph measurement costs at most 5 LeNet epochs (so measuring it at the
  preset's epochs stays a small part of its training);
- each family's per-layer persistence call costs less than the epoch it measures;
- the book preset, predicted from the pieces (every network's epochs, measurements and
  evaluations, spread over ``n_jobs`` workers), takes at most 45 minutes on this machine.

Run: ``python benchmarks/bench_topology_callback.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from tdnn_utils import cnn, dynamics, functional, images  # noqa: E402
from tdnn_utils.runs import load_presets  # noqa: E402
from tdnn_utils.training import accuracy, fit, seed_everything  # noqa: E402

CHAPTER = "03_cnn_training_dynamics"
#: The chapter's own overhead beyond the networks (figures, tables), seconds; measured on its smoke run.
NOTEBOOK_OVERHEAD_S = 60.0


def book_parameters() -> dict:
    """The book preset's parameters, over the notebook's defaults where the preset sets none."""
    import ast

    from tdnn_utils.runs import notebook_parameters

    root = Path(__file__).resolve().parent.parent
    defaults = {k: ast.literal_eval(v) for k, v in notebook_parameters(root / "notebooks" / f"{CHAPTER}.ipynb").items()}
    return {**defaults, **load_presets(root)["book"][CHAPTER]}


def main(rounds: int = 3) -> None:
    torch.set_num_threads(1)
    book = book_parameters()
    pixels, labels = images.load_dataset(book["data"], None, "train", book["image_size"])
    order = np.random.default_rng(0).permutation(len(pixels))
    train, test = order[:book["n_train"]], order[book["n_train"]:book["n_train"] + book["n_test"]]
    X, y, X_test, y_test = pixels[train], labels[train], pixels[test], labels[test]
    probe, probe_depth, probe_train = X_test[:book["n_probe"]], X_test[:book["n_probe_depth"]], X[:book["n_probe"]]
    side, families = pixels.shape[-1], list(book["families"])
    print(f"book preset of {CHAPTER}: {book['data']}, {len(X)} training images, probe {len(probe)}, "
          f"{harness.load()}")

    models = {"lenet": cnn.build("lenet", num_classes=10, in_channels=1, image_size=side,
                                 dropout=book["lenet_dropout"])}
    for family in families:
        seed_everything(0)
        models[family] = cnn.build(family, book["size"], num_classes=10, in_channels=1, image_size=side)
    for name, model in models.items():  # a little training, so that the graphs are not those of a fresh net
        fit(model, X, y, epochs=1, batch_size=book["batch_size"], lr=0.01, progress=False)

    def epoch(name):
        optimiser = "sgd" if name == "lenet" else "adam"
        return lambda: fit(models[name], X, y, epochs=1, batch_size=book["batch_size"], optimizer=optimiser,
                           lr=book["lenet_lr"] if name == "lenet" else book["lr"], progress=False)

    def evaluate(name):
        return lambda: (accuracy(models[name], X, y), accuracy(models[name], X_test, y_test))

    def lenet_graph():
        recorder = dynamics.TopologyRecorder(probe, per_block=False, functional_graph=True,
                                             max_units=book["max_units"], cap=book["cap"],
                                             functional_maxdim=book["functional_maxdim"])
        recorder(models["lenet"], 0)

    def family_graph(name):
        def call():
            signals, _ = functional.model_signals(models[name], probe_train, max_units=book["max_units"])
            functional.functional_persistence(signals=signals, maxdim=book["functional_maxdim"], cap=book["cap"])
        return call

    def per_layer(name):
        def call():
            dynamics.TopologyRecorder(probe_depth, functional_graph=False)(models[name], 0)
        return call

    arms = {"lenet epoch": epoch("lenet"), "lenet evaluation": evaluate("lenet"), "lenet graph": lenet_graph,
            "lenet train-probe graph": family_graph("lenet")}
    for family in families:
        arms.update({f"{family} epoch": epoch(family), f"{family} evaluation": evaluate(family),
                     f"{family} per-layer": per_layer(family), f"{family} graph": family_graph(family)})
    cpu = {name: [] for name in arms}

    def timed(name, function):
        def call():
            start = time.process_time()
            function()
            cpu[name].append(time.process_time() - start)
        return call

    wall = harness.interleave({name: timed(name, f) for name, f in arms.items()}, rounds=rounds)
    cpu = {name: np.asarray(values[-rounds:]) for name, values in cpu.items()}  # the timed rounds
    wall = {name: np.asarray(values) for name, values in wall.items()}

    print(f"\n{'piece':32s} wall s, median (range over {rounds} rounds)   CPU s, median")
    for name in arms:
        median, low, high = harness.summary(wall[name])
        print(f"{name:32s} {median:8.3f}  ({low:.3f} to {high:.3f})   {np.median(cpu[name]):8.3f}")
    estimates = {kind: estimate(book, times, families) for kind, times in (("wall", wall), ("CPU", cpu))}
    for kind, (minutes, lines) in estimates.items():
        print(f"\nbook preset, from the pieces' {kind} times (one thread per worker):")
        for line in lines:
            print("  " + line)

    print()
    print(harness.target_line("LeNet functional graph (with its null) / LeNet epoch",
                              harness.ratios(wall["lenet graph"], wall["lenet epoch"]), at_most=5))
    for family in families:
        print(harness.target_line(f"{family} per-layer persistence / {family} epoch",
                                  harness.ratios(wall[f"{family} per-layer"], wall[f"{family} epoch"]), at_most=1))
    print(harness.target_line("book preset, predicted from wall times (this machine, as loaded now)",
                              estimates["wall"][0], at_most=45, unit=" min"))
    print(harness.target_line("book preset, predicted from CPU times (each worker on a core of its own)",
                              estimates["CPU"][0], at_most=45, unit=" min"))


def estimate(book: dict, times: dict, families) -> tuple[np.ndarray, list[str]]:
    """Per-round minutes of the book preset predicted from the pieces' ``times``, and the arithmetic."""
    # The book preset's networks, piece by piece (see the chapter's Section 3): LeNets are
    # evaluated at every measured epoch, the families once, after training.
    lenet_measured = len(set(book["lenet_measure"]) | {0, book["lenet_epochs"]})
    family_measured = len(set(range(0, book["epochs"] + 1, book["measure_every"])) | {book["epochs"]})
    n_lenets = len(book["corruption"]) * book["lenet_seeds"]
    clean = 0.0 in book["corruption"]
    n_family_clean = book["depth_seeds"] if clean else 0
    n_family_other = book["gap_seeds"] * (len(book["corruption"]) - (1 if clean else 0))
    lenet_each = (book["lenet_epochs"] * times["lenet epoch"] + lenet_measured * (times["lenet graph"]
                  + times["lenet evaluation"]) + times["lenet train-probe graph"])
    total = n_lenets * lenet_each
    lines = [f"{n_lenets} LeNets x ({book['lenet_epochs']} epochs x {np.median(times['lenet epoch']):.3f} s "
             f"+ {lenet_measured} x ({np.median(times['lenet graph']):.3f} s graph + "
             f"{np.median(times['lenet evaluation']):.3f} s evaluation) + {np.median(times['lenet train-probe graph']):.3f} s)"
             f" = {np.median(n_lenets * lenet_each):.0f} s"]
    for family in families:
        base = (book["epochs"] * times[f"{family} epoch"] + times[f"{family} evaluation"]
                + times[f"{family} graph"])
        cost = n_family_clean * (base + family_measured * times[f"{family} per-layer"]) + n_family_other * base
        total = total + cost
        lines.append(f"{family}: {n_family_clean + n_family_other} networks x ({book['epochs']} epochs x "
                     f"{np.median(times[f'{family} epoch']):.2f} s + {np.median(times[f'{family} evaluation']):.2f} s "
                     f"evaluation + {np.median(times[f'{family} graph']):.2f} s graph) + {n_family_clean} x "
                     f"{family_measured} x {np.median(times[f'{family} per-layer']):.2f} s per-layer = "
                     f"{np.median(cost):.0f} s")
    workers = max(1, int(book.get("n_jobs", 1)))
    minutes = (total / workers + NOTEBOOK_OVERHEAD_S) / 60
    lines.append(f"total {np.median(total):.0f} s of work / {workers} workers + {NOTEBOOK_OVERHEAD_S:.0f} s "
                 f"for the page = {np.median(minutes):.1f} min")
    return minutes, lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    main(parser.parse_args().rounds)
