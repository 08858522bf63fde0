"""Per-class Betti numbers of every layer of a trained 10-layer, width-15 network on D-I.

Ours: ``tdnn_utils.topology.betti_by_layer`` (sparse hop counts up to the scale, giotto-ph
with edge collapse). Reference: the same measurement with giotto-tda's
``VietorisRipsPersistence`` on the dense hop-count matrix (scipy's all-pairs breadth-first
search; unreachable pairs a large constant), thresholded at the same scale. Each method runs
in its own process, so that peak memory (max RSS) is its own. Prints both times, the ratio,
both peak memories, and checks that the Betti numbers are identical. Target: ours >= 5x faster.

    python benchmarks/bench_betti_layers.py [--points 2600] [--steps 3000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

import numpy as np

K = 13          # the paper's k = 14 counts each point as its own neighbour (see datasets)
SCALE = 2.0     # hops; 2.5 in the paper, the same complex on whole-number hop counts
MAXDIM = 1


def trained_layers(n_points: int, steps: int):
    from tdnn_utils.datasets import naitzat, naitzat_homology_subset
    from tdnn_utils.models import FFNet, layer_activations
    from tdnn_utils.training import fit, seed_everything

    X, y = naitzat("D-I", seed=0)
    seed_everything(0)
    model = FFNet([2] + [15] * 9 + [2], "relu")
    history = fit(model, X, y, steps=steps, lr=0.01, lr_halving_every=2500, stop_at_perfect=True,
                  device="cpu", progress=False)
    H, labels = naitzat_homology_subset("D-I", n_points=n_points, seed=0)
    return layer_activations(model, H), labels, history.final_accuracy


def ours(layers, labels):
    from tdnn_utils.topology import betti_by_layer

    table = betti_by_layer(layers, labels, SCALE, k=K, maxdim=MAXDIM)
    return table.sort_values(["depth", "label", "dim"])["betti"].tolist()


def reference(layers, labels):
    from gtda.homology import VietorisRipsPersistence
    from scipy.sparse.csgraph import shortest_path

    from tdnn_utils.topology import knn_graph

    vr = VietorisRipsPersistence(metric="precomputed", homology_dimensions=tuple(range(MAXDIM + 1)),
                                 max_edge_length=SCALE, reduced_homology=False,
                                 infinity_values=np.inf, n_jobs=1)
    betti = []
    for values in layers.values():
        for label in np.unique(labels):
            points = values[labels == label]
            hops = shortest_path(knn_graph(points, K).astype(float), unweighted=True)
            hops[np.isinf(hops)] = 10 * len(points)
            diagram = vr.fit_transform(hops[None])[0]
            for dim in range(MAXDIM + 1):
                bars = diagram[diagram[:, 2] == dim]
                betti.append(int(((bars[:, 0] <= SCALE) & (bars[:, 1] > SCALE)).sum()))
    return betti


def _measure(method, n_points, steps, queue):
    layers, labels, accuracy = trained_layers(n_points, steps)
    start = time.perf_counter()
    betti = {"ours": ours, "reference": reference}[method](layers, labels)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "betti": betti, "peak_mib": peak_mib, "accuracy": accuracy,
               "layers": len(layers), "points": len(labels)})


def run(method, n_points, steps):
    queue = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=_measure, args=(method, n_points, steps, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2600, help="homology points (paper: 2,600)")
    parser.add_argument("--steps", type=int, default=3000, help="training budget (full batch)")
    args = parser.parse_args()
    mine = run("ours", args.points, args.steps)
    theirs = run("reference", args.points, args.steps)
    print(f"D-I, {mine['points']} homology points, {mine['layers']} layers (input, 9 hidden, logits), "
          f"2 classes, k={K}, scale {SCALE} hops, dimensions 0..{MAXDIM}; "
          f"network training accuracy {mine['accuracy']:.4f}")
    print(f"ours       {mine['seconds']:8.2f} s   peak {mine['peak_mib']:7.0f} MiB")
    print(f"reference  {theirs['seconds']:8.2f} s   peak {theirs['peak_mib']:7.0f} MiB  "
          "(giotto-tda VietorisRipsPersistence, dense hop counts)")
    ratio = theirs["seconds"] / mine["seconds"]
    identical = mine["betti"] == theirs["betti"]
    print(f"speed-up   {ratio:8.1f} x   (target >= 5)   identical Betti numbers: {identical}")
    if not identical:
        raise SystemExit("the two methods disagree")


if __name__ == "__main__":
    main()
