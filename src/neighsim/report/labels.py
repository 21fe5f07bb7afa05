"""Words and number formats for managers: outcome names, scenario names, numbers with intervals."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence

from ..outcomes import label
from ..processes.plan import ADMISSION_CAUSES

CAUSE_OUTCOMES = tuple(r.name for r in ADMISSION_CAUSES)
# what an observational evaluation would claim for the same participants, shown beside the model's figure
COMPARISON_SUFFIXES = {"_ottawa_implied_readmissions_avoided":
                       "readmissions avoided that the Ottawa observational evaluation would imply for the "
                       "same treated smokers (for comparison with 'Emergency admissions avoided')"}


def outcome_label(outcome: str, prefixes: Sequence[str] = ()) -> str:
    """A reader's name for an outcome; `prefixes` are intervention names ('falls_pathway') so that
    'falls_pathway_digital_users' reads 'Falls pathway: digital users'."""
    declared = label(outcome)
    if declared is not None:
        return declared
    for suffix, words in COMPARISON_SUFFIXES.items():
        if outcome.endswith(suffix):
            return f"{scenario_label(outcome[: -len(suffix)])}: {words}"
    for p in sorted(prefixes, key=len, reverse=True):
        if outcome.startswith(p + "_"):
            rest = outcome[len(p) + 1:]
            if rest.startswith("cost_"):
                return f"{scenario_label(p)}: cost of {rest[5:].replace('_', ' ')} (£)"
            return f"{scenario_label(p)}: {'cost (£)' if rest == 'cost' else rest.replace('_', ' ')}"
    for suffix, words in (("_participants", "participants"), ("_cost", "cost (£)")):
        if outcome.endswith(suffix):
            return f"{scenario_label(outcome[: -len(suffix)])}: {words}"
    return outcome.replace("_", " ").capitalize()


def scenario_label(name: str) -> str:
    """'falls_pathway' -> 'Falls pathway'; 'baseline' stays lower-case-free 'Baseline'."""
    s = name.replace("_", " ").replace("-", " ").strip()
    return s[:1].upper() + s[1:] if s else name


def stratum_label(stratum: str) -> str:
    if stratum == "all":
        return "everyone"
    parts = []
    for kv in stratum.split(","):
        k, _, v = kv.partition("=")
        parts.append({"sex": f"{v}s" if v in ("male", "female") else v,
                      "imd_decile": f"IMD decile {v}", "imd_quintile": f"IMD quintile {v}",
                      "age_band": f"aged {v}",
                      "core20": "Core20" if v == "yes" else "outside Core20"}.get(k, kv))
    return ", ".join(parts)


def is_money(outcome: str) -> bool:
    return "cost" in outcome and not outcome.startswith("roi")


def digits_for(values: Sequence[float]) -> int:
    """Decimals for a whole table column, so its numbers line up."""
    return _digits([float(v) for v in values if v is not None])


def _digits(values: list[float]) -> int:
    """Decimals that suit the largest value shown; none for whole numbers (counts, zero)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    if not finite or all(float(v).is_integer() for v in finite):
        return 0
    a = max(finite)
    return 0 if a >= 1000 else 1 if a >= 10 else 2 if a >= 0.1 else 3


def fmt(x: float | None, money: bool = False, digits: int | None = None) -> str:
    """Numbers as a manager reads them: thousands separators, few decimals, '–' for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    if digits is None:
        digits = _digits([x])
    s = f"{abs(x):,.{digits}f}"
    sign = "−" if x < 0 and float(s.replace(",", "")) != 0 else ""
    return f"{sign}£{s}" if money else f"{sign}{s}"


def fmt_interval(mean: float | None, lower: float | None, upper: float | None, money: bool = False,
                 digits: int | None = None) -> str:
    """'1,234 (1,100 to 1,350)': the mean with its 95% interval, all with the same decimals."""
    if mean is None or not math.isfinite(float(mean)):
        return "–"
    if lower is None or upper is None or not (math.isfinite(float(lower)) and math.isfinite(float(upper))):
        return fmt(mean, money, digits)
    if digits is None:
        digits = _digits([float(mean), float(lower), float(upper)])
    return f"{fmt(mean, money, digits)} ({fmt(lower, money, digits)} to {fmt(upper, money, digits)})"


def wrap(text: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def short_area(name: str, width: int = 32) -> str:
    """The part after 'Locality: ', shortened in the middle so names sharing a start stay distinct."""
    tail = name.split(": ", 1)[-1]
    if len(tail) <= width:
        return tail
    head = width // 3
    return tail[:head].rstrip() + "…" + tail[-(width - head - 1):].lstrip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def _money_unit(a: float) -> tuple[float, str]:
    return (1e6, "m") if a >= 1e6 else (1e3, "k") if a >= 1e4 else (1.0, "")


def fmt_money(x: float | None, unit: tuple[float, str] | None = None) -> str:
    """Money as a slide says it: '£1.2m', '£340k', '£950'; '−' for a saving; '–' for missing.

    Three significant figures of the largest value: enough to rank options, few enough to read aloud.
    """
    if x is None or not math.isfinite(float(x)):
        return "–"
    x = float(x)
    div, suffix = unit or _money_unit(abs(x))
    v = abs(x) / div
    if suffix:
        s = f"{v:.3g}" if v >= 1 or unit is None else f"{v:.2f}"
        s = s if "e" not in s else f"{v:,.0f}"
    else:
        s = f"{v:,.0f}"
    sign = "−" if x < 0 and float(s.replace(",", "")) != 0 else ""
    return f"{sign}£{s}{suffix}"


def fmt_money_interval(mean: float | None, lower: float | None, upper: float | None) -> str:
    """'£1.2m (£0.8m to £1.6m)': one unit (the largest value's) for the mean and both bounds."""
    if mean is None or not math.isfinite(float(mean)):
        return "–"
    vals = [float(v) for v in (mean, lower, upper) if v is not None and math.isfinite(float(v))]
    unit = _money_unit(max(abs(v) for v in vals))
    if lower is None or upper is None or len(vals) < 3 or lower == upper == mean:
        return fmt_money(mean, unit)
    return f"{fmt_money(mean, unit)} ({fmt_money(lower, unit)} to {fmt_money(upper, unit)})"
