"""Sampling noise: how much a quality metric moves from window to window when nothing changed.

A window of ``n`` labelled rows drawn from the reference's distribution would show each metric
around the reference's value, spread by a standard error that shrinks as ``1/sqrt(n)``. This
module measures that spread once per reference by the bootstrap — draw ``rounds`` resamples of
``size`` rows with replacement, compute the metrics on each, take their standard deviation — and
returns it per metric at one row (``sd · sqrt(size)``), so that the standard error of a window
of ``n`` rows is ``unit / sqrt(n)``. Any metric works (F1, ROC AUC, MAPE...), with no formula
per metric; an alert rule uses it to tell a real drop from the noise of a small window.

    >>> import numpy as np
    >>> values = np.random.default_rng(0).random(5000) < 0.8
    >>> units = unit_errors(lambda rows: {"accuracy": values[rows].mean()}, values.size)
    >>> round(units["accuracy"], 1)  # sqrt(0.8 · 0.2) = 0.4
    0.4
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sightline.errors import SightlineError

__all__ = ["unit_errors"]


def unit_errors(
    compute: Callable[[np.ndarray], Mapping[str, Any]],
    n_rows: int,
    *,
    rounds: int = 100,
    size: int = 500,
    seed: int = 0,
) -> dict[str, float]:
    """Per scalar metric of ``compute``, its bootstrap standard deviation at one row.

    ``compute`` takes the indices of a resample (of rows ``0 .. n_rows - 1``) and returns
    metrics by name. Values that are not finite numbers are ignored, as are resamples on which
    ``compute`` raises a ``SightlineError``, ``ValueError`` or ``ArithmeticError`` (a resample
    with one class has no ROC AUC). A metric needs a value in at least half of the rounds.
    Resamples have ``min(size, n_rows)`` rows; the result is seeded, so it is reproducible.
    """
    if n_rows < 2 or rounds < 2:
        return {}
    m = min(size, n_rows)
    rng = np.random.default_rng(seed)
    seen: dict[str, list[float]] = {}
    for _ in range(rounds):
        rows = rng.integers(0, n_rows, m)
        try:
            values = compute(rows)
        except (SightlineError, ValueError, ArithmeticError):
            continue
        for name, value in values.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and math.isfinite(value):
                seen.setdefault(name, []).append(float(value))
    return {
        name: float(np.std(values, ddof=1)) * math.sqrt(m)
        for name, values in seen.items()
        if len(values) >= max(2, rounds // 2)
    }
