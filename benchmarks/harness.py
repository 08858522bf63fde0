"""Timing that holds on a busy machine: arms interleaved over rounds, paired ratios, medians.

Every benchmark of the book times its arms with :func:`interleave`: each round runs every arm
once, in an order that rotates from round to round, so a burst of load from elsewhere falls on
all arms alike. A ratio is formed *within* each round (arm time / reference time of the same
round) and reported as the median over rounds with its range, so load that drifts between
rounds cancels. :func:`target_line` prints the one summary line per target that every
benchmark ends with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import numpy as np

from tdnn_utils.parallel import one_thread_process

one_thread_process()


def load() -> str:
    """The machine's 1-minute load average and core count, for the record."""
    try:
        return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:  # pragma: no cover - not on every platform
        return f"{os.cpu_count()} cores"


def interleave(arms: Mapping[str, Callable[[], object]], *, rounds: int = 5,
               warmup: int = 1, clock: Callable[[], float] = time.perf_counter
               ) -> dict[str, list[float]]:
    """Seconds of each arm per round, arms interleaved in a rotating order.

    ``arms`` maps a name to a function that does one unit of work. ``warmup`` untimed rounds
    come first. ``clock`` is wall time by default; ``time.thread_time`` counts the CPU time of
    this thread only, which on a machine busier than its cores leaves out the time the arm
    waited for a core. Returns ``{name: [seconds of round 1, ..., round rounds]}``.
    """
    if rounds < 1 or warmup < 0:
        raise ValueError(f"rounds={rounds!r} must be >= 1 and warmup={warmup!r} >= 0")
    names = list(arms)
    times = {name: [] for name in names}
    for round_ in range(warmup + rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            arms[name]()
            if round_ >= warmup:
                times[name].append(clock() - start)
    return times


def ratios(numerator, denominator) -> np.ndarray:
    """Per-round ratios of two arms' times (same rounds, same order)."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    if numerator.shape != denominator.shape:
        raise ValueError("the two arms must have been timed over the same rounds")
    return numerator / denominator


def summary(values) -> tuple[float, float, float]:
    """(median, min, max) of a sequence of per-round values."""
    values = np.asarray(values, float)
    return float(np.median(values)), float(values.min()), float(values.max())


def describe(values, unit: str = "x", digits: int = 2) -> str:
    """"median M (range A to B over N rounds)" of per-round values."""
    median, low, high = summary(values)
    return (f"median {median:.{digits}f}{unit} (range {low:.{digits}f} to {high:.{digits}f}"
            f" over {len(np.asarray(values))} rounds)")


def target_line(target: str, values, *, at_least: float | None = None,
                at_most: float | None = None, unit: str = "x") -> str:
    """One summary line: ``target <what>: met/NOT met (median ..., range ...)``.

    The target is judged on the median of the per-round ``values``; ``at_least`` or
    ``at_most`` is the bound.
    """
    if (at_least is None) == (at_most is None):
        raise ValueError("give exactly one of at_least and at_most")
    median = summary(values)[0]
    met = median >= at_least if at_least is not None else median <= at_most
    bound = f">= {at_least:g}{unit}" if at_least is not None else f"<= {at_most:g}{unit}"
    return f"target {target} {bound}: {'met' if met else 'NOT met'} ({describe(values, unit)})"
