"""Independent tasks on a local process pool (joblib's loky), results as they finish.

The one place the chapters' per-network runs (:mod:`~tdnn_utils.sweep`,
:mod:`~tdnn_utils.dynamics`, :mod:`~tdnn_utils.regularization`) start worker processes.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterable, Iterator

#: loky replaces a worker that stopped (its idle timeout passed while the machine was busy)
#: and warns when tasks were still queued, although they then run on the new worker: every
#: result still arrives, so the warning only puts the machine's install paths on the page.
WORKER_RESTART = "A worker stopped while some jobs were given to the executor"


def as_completed(function: Callable, arguments: Iterable[tuple], n_jobs: int) -> Iterator:
    """Yield ``function(*args)`` for every tuple in ``arguments``, in the order they finish,
    from ``n_jobs`` worker processes."""
    from joblib import Parallel, delayed

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=WORKER_RESTART, category=UserWarning)
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from parallel(delayed(function)(*args) for args in arguments)
