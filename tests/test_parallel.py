"""tdnn_utils.parallel: every task's result, from worker processes, without loky's restart warning."""

import operator
import warnings

import pytest

from tdnn_utils import parallel


def test_every_result_arrives_from_the_workers():
    results = parallel.as_completed(operator.mul, [(i, 10) for i in range(8)], n_jobs=2)
    assert sorted(results) == [10 * i for i in range(8)]


def test_the_worker_restart_warning_is_silenced_while_results_arrive():
    results = parallel.as_completed(operator.add, [(1, 2)], n_jobs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert next(results) == 3
        warnings.warn(parallel.WORKER_RESTART + ". This can be caused by ...", UserWarning)
        warnings.warn("another warning", UserWarning)
        assert list(results) == []
    assert [str(w.message) for w in caught] == ["another warning"]


def test_a_failing_task_raises_its_error():
    with pytest.raises(ZeroDivisionError):
        list(parallel.as_completed(operator.truediv, [(1, 0)], n_jobs=2))


def _threads_here():
    import os

    import torch
    from threadpoolctl import threadpool_info

    blas = sorted({pool["num_threads"] for pool in threadpool_info()})
    return os.getpid(), torch.get_num_threads(), blas, os.environ.get("OMP_NUM_THREADS")


def test_every_worker_runs_with_one_thread():
    import os

    import torch

    from joblib import parallel_config

    before = torch.get_num_threads()
    # as on a machine with more cores, where joblib would give each worker several threads
    with parallel_config(backend="loky", inner_max_num_threads=2):
        reports = list(parallel.as_completed(_threads_here, [()] * 4, n_jobs=2))
    assert all(pid != os.getpid() for pid, *_ in reports), "the tasks ran in this process"
    for _, torch_threads, blas_threads, omp in reports:
        assert torch_threads == 1 and blas_threads in ([1], []) and omp == "1"
    assert torch.get_num_threads() == before  # the caller's own threads are left alone


def test_one_thread_restores_the_previous_sizes():
    import torch

    torch.set_num_threads(2)
    try:
        with parallel.one_thread():
            assert _threads_here()[1] == 1 and _threads_here()[2] in ([1], [])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
