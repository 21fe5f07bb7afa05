"""Summaries of outputs across stochastic replicates: percentile intervals, paired contrasts, convergence.

Two different intervals are used and must not be confused:

* the **percentile interval** (``pi_*``): the spread of the output across replicates, i.e. how much one
  run can vary (it does not shrink with more replicates);
* the **confidence interval of the mean** (``ci_mean_*``): mean +/- z*sd/sqrt(n), the Monte Carlo error
  of the replicate mean (it shrinks like 1/sqrt(n); used to decide whether enough replicates were run).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import norm


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def summarise(samples: ArrayLike, axis: int = 0, level: float = 0.95) -> tuple:
    """Mean and central percentile interval across replicates along ``axis``.

    The interval is the (1-level)/2 and (1+level)/2 quantiles (numpy ``method="linear"``), describing the
    spread of replicate outcomes. With a single replicate lower = upper = mean. Returns floats for 1-D
    input, arrays otherwise.
    """
    _check_level(level)
    x = np.asarray(samples, dtype=float)
    if x.size == 0 or x.shape[axis] == 0:
        raise ValueError("no samples to summarise")
    mean = np.mean(x, axis=axis)
    lower, upper = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], axis=axis, method="linear")
    if np.ndim(mean) == 0:
        return float(mean), float(lower), float(upper)
    return mean, lower, upper


def mean_interval(samples: ArrayLike, axis: int = 0, level: float = 0.95) -> tuple:
    """Normal-approximation confidence interval for the mean: mean +/- z*sd/sqrt(n) (sd with ddof=1).

    z = Phi^-1((1+level)/2) (1.959964 for 95%). Needs at least two samples along ``axis``. Returns floats
    for 1-D input, arrays otherwise.
    """
    _check_level(level)
    x = np.asarray(samples, dtype=float)
    n = x.shape[axis] if x.ndim else 0
    if n < 2:
        raise ValueError("need at least two samples for a confidence interval of the mean")
    mean = np.mean(x, axis=axis)
    half = norm.ppf((1 + level) / 2) * np.std(x, axis=axis, ddof=1) / np.sqrt(n)
    lower, upper = mean - half, mean + half
    if np.ndim(mean) == 0:
        return float(mean), float(lower), float(upper)
    return mean, lower, upper


def paired_difference(alt: ArrayLike, comp: ArrayLike) -> np.ndarray:
    """Alternative minus comparator, replicate by replicate (common random numbers make pairs comparable).

    Shapes must match exactly: broadcasting would silently pair the wrong replicates.
    """
    a = np.asarray(alt, dtype=float)
    c = np.asarray(comp, dtype=float)
    if a.shape != c.shape:
        raise ValueError(f"alt and comp shapes differ: {a.shape} vs {c.shape}")
    return a - c


def percent_change(alt: ArrayLike, comp: ArrayLike, axis: int | None = 0) -> np.ndarray | float:
    """Percent change of means: 100 * (mean(alt) - mean(comp)) / mean(comp), means taken along ``axis``.

    With replicates on axis 0 (the default) this is the ratio-of-means point estimate, which is stable
    where a mean of per-replicate ratios would be dominated by replicates with small comparators. For a
    per-replicate distribution pass arrays shaped (replicates, units) with ``axis=1``. nan where the
    comparator mean is 0. Returns a float when the result is a scalar.
    """
    a = np.asarray(alt, dtype=float)
    c = np.asarray(comp, dtype=float)
    if a.shape != c.shape:
        raise ValueError(f"alt and comp shapes differ: {a.shape} vs {c.shape}")
    ma, mc = np.mean(a, axis=axis), np.mean(c, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mc != 0, 100.0 * (ma - mc) / np.where(mc != 0, mc, 1.0), np.nan)
    return float(out) if np.ndim(out) == 0 else out


def interval_width_by_replicates(
    samples: ArrayLike, steps: Iterable[int] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Convergence table: how the intervals change as more replicates of one scalar output are used.

    For each n in ``steps`` (default 2..N) the first n replicates give: n_replicates, mean, the
    normal-approximation confidence interval of the mean (``ci_mean_lower``, ``ci_mean_upper``,
    ``ci_mean_width``; mean +/- 1.96*sd/sqrt(n) at 95%), and the percentile interval of the replicates
    (``pi_lower``, ``pi_upper``, ``pi_width``). Enough replicates have been run when ``ci_mean_width`` is
    small relative to the differences of interest; ``pi_width`` should settle rather than shrink.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ValueError("samples must be 1-D (one value per replicate)")
    total = x.size
    if total < 2:
        raise ValueError("need at least two replicates")
    ns = list(range(2, total + 1)) if steps is None else [int(s) for s in steps]
    if any(s < 2 or s > total for s in ns):
        raise ValueError(f"steps must lie in 2..{total}")
    rows = []
    for n in ns:
        first = x[:n]
        mean, ci_lo, ci_hi = mean_interval(first, level=level)
        _, pi_lo, pi_hi = summarise(first, level=level)
        rows.append((n, mean, ci_lo, ci_hi, ci_hi - ci_lo, pi_lo, pi_hi, pi_hi - pi_lo))
    cols = [
        "n_replicates",
        "mean",
        "ci_mean_lower",
        "ci_mean_upper",
        "ci_mean_width",
        "pi_lower",
        "pi_upper",
        "pi_width",
    ]
    return pd.DataFrame(rows, columns=cols).astype({"n_replicates": int})
