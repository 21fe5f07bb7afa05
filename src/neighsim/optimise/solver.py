"""The allocation as a mixed-integer programme (scipy.optimize.milp, i.e. HiGHS).

Each option is one capacity level of one intervention in one neighbourhood (a row of the curves, level
above 0). A binary x chooses it; at most one level per (intervention, neighbourhood) is chosen (none
chosen is level 0: no places, no cost, no effect). Then

    maximise    sum value_k x_k
    subject to  sum cost_k x_k <= budget
                sum_{k of intervention i} capacity_k x_k <= limit_i      (what the scenario allows)
                sum gap_k x_k <= 0                                        (--equity gap-narrows)
                sum (core20_cost_k - X cost_k) x_k >= 0                   (--equity core20-share=X)

Effects are added over options: that is the separability assumption (docs/optimise.md). A tiny penalty on
cost (1e-7 of the objective's scale over the whole budget) makes the solver prefer the cheaper of two
allocations worth the same, and never changes which is better when their values differ by more.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import NeighsimError
from ..wording import say

OBJECTIVES = {"admissions": "admissions_avoided", "qalys": "qalys_gained", "nmb": "nmb_20000"}


def objective_label(objective: str) -> str:
    """The objective in words (templates/optimise.j2)."""
    return say("opt_objective", objective=objective)


@dataclass(frozen=True)
class Equity:
    """An equity constraint: `gap-narrows` (the Core20 gap in admission rates must not widen) or
    `core20-share` (at least `share` of the spend goes to Core20 residents)."""

    kind: str
    share: float = 0.0

    def describe(self) -> str:
        return say("opt_equity", kind=self.kind, share=f"{self.share:.0%}")

    @property
    def text(self) -> str:
        return self.kind if self.kind == "gap-narrows" else f"core20-share={self.share:g}"


def parse_budget(text: str) -> float:
    """Pounds: 2000000, 2e6, 2,000,000, £2m, 500k. ValueError saying what was expected otherwise (the
    command line and the workbench word it for their flag or field)."""
    t = str(text).strip().replace(",", "").replace("£", "").replace("_", "").lower()
    mult = 1.0
    if t.endswith(("m", "k")):
        mult, t = (1e6 if t[-1] == "m" else 1e3), t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise ValueError(f"expected an amount of pounds such as 2000000, 2e6 or 2m, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"expected a positive amount of pounds, got {text}")
    return v


def parse_equity(text: str | None) -> Equity | None:
    """`gap-narrows` or `core20-share=X` (X from 0 to 1, or a percentage such as 40%); None for none."""
    if text is None:
        return None
    t = str(text).strip().casefold()
    if t in ("gap-narrows", "gap_narrows"):
        return Equity("gap-narrows")
    m = re.fullmatch(r"core20[-_]share\s*=\s*([0-9]*\.?[0-9]+)\s*(%?)", t)
    if m:
        x = float(m.group(1)) / (100.0 if m.group(2) else 1.0)
        if 0.0 <= x <= 1.0:
            return Equity("core20-share", x)
        raise NeighsimError(f"--equity {text}: the Core20 share must be from 0 to 1 (or 0% to 100%), got "
                            f"{m.group(1)}{m.group(2)}")
    raise NeighsimError(f"--equity {text!r}: expected gap-narrows or core20-share=X with X from 0 to 1 "
                        "(e.g. core20-share=0.4 or core20-share=40%)")


def solve_allocation(options: pd.DataFrame, budget: float, value: str, *, cost: str = "cost",
                     equity: Equity | None = None, limits: dict[str, float] | None = None,
                     time_limit: float = 60.0) -> np.ndarray:
    """Boolean mask of the chosen rows of `options`.

    `options`: one row per option with columns `intervention`, `neighbourhood`, `capacity`, `cost` (or the
    column named by `cost`), the objective column `value`, and for the equity constraints `gap_change`
    (change in the Core20 gap, per 1,000 a year; negative narrows it) and `core20_cost` (the part of the cost
    spent on Core20 residents). `limits`: the most capacity each intervention may have in all (places a
    year); interventions not named are unlimited."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    if budget <= 0:
        raise NeighsimError(f"--budget must be above 0, got {budget:g}")
    n = len(options)
    if n == 0:
        return np.zeros(0, dtype=bool)
    v = options[value].to_numpy(float)
    c = options[cost].to_numpy(float)
    if not (np.isfinite(v).all() and np.isfinite(c).all()):
        raise NeighsimError("the response curves hold missing values; rerun with more replicates or a larger --scale")
    scale = max(float(np.abs(v).max()), 1e-12)
    objective = -v / scale + 1e-7 * np.clip(c, 0.0, None) / budget
    rows, lower, upper = [], [], []
    # at most one level per (intervention, neighbourhood)
    groups = options.groupby(["intervention", "neighbourhood"], sort=False).indices
    for idx in groups.values():
        a = np.zeros(n)
        a[idx] = 1.0
        rows.append(a), lower.append(-np.inf), upper.append(1.0)
    rows.append(c), lower.append(-np.inf), upper.append(float(budget))
    for iv, limit in (limits or {}).items():
        if limit is None or not np.isfinite(limit):
            continue
        a = np.where(options["intervention"].to_numpy() == iv, options["capacity"].to_numpy(float), 0.0)
        rows.append(a), lower.append(-np.inf), upper.append(float(limit) * (1 + 1e-9))
    if equity is not None:
        if equity.kind == "gap-narrows":
            rows.append(options["gap_change"].to_numpy(float)), lower.append(-np.inf), upper.append(0.0)
        else:
            rows.append(options["core20_cost"].to_numpy(float) - equity.share * c)
            lower.append(0.0), upper.append(np.inf)
    res = milp(objective, constraints=LinearConstraint(np.vstack(rows), np.array(lower), np.array(upper)),
               integrality=np.ones(n), bounds=Bounds(0, 1),
               options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False})
    if res.x is None:
        raise NeighsimError(f"the allocation could not be solved (HiGHS: {res.message})")
    return np.asarray(res.x) > 0.5

