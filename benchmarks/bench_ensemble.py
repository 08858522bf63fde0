"""Batched training (fit_ensemble) against one network at a time (fit_until_perfect).

Chapter 2 trains many small networks of one architecture to 100% training accuracy.
``tdnn_utils.ensemble.fit_ensemble`` trains them as one batched model, each member exactly as
``fit_until_perfect`` trains it alone (same steps, same stopping, same fresh starts), so both
arms do the same work per network and the ratio of their wall times for the same networks is
the ratio of networks brought to 100% per minute.

What the timing counts: the wall time of the training calls only (building the networks,
training, reading them back), not data generation. By default each network gets a
truncated budget of ``--steps`` optimiser steps (too few to reach 100%: every network runs
its whole budget in both arms), so a round takes seconds, not hours; a member's cost per
step is then the same as in a full run, where members leave the batch as they reach 100%
(on the CPU a step costs in proportion to the members left in the batch). Give
``--steps 15000 --attempts 2`` to train to 100% for real.

Main comparison, per data set (D-I: ``naitzat("D-I")``, 7,800 points in 2-D, lr 0.01;
D-III: ``naitzat_homology_subset("D-III")``, 9,450 points in 3-D, lr 0.02; learning rate
halved every 2,500 steps): ``--networks`` networks per activation (relu, leaky_relu, tanh),
one ensemble per activation. Rounds interleave the arms (one at a time, then batched, on the
same seeds), so a machine that gets busier or quieter affects both; the summary gives the
median ratio and its range over rounds, and the load average with every round.

``--configs tori-batch500 --architectures 5x25`` runs Chapter 1's mini-batch setting instead
(entangled tori, 6,400 points, batches of 500, 5 hidden layers of width 25; with stopping at
100%, fit checks the whole set after every step, which dominates both arms);
``--configs tori-batch200 --architectures 3x5 --no-stop`` the giotto-deep tutorial's
training (batches of 200, 3 hidden layers of width 5, no stopping).

``--impl`` times one forward + backward pass of 30 members three ways (``baddbmm`` with
per-member weight gradients, as :class:`~tdnn_utils.ensemble.FFEnsemble` does; ``baddbmm``
with autograd's batched weight gradient; ``torch.func.vmap`` of ``functional_call``).
``--explore`` measures throughput (network-steps per second, D-III, 9×15, relu) for
ensemble sizes (``--sizes``) in three layouts of the 2 cores: 1 process with 1 thread,
1 process with 2 threads, 2 processes with 1 thread each (each process its own ensemble),
against one network at a time in the same layouts.

Run: ``python benchmarks/bench_ensemble.py`` (9 minutes measured on the 2 cores at a load of 3-5;
``--no-explore --no-impl`` for the main comparison alone).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np
import torch

from tdnn_utils.datasets import entangled_tori, naitzat, naitzat_homology_subset
from tdnn_utils.ensemble import fit_ensemble
from tdnn_utils.models import FFNet
from tdnn_utils.training import fit_until_perfect

ACTIVATIONS = ("relu", "leaky_relu", "tanh")
CONFIGS = {  # name -> (loader, learning rate, batch size: None is full batch)
    "D-I": (lambda: naitzat("D-I"), 0.01, None),
    "D-III": (lambda: naitzat_homology_subset("D-III"), 0.02, None),
    # Chapter 1's settings: entangled tori (20 angles, 6,400 points), batches of 500 (its
    # networks trained to 100%) or 200 (the giotto-deep tutorial's training)
    "tori-batch500": (lambda: entangled_tori(n_pts=20), 0.01, 500),
    "tori-batch200": (lambda: entangled_tori(n_pts=20), 0.01, 200),
}
HALVING = 2_500


def load(config):
    X, y = CONFIGS[config][0]()
    return np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)


def architecture(name: str) -> list[int]:
    depth, width = (int(part) for part in name.lower().replace("×", "x").split("x"))
    return [width] * depth


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def one_at_a_time(X, y, hidden, activation, seeds, *, steps, lr, attempts, batch_size=None,
                  stop=True):
    """Train the networks one after the other; returns (wall s, CPU s of this process, at 100%)."""
    widths = [X.shape[1], *hidden, 2]
    start, cpu = time.perf_counter(), time.process_time()
    perfect = 0
    for seed in seeds:
        _, history, _ = fit_until_perfect(
            lambda: FFNet(widths, activation), X, y, seed=seed, max_attempts=attempts,
            steps=steps, lr=lr, lr_halving_every=HALVING, batch_size=batch_size, device="cpu",
            stop_at_perfect=stop, progress=False)
        perfect += history.reached_perfect
    return time.perf_counter() - start, time.process_time() - cpu, perfect


def batched(X, y, hidden, activation, seeds, *, steps, lr, attempts, batch_size=None,
            stop=True):
    """Train the networks as one ensemble; returns (wall s, CPU s of this process, at 100%)."""
    widths = [X.shape[1], *hidden, 2]
    start, cpu = time.perf_counter(), time.process_time()
    members = fit_ensemble(widths, activation, X, y, list(seeds), steps=steps, lr=lr,
                           lr_halving_every=HALVING, max_attempts=attempts,
                           batch_size=batch_size, stop_at_perfect=stop, device="cpu",
                           progress=False)
    return (time.perf_counter() - start, time.process_time() - cpu,
            sum(m.reached_perfect for m in members))


def warm_up(X, y):
    one_at_a_time(X[:256], y[:256], [15] * 2, "relu", [0], steps=3, lr=0.01, attempts=1)
    batched(X[:256], y[:256], [15] * 2, "relu", [0, 1], steps=3, lr=0.01, attempts=1)


def compare(config, arch, args):
    X, y = load(config)
    (_, lr, batch_size), hidden = CONFIGS[config], architecture(arch)
    torch.set_num_threads(args.threads)
    warm_up(X, y)
    n = args.networks
    batches = ("full batch" if batch_size is None else f"batches of {batch_size}"
               + (", the whole set checked after every step as fit does" if args.stop else
                  ", no stopping at 100%"))
    print(f"{config} ({len(X):,} points, {X.shape[1]}-D, {batches}), {arch}, lr {lr}, halved every "
          f"{HALVING:,} steps: {n * len(ACTIVATIONS)} networks ({n} per activation, one "
          f"ensemble per activation) x {args.steps} steps, {args.attempts} attempt(s), "
          f"{args.threads} torch thread(s)", flush=True)
    ratios, cpu_ratios = [], []
    for round_ in range(1, args.rounds + 1):
        seeds = range(100 * round_, 100 * round_ + n)  # new networks every round
        load_before = load_average()
        wall, cpu, perfect = {}, {}, {}
        for arm, train in (("one", one_at_a_time), ("batched", batched)):
            wall[arm], cpu[arm], perfect[arm] = 0.0, 0.0, 0
            for activation in ACTIVATIONS:
                seconds, cpu_seconds, done = train(X, y, hidden, activation, seeds,
                                                   steps=args.steps, lr=lr, attempts=args.attempts,
                                                   batch_size=batch_size, stop=args.stop)
                wall[arm] += seconds
                cpu[arm] += cpu_seconds
                perfect[arm] += done
        work = n * len(ACTIVATIONS) * args.steps
        ratios.append(wall["one"] / wall["batched"])
        cpu_ratios.append(cpu["one"] / cpu["batched"])
        print(f"  round {round_}: one at a time {wall['one']:6.1f} s wall "
              f"({work / wall['one']:5.1f} network-steps/s; CPU {cpu['one']:6.1f} s), batched "
              f"{wall['batched']:6.1f} s wall ({work / wall['batched']:5.1f} network-steps/s; "
              f"CPU {cpu['batched']:6.1f} s): ratio {ratios[-1]:.2f} (CPU time "
              f"{cpu_ratios[-1]:.2f}); at 100%: {perfect['one']} and {perfect['batched']}; "
              f"load before [{load_before}], after [{load_average()}]", flush=True)
    median = statistics.median(ratios)
    verdict = "met" if median >= 10 else "not met"
    what = "networks at 100% per minute" if args.stop else "networks trained per minute (no stopping)"
    print(f"target >= 10x {what} on {config} {arch}: {verdict} "
          f"(median ratio {median:.2f}, range [{min(ratios):.2f}, {max(ratios):.2f}]; "
          f"by CPU time: median {statistics.median(cpu_ratios):.2f}, range "
          f"[{min(cpu_ratios):.2f}, {max(cpu_ratios):.2f}])", flush=True)
    return median


# ---------------------------------------------------------------------------- layouts
def _worker(kind, config, n_members, steps, threads, seed0, barrier, queue):
    torch.set_num_threads(threads)
    X, y = load(config)
    warm_up(X, y)
    hidden, lr = [15] * 9, CONFIGS[config][1]
    seeds = range(seed0, seed0 + n_members)
    barrier.wait()
    start = time.perf_counter()
    train = batched if kind == "batched" else one_at_a_time
    train(X, y, hidden, "relu", seeds, steps=steps, lr=lr, attempts=1)
    queue.put((start, time.perf_counter()))


def layout_rate(kind, n_members, processes, threads, steps, config="D-III") -> float:
    """Network-steps per second of ``processes`` processes, each training n_members networks."""
    context = mp.get_context("spawn")
    barrier, queue = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_worker, args=(kind, config, n_members, steps, threads,
                                                     1000 * (p + 1), barrier, queue))
               for p in range(processes)]
    for worker in workers:
        worker.start()
    spans = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return processes * n_members * steps / wall


def explore(args):
    layouts = [(1, 1), (1, 2), (2, 1)]  # (processes, threads per process)
    print(f"\nThroughput on D-III (9,450 points), 9×15, relu, {args.explore_steps} steps per "
          f"network (network-steps per second; each process trains its own networks):",
          flush=True)
    print("  " + "arm".ljust(26) + "".join(f"{p} proc x {t} thr".rjust(17) for p, t in layouts))
    best = None
    rows = [("one at a time", "one", args.single_networks)]
    rows += [(f"batched, ensemble of {size}", "batched", size) for size in args.sizes]
    for label, kind, size in rows:
        load_before = load_average()
        rates = []
        for processes, threads in layouts:
            rate = layout_rate(kind, size, processes, threads, args.explore_steps)
            rates.append(rate)
            if kind == "batched" and (best is None or rate > best[0]):
                best = (rate, size, processes, threads)
        print("  " + label.ljust(26) + "".join(f"{rate:17.1f}" for rate in rates)
              + f"   [load before {load_before}]", flush=True)
    rate, size, processes, threads = best
    print(f"best batched layout: ensembles of {size}, {processes} process(es) x {threads} "
          f"thread(s): {rate:.1f} network-steps/s", flush=True)


# ---------------------------------------------------------------------------- forward impls
def implementations(args):
    """One forward + backward pass of E members: baddbmm (as FFEnsemble) vs vmap(functional_call)."""
    import torch.nn.functional as F
    from torch.func import functional_call, stack_module_state, vmap

    from tdnn_utils import ensemble as ens

    torch.set_num_threads(args.threads)
    X, y = load("D-III")
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    widths, E = [3] + [15] * 9 + [2], args.impl_members
    model = ens.FFEnsemble(widths, "relu", E)
    nets = [model.member(e) for e in range(E)]
    params, buffers = stack_module_state(nets)
    base = nets[0]

    def vmapped(x):
        return vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
            params, buffers, x)

    def loss(logits):
        return F.cross_entropy(logits.reshape(-1, 2), y.repeat(E)).mul(E)

    arms = {
        "baddbmm, per-member weight gradients (FFEnsemble)": lambda: loss(model(X)).backward(),
        "baddbmm, batched weight gradients": lambda: loss(_plain_forward(model, X)).backward(),
        "vmap(functional_call(FFNet))": lambda: loss(vmapped(X)).backward(),
    }
    print(f"\nOne forward + backward pass of {E} members (D-III, 9,450 points, 9×15, relu), "
          f"{args.threads} thread(s), ms per pass, {args.rounds} interleaved rounds of 3 passes:",
          flush=True)
    times = {name: [] for name in arms}
    cpu_times = {name: [] for name in arms}
    for name, run in arms.items():
        run()  # warm up
    for _ in range(args.rounds):
        for name, run in arms.items():
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(3):
                run()
            times[name].append((time.perf_counter() - start) / 3 * 1000)
            cpu_times[name].append((time.process_time() - cpu) / 3 * 1000)
    for name, values in times.items():
        cpu = cpu_times[name]
        print(f"  {name:50s} wall median {statistics.median(values):6.1f} ms "
              f"(range {min(values):.0f}-{max(values):.0f}); CPU median "
              f"{statistics.median(cpu):6.1f} ms (range {min(cpu):.0f}-{max(cpu):.0f})  "
              f"[load {load_average()}]", flush=True)


def _plain_forward(model, x):
    """FFEnsemble's forward pass (same in-place activation) with autograd's own baddbmm backward."""
    from tdnn_utils.ensemble import _activation_function

    activation = _activation_function(model.activation_name, model.negative_slope)
    x = x.expand(model.n_members, *x.shape).contiguous()
    h = torch.baddbmm(model.biases[0], x, model.weights[0])
    for W, b in zip(list(model.weights)[1:], list(model.biases)[1:]):
        h = torch.baddbmm(b, activation(h), W)
    return h


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="D-I,D-III", help="data sets, of " + ", ".join(CONFIGS))
    parser.add_argument("--architectures", default="9x15", help="e.g. 9x15,10x25")
    parser.add_argument("--networks", type=int, default=10, help="networks per activation")
    parser.add_argument("--steps", type=int, default=40, help="budget per attempt (truncated)")
    parser.add_argument("--attempts", type=int, default=1, help="attempts per network")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stop", action=argparse.BooleanOptionalAction, default=True,
                        help="stop each network at 100%% (fit_until_perfect's default)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in both arms")
    parser.add_argument("--explore", action=argparse.BooleanOptionalAction, default=True,
                        help="compare process/thread layouts and ensemble sizes")
    parser.add_argument("--sizes", default="10,30,60", help="ensemble sizes for --explore")
    parser.add_argument("--explore-steps", type=int, default=15)
    parser.add_argument("--single-networks", type=int, default=6,
                        help="networks per process in --explore's one-at-a-time row")
    parser.add_argument("--impl", action=argparse.BooleanOptionalAction, default=True,
                        help="time the batched forward + backward implementations")
    parser.add_argument("--impl-members", type=int, default=30)
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}; load average "
          f"[{load_average()}]", flush=True)
    print("timing: wall time of the training calls (build, train, read back), data excluded; "
          "ratio = one-at-a-time time / batched time for the same networks and seeds", flush=True)
    for config in filter(None, args.configs.split(",")):  # --configs "": layouts only
        for arch in args.architectures.split(","):
            compare(config, arch, args)
    if args.impl:
        implementations(args)
    if args.explore:
        explore(args)


if __name__ == "__main__":
    main()
