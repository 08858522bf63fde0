"""Independent tasks on a local process pool (joblib's loky), results as they finish, one thread each.

The one place the chapters' per-network runs (:mod:`~tdnn_utils.sweep`,
:mod:`~tdnn_utils.dynamics`, :mod:`~tdnn_utils.regularization`) start worker processes.

Every task runs with one thread (:func:`one_thread`): torch's, and the BLAS and OpenMP pools
of numpy, scipy and torch. The work here is many small networks and point clouds; a second
thread per process made a training step 30-200x slower on a shared 2-core machine (threads
waiting for each other), and two workers with one thread each use two cores without that.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

#: loky replaces a worker that stopped (its idle timeout passed while the machine was busy)
#: and warns when tasks were still queued, although they then run on the new worker: every
#: result still arrives, so the warning only puts the machine's install paths on the page.
WORKER_RESTART = "A worker stopped while some jobs were given to the executor"

#: The environment variables that size the BLAS and OpenMP thread pools of a new process.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextmanager
def one_thread():
    """Run the block with one thread: torch's intra-op pool and every BLAS / OpenMP pool that
    threadpoolctl finds in this process; the previous sizes come back afterwards."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


def one_thread_process() -> None:
    """Give this whole process, and the processes it starts, one thread (benchmarks, scripts)."""
    import torch
    from threadpoolctl import threadpool_limits

    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def _in_one_thread(function: Callable, *args):
    with one_thread():
        return function(*args)


def as_completed(function: Callable, arguments: Iterable[tuple], n_jobs: int) -> Iterator:
    """Yield ``function(*args)`` for every tuple in ``arguments``, in the order they finish,
    from ``n_jobs`` worker processes, each task with one thread (:func:`one_thread`)."""
    from joblib import Parallel, delayed, parallel_config

    with warnings.catch_warnings(), parallel_config(backend="loky", inner_max_num_threads=1):
        warnings.filterwarnings("ignore", message=WORKER_RESTART, category=UserWarning)
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from parallel(delayed(_in_one_thread)(function, *args) for args in arguments)
