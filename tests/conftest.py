"""Fixtures shared by the test modules."""

import pytest

from tdnn_utils.parallel import one_thread as _one_thread


@pytest.fixture
def one_thread():
    """The test runs with one thread (torch, BLAS, OpenMP), as the book's workers do."""
    with _one_thread():
        yield
