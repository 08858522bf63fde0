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
