"""Checks of user input shared by every module: fail early, name the argument, the value and what is allowed.

Each ``check_*`` returns the value in the form the caller computes with (an array of the
right dtype, an int, a float) or raises ``ValueError`` (``MemoryLimitError`` for
:func:`check_memory`) with a message that says which argument is wrong, what it was, and
what would be accepted:

- :func:`check_points`: a finite point cloud (n_points, n_features), at least one feature,
  real, within the range of the dtype it is computed in;
- :func:`check_float32_extent`: a cloud whose coordinates and distances float32 holds (the
  engines' filtration);
- :func:`check_labels`: 1-D integer class labels, one per point, within the logits;
- :func:`check_positive_int`, :func:`check_positive_number`: sizes, budgets, thresholds;
- :func:`check_real_number`: a finite number of either sign (a slope);
- :func:`check_diagram`: a persistence diagram (n_bars, 2), or giotto-tda's (n_bars, 3)
  with a dimension column when a dimension is named;
- :func:`check_finite`: real numbers without NaN or infinite values, within a dtype's range;
- :func:`check_probabilities`: probabilities (p-values) in [0, 1], NaN for none;
- :func:`check_distance_matrix`: a square, symmetric, non-negative distance matrix;
- :func:`check_columns`: a table with the columns a function reads;
- :func:`check_memory`: refuse a computation whose estimated memory exceeds the limit,
  before anything is allocated;
- :func:`slug` and :func:`check_inside`: file names built from user-given names, kept inside
  their folder; :func:`check_file_name`: a user-given name used as one folder name as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

#: Most working memory (bytes) one call may plan to use; a call that would need more is
#: refused before it allocates (:func:`check_memory`). The memory this machine has available
#: lowers it further. Change it (``tdnn_utils.validation.MEMORY_LIMIT_BYTES = ...``) on a
#: machine with more memory.
MEMORY_LIMIT_BYTES = 4 * 2**30


class MemoryLimitError(MemoryError):
    """A computation would need more memory than :data:`MEMORY_LIMIT_BYTES` (or than is available)."""


def _shape(value) -> str:
    shape = getattr(value, "shape", None)
    if shape is None:
        try:
            shape = np.shape(value)
        except (ValueError, TypeError):
            return type(value).__name__
    return str(tuple(shape))


def _show(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------- numbers
def check_positive_int(value, name: str, *, minimum: int = 1, maximum: int | None = None,
                       allow_none: bool = False):
    """``value`` as an ``int`` of at least ``minimum`` (and at most ``maximum`` when given;
    ``None`` passes with ``allow_none``).

    Booleans and non-integral numbers (2.7, and also 3.0) are refused: a width, a size or a
    budget is counted, not measured.
    """
    if value is None and allow_none:
        return None
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum
            or (maximum is not None and value > maximum)):
        if maximum is not None:
            allowed = f"an integer in {minimum}..{maximum}"
        else:
            allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        allowed += " or None" if allow_none else ""
        raise ValueError(f"{name}={_show(value)} is not allowed; use {allowed}")
    return int(value)


def check_positive_number(value, name: str, *, allow_inf: bool = False, allow_zero: bool = False) -> float:
    """``value`` as a ``float`` > 0 (>= 0 with ``allow_zero``), finite unless ``allow_inf``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.isnan(number):  # "0.1" is text, not a number
        number = float("nan")
    ok = (number >= 0 if allow_zero else number > 0) and (allow_inf or np.isfinite(number))
    if not ok:
        allowed = ("a number >= 0" if allow_zero else "a positive number") + (
            " or np.inf" if allow_inf else " (finite)")
        raise ValueError(f"{name}={_show(value)} is not allowed; use {allowed}")
    return number


def check_real_number(value, name: str) -> float:
    """``value`` as a finite ``float`` of either sign; booleans, text, NaN and infinities are refused."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float's range
        number = float("nan")
    if isinstance(value, (bool, np.bool_, str, bytes)) or not np.isfinite(number):
        raise ValueError(f"{name}={_show(value)} is not allowed; use a finite number")
    return number


# ---------------------------------------------------------------------------- arrays
def _real_array(values, name: str, what: str) -> np.ndarray:
    """``values`` as a NumPy array of real numbers (bool, int or float dtype); complex numbers
    (whose imaginary part a cast would drop), text and other objects are refused."""
    what = f" {what}" if what else ""
    try:
        array = np.asarray(values)
        if array.dtype.kind == "O":
            array = array.astype(np.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name} must be numbers{what}; got {type(values).__name__} ({error})") from None
    if array.dtype.kind == "c":
        raise ValueError(f"{name} holds complex numbers (dtype {array.dtype}); give real numbers{what} "
                         "(its real part, if that is what you mean: np.real)")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numbers{what}; got dtype {array.dtype} ({type(values).__name__})")
    return array


def _check_range(array: np.ndarray, name: str, dtype) -> None:
    """Refuse finite values a cast to the floating ``dtype`` would turn into infinities."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or array.dtype.kind != "f" or array.size == 0:
        return
    largest = float(np.abs(array).max())
    if largest > float(np.finfo(dtype).max):
        raise ValueError(f"{name} holds values up to {largest:.3g} in magnitude, beyond {dtype.name}'s "
                         f"range (at most {float(np.finfo(dtype).max):.3g}), the precision it is computed "
                         f"in: rescale {name}")


def check_finite(values, name: str, *, dtype=np.float64, allow_nan: bool = False) -> np.ndarray:
    """``values`` as a ``dtype`` array of real numbers without NaN or infinite entries.

    Refuses, naming ``name``: complex numbers, text or other non-numbers, NaN (unless
    ``allow_nan``: a missing value) or infinite entries, and finite entries beyond ``dtype``'s
    range (1e39 for float32), which the cast would turn into infinities.
    """
    array = _real_array(values, name, "")
    if array.dtype.kind == "f":
        bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
        if bad.any():
            what = "infinite" if allow_nan else "NaN or infinite"
            raise ValueError(f"{name} holds {int(bad.sum())} {what} value(s) among {array.size}")
    _check_range(array, name, dtype)
    return array.astype(dtype, copy=False)


def check_points(X, *, name: str = "X", min_points: int = 1, n_features: int | None = None,
                 dtype=np.float64) -> np.ndarray:
    """``X`` as a finite array of shape (n_points, n_features) and ``dtype``.

    Refuses, naming the shape or the count: anything not 2-D (a single point (d,) is not a
    cloud: use ``X[None]``), fewer than ``min_points`` rows, no feature (shape (n, 0)),
    another number of features than ``n_features`` when given, complex numbers or text, NaN
    or infinite entries, and finite entries beyond ``dtype``'s range (the cast would make
    them infinite).
    """
    array = _real_array(X, name, "(n_points, n_features)")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_points, n_features); got shape {array.shape}")
    if array.shape[0] < min_points:
        raise ValueError(f"{name} has {array.shape[0]} points; at least {min_points} are needed")
    if array.shape[1] < 1:
        raise ValueError(f"{name} has shape {array.shape}: its points have no coordinates; "
                         "at least one feature is needed")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"{name} has {array.shape[1]} features per point; expected {n_features} "
                         f"(shape (n_points, {n_features}))")
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad = int((~finite).any(axis=1).sum())
            raise ValueError(f"{name} holds NaN or infinite values in {bad} of {array.shape[0]} rows")
    _check_range(array, name, dtype)
    return array.astype(dtype, copy=False)


def check_probabilities(values, name: str) -> np.ndarray:
    """``values`` as a float64 array of probabilities in [0, 1]; NaN (no value) passes, and
    anything else outside [0, 1] (a negative p-value, an infinity) is refused, naming it."""
    array = _real_array(values, name, "in [0, 1]").astype(np.float64)
    outside = ~np.isnan(array) & ((array < 0) | (array > 1))
    if outside.any():
        raise ValueError(f"{name} holds {array[outside][:5].tolist()}, outside [0, 1]; "
                         "probabilities (p-values) lie in [0, 1], NaN where there is none")
    return array


def check_float32_extent(X: np.ndarray, name: str = "X") -> np.ndarray:
    """``X`` (n_points, n_features), finite, unchanged when its coordinates and distances fit float32.

    The persistence engines compute on float32 distances (:mod:`tdnn_utils.engines`), and
    coincident points are found after rounding to float32 (:mod:`tdnn_utils.topology`): a
    coordinate beyond float32's largest value (3.4e38), or a bounding box whose diagonal is,
    would become infinite, so the cloud is refused, naming the magnitude.
    """
    if X.size == 0:
        return X
    _check_range(X, name, np.float32)
    span = X.max(axis=0) / 2.0 - X.min(axis=0) / 2.0  # halved first: no overflow near float64's limit
    scale = float(span.max())
    extent = 2.0 * scale * float(np.sqrt(((span / scale) ** 2).sum())) if scale > 0 else 0.0
    limit = float(np.finfo(np.float32).max)
    if not extent <= limit:
        raise ValueError(f"{name} spans {extent:.3g} (its bounding box's diagonal), beyond float32's "
                         f"range (at most {limit:.3g}), in which distances are computed: rescale {name} "
                         "(Betti numbers at scale s of X are those at scale s * t of X * t)")
    return X


def check_distance_matrix(distances, name: str = "distances"):
    """``distances`` as a float64 array (n, n), or a SciPy sparse (n, n) matrix, unchanged.

    Refuses, naming the fault: another shape than square, complex numbers or text, NaN,
    negative entries, finite entries beyond float32's range (the engines' filtration), and a
    dense matrix that is not symmetric beyond float32's rounding (the engines would read one
    triangle each; a sparse matrix's entries are the edges as given). ``np.inf`` (no edge) is
    allowed.
    """
    from scipy import sparse

    if sparse.issparse(distances):
        array, values = distances, np.asarray(distances.data)
        if values.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers; got dtype {values.dtype}")
    else:
        array = values = _real_array(distances, name, "(n, n)").astype(np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be a square matrix (n, n) of distances; got shape {array.shape}")
    values = values.astype(np.float64)
    for bad, what in ((np.isnan(values), "NaN"), (values < 0, "negative distances"),
                      (np.isfinite(values) & (values > np.finfo(np.float32).max),
                       f"distances beyond float32's range (at most {float(np.finfo(np.float32).max):.3g})")):
        if bad.any():
            raise ValueError(f"{name} holds {what} ({int(bad.sum())} entries, e.g. {values[bad][0]!r})")
    if not sparse.issparse(array):
        rows = max(1, 2**20 // max(1, len(array)))  # a block of rows at a time: no n x n temporaries
        for start in range(0, len(array), rows):
            block = array[start:start + rows]
            if not np.isclose(block, array[:, start:start + rows].T, rtol=1e-6, atol=0).all():
                raise ValueError(f"{name} is not symmetric: a distance matrix has D[i, j] == D[j, i]")
    return array


def check_columns(table, columns, name: str = "table", *, numeric=(), boolean=(), complete=(),
                  nonempty: bool = False):
    """``table`` unchanged when it is a DataFrame holding ``columns``.

    Refuses (``ValueError``, naming the columns): anything not a DataFrame, missing columns,
    text or other non-numbers in the ``numeric`` columns (booleans pass), anything but
    True/False (or 1/0) in the ``boolean`` ones, missing values in the ``complete`` columns
    (the keys rows are grouped by: a NaN there would silently drop its rows), and, with
    ``nonempty``, a table without rows.
    """
    present = getattr(table, "columns", None)
    if present is None or not hasattr(table, "iloc"):
        raise ValueError(f"{name} must be a DataFrame with columns {list(columns)}; got {type(table).__name__}")
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}; it has {list(present)}")
    if nonempty and table.empty:
        raise ValueError(f"{name} is empty: it has no rows to read")
    for column in numeric:
        values = table[column]
        if values.dtype.kind not in "biuf" and not all(
                isinstance(v, (int, float, np.integer, np.floating)) for v in values.dropna()):
            raise ValueError(f"{name}[{column!r}] must hold numbers; got dtype {values.dtype} "
                             f"(e.g. {_show(values.dropna().iloc[0]) if values.notna().any() else None})")
    for column in boolean:
        flags = table[column]
        if not flags.isin([True, False]).all():
            raise ValueError(f"{name}[{column!r}] must hold True or False; got "
                             f"{_show(flags[~flags.isin([True, False])].iloc[0])}")
    for column in complete:
        if table[column].isna().any():
            raise ValueError(f"{name}[{column!r}] has {int(table[column].isna().sum())} missing value(s); "
                             "every row needs one there")
    return table


def check_labels(labels, n: int | None = None, n_classes: int | None = None, *,
                 name: str = "labels", integer: bool = True) -> np.ndarray:
    """``labels`` as a 1-D array: one class label per point.

    Refuses a column vector (n, 1) or any other shape than (n,) (with ``n`` given: exactly
    ``n`` labels). With ``integer`` (the default) the labels must be whole numbers >= 0 (an
    integer or boolean dtype, or floats such as 1.0) and are returned as int64; with
    ``n_classes`` they must lie in 0..n_classes-1 (a label 5 cannot be read from 2 logits).
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        hint = " (a column vector: flatten it with labels.ravel())" if array.ndim == 2 and 1 in array.shape else ""
        raise ValueError(f"{name} must be 1-D, one label per point; got shape {array.shape}{hint}")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} entries for {n} points; give one label per point")
    if not integer:
        return array
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    elif array.dtype.kind in "iu":
        pass
    elif array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not whole.all():
            bad = array[~whole][:5].tolist()
            raise ValueError(f"{name} must hold whole class numbers 0, 1, ...; got {bad}")
    elif len(array):
        raise ValueError(f"{name} must hold integer class labels 0, 1, ...; got dtype {array.dtype}")
    array = array.astype(np.int64)
    if len(array) and array.min() < 0:
        raise ValueError(f"{name} holds negative labels {sorted(set(array[array < 0].tolist()))[:5]}; "
                         "class labels are 0, 1, ...")
    if n_classes is not None and len(array) and array.max() >= n_classes:
        bad = sorted(set(array[array >= n_classes].tolist()))[:5]
        raise ValueError(f"{name} holds labels {bad}, but there are {n_classes} outputs (logits): "
                         f"labels must lie in 0..{n_classes - 1}")
    return array


def check_diagram(diagram, dimension: int | None = None, *, name: str = "diagram") -> np.ndarray:
    """One persistence diagram as a float64 array (n_bars, 2) of (birth, death).

    Accepts (n_bars, 2); giotto-tda's (n_bars, 3) of (birth, death, dimension) only when
    ``dimension`` says which bars to keep (its rows of that dimension are returned); and
    anything empty (no bar). Refuses other shapes, naming them; NaN; infinite births; and
    bars that die before they are born. Deaths may be ``np.inf`` (bars that never die).
    """
    try:
        array = np.asarray(diagram, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array (n_bars, 2) of (birth, death); got "
                         f"{type(diagram).__name__} (a list of diagrams? pass one of them)") from None
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim != 2 or array.shape[1] not in (2, 3):
        raise ValueError(f"{name} must have shape (n_bars, 2) of (birth, death); got shape {array.shape}")
    if array.shape[1] == 3:
        if dimension is None:
            raise ValueError(
                f"{name} has shape {array.shape}: (birth, death, dimension) rows, as giotto-tda "
                "makes them; say which bars to use with dimension=0, 1, ... (or pass the (n_bars, 2) "
                "diagram of one dimension)")
        dimension = check_positive_int(dimension, "dimension", minimum=0)
        dims = array[:, 2]
        if not np.isfinite(dims).all() or not np.array_equal(dims, np.round(dims)):
            raise ValueError(f"{name}'s third column must hold homology dimensions 0, 1, ...")
        array = array[dims == dimension, :2]
    if np.isnan(array).any():
        raise ValueError(f"{name} holds NaN in {int(np.isnan(array).any(axis=1).sum())} of its bars")
    if not np.isfinite(array[:, 0]).all():
        raise ValueError(f"{name} has infinite births; a bar is born at a finite value")
    if (array[:, 1] < array[:, 0]).any():
        bad = int((array[:, 1] < array[:, 0]).sum())
        raise ValueError(f"{name} has {bad} bar(s) that die before they are born (death < birth)")
    return array


# ---------------------------------------------------------------------------- resources
def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable, and the cgroup limit), or None if unknown."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(max(0, int(limit) - int(used)))
    except OSError:
        pass
    return min(found) if found else None


def memory_limit(limit: int | None = None) -> int:
    """The limit :func:`check_memory` applies: ``limit`` (default :data:`MEMORY_LIMIT_BYTES`),
    lowered to the memory available now when that is known."""
    limit = MEMORY_LIMIT_BYTES if limit is None else int(limit)
    available = available_memory()
    return limit if available is None else min(limit, available)


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**29 else f"{nbytes / 2**20:.0f} MiB"


def check_memory(nbytes: float, what: str, advice: str, *, limit: int | None = None) -> None:
    """Refuse (:class:`MemoryLimitError`) a computation estimated to need ``nbytes``, beyond the limit.

    ``what`` names the computation and its size, ``advice`` what to do instead. Call it
    before allocating anything.
    """
    allowed = memory_limit(limit)
    if nbytes > allowed:
        configured = MEMORY_LIMIT_BYTES if limit is None else int(limit)
        why = (f"the limit is {_gib(configured)}" if allowed >= configured else
               f"{_gib(allowed)} is available (limit {_gib(configured)})")
        raise MemoryLimitError(f"{what} needs about {_gib(nbytes)} of memory, and {why}: {advice}")


# ---------------------------------------------------------------------------- file names
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+×-]")


def slug(text, *, max_length: int = 80) -> str:
    """``text`` as a safe file-name part: letters, digits and ``_ . + - ×`` kept, anything else
    (``/``, ``\\``, spaces, control characters) replaced by ``_``, no leading dot (so never
    ``.`` or ``..``), at most ``max_length`` characters. Names that are safe already (``D-I``,
    ``9×15``, ``leaky_relu``) are unchanged. Different names may give one slug: add a hash of
    the name to keep them apart."""
    text = _UNSAFE.sub("_", str(text))[:max_length]
    if text.startswith("."):
        text = "_" + text[1:]
    return text or "_"


def check_file_name(value, name: str) -> str:
    """``value`` as a ``str`` that names one file or folder inside another, used as it is.

    Refuses, naming the value: an empty name, ``.`` and ``..``, any ``/`` or ``\\`` (so no
    absolute path and no climbing out with ``..``), and control characters (NUL, newlines).
    Anything else (spaces, dots inside, ``×``) is allowed. Where a name may hold anything,
    build the file name with :func:`slug` instead.
    """
    text = str(value)
    if (text in ("", ".", "..") or "/" in text or "\\" in text
            or any(ord(c) < 32 or ord(c) == 127 for c in text)):
        raise ValueError(f"{name}={_show(value)} is not allowed; use one folder name: not empty, not "
                         "'.' or '..', without '/', '\\' or control characters")
    return text


def check_inside(path, folder) -> Path:
    """``path`` unchanged when it lies inside ``folder``; ``ValueError`` otherwise (a name that
    climbs out with ``..`` or is absolute)."""
    path, folder = Path(path), Path(folder)
    resolved, base = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    if resolved == base or base not in resolved.parents:
        raise ValueError(f"{path} is not inside the cache folder {folder}; refusing to write there")
    return path
