"""Words and number formats for managers: outcome names, scenario names, numbers with intervals."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from functools import cache

from ..analysis.summary import stratum_parts
from ..outcomes import registry
from ..processes.plan import ADMISSION_CAUSES
from ..wording import say

CAUSE_OUTCOMES = tuple(r.name for r in ADMISSION_CAUSES)
# what an observational evaluation would claim for the same participants, shown beside the model's figure
COMPARISON_SUFFIXES = ("_ottawa_implied_readmissions_avoided",)


# condition codes in the processes' declared labels ('New cases: htn'), as a reader says them
CONDITION_WORDS = {"htn": "hypertension", "cvd": "cardiovascular disease", "copd": "COPD"}
# admission-type rates in figures are per 100,000 person-years: per 1,000 the effects read '0.002'
RATE_PER = 100_000
RATE_UNIT = "per 100,000 person-years"
PER_1000_TO_FIGURE = RATE_PER / 1000


def _humanise(text: str) -> str:
    return re.sub(r"\b(" + "|".join(CONDITION_WORDS) + r")\b", lambda m: CONDITION_WORDS[m.group(1)], text)


@cache
def label_table() -> dict[str, str]:
    """The one table of reader names: every declared outcome (the processes' results and the derived
    outcomes in outcomes.py), condition codes spelt out. Figures and tables take their words from here."""
    return {name: _humanise(o.label) for name, o in registry().items()}


def rate_label(outcome: str) -> str:
    """An admission-type rate as figures show it: 'Emergency admissions per 100,000 person-years'."""
    base = outcome.removesuffix("_per_1000")
    return f"{label_table().get(base, outcome_label(base))} {RATE_UNIT}"


def cause_label(outcome: str) -> str:
    """A cause of admission on its own, for a legend: 'Respiratory', 'Falls', 'Other'."""
    words = outcome_label(outcome).replace(" emergency", "").removesuffix(" admissions")
    return words[:1].upper() + words[1:]


def outcome_label(outcome: str, prefixes: Sequence[str] = ()) -> str:
    """A reader's name for an outcome; `prefixes` are intervention names ('falls_pathway') so that
    'falls_pathway_digital_users' reads 'Falls pathway: digital users'."""
    declared = label_table().get(outcome)
    if declared is not None:
        return declared
    for suffix in COMPARISON_SUFFIXES:
        if outcome.endswith(suffix):
            return f"{scenario_label(outcome[: -len(suffix)])}: {say('label_ottawa_comparison')}"
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
    for kv in stratum_parts(stratum):
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
    if float(lower) == float(upper) == float(mean):  # the same in every run: no interval to show
        return fmt(mean, money, digits)
    if digits is None:
        digits = _digits([float(mean), float(lower), float(upper)])
    return f"{fmt(mean, money, digits)} ({fmt(lower, money, digits)} to {fmt(upper, money, digits)})"


def wrap(text: str, width: int = 38) -> str:
    """Lines of at most `width` characters, broken between whole words only (a word longer than a line
    keeps its own line; hyphenated names such as Newcastle-under-Lyme stay whole)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def short_area(name: str, width: int = 32) -> str:
    """The part after 'Locality: ', whole, wrapped on words into lines of about `width` characters."""
    return wrap(name.split(": ", 1)[-1], width)


_SMALL_WORDS = {"on", "under", "upon", "in", "by", "le", "de"}


def _place_words(tokens: Sequence[str]) -> str:
    """'stoke on trent' -> 'Stoke-on-Trent', 'staffordshire moorlands' -> 'Staffordshire Moorlands'."""
    out: list[str] = []
    for i, t in enumerate(tokens):
        if t in _SMALL_WORDS and 0 < i < len(tokens) - 1:
            out[-1] += f"-{t}-"
        elif out and out[-1].endswith("-"):
            out[-1] += t.capitalize()
        else:
            out.append(t.capitalize())
    return " ".join(out)


def target_label(target: str, measure: str | None = None) -> str:
    """A validation target in words, from its measure and the parts of its name:
    'admissions_53_66_q1' -> 'Emergency admission rate, ages 53–66, IMD quintile 1'."""
    tokens = target.lower().split("_")
    head = say("label_target_measure", measure=measure or "")
    if not head:
        return target.replace("_", " ").capitalize()
    known = set((measure or "").split("_")) | {"admissions", "fractures", "hip", "falls", "any", "severe",
                                               "prevalence", "recorded", "hypertension", "growth", "adults", "vs"}
    bits: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t.isdigit() and nxt.isdigit():
            bits.append(f"ages {t}–{nxt}")
            i += 2
            continue
        if re.fullmatch(r"\d+plus", t):
            bits.append(f"aged {t[:-4]}+")
        elif re.fullmatch(r"q\d", t) and measure != "multimorbidity_ratio_q1_q5":
            bits.append(f"IMD quintile {t[1:]}")
        elif re.fullmatch(r"decile\d+", t):
            bits.append(f"IMD decile {t[6:]}")
        elif t in ("male", "female"):
            bits.append(f"{t}s")
        elif t == "one" and nxt == "year":
            bits.append("over one year")
            i += 2
            continue
        elif t == "all" and nxt == "ages":
            bits.append("all ages")
            i += 2
            continue
        elif t == "adults" and measure == "smoking":
            bits.append("adults")
        elif t not in known and not re.fullmatch(r"q\d", t):
            rest.append(t)
        i += 1
    if measure == "population_growth" and not any("one year" in b for b in bits):
        bits.append("over five years")
    if rest:  # a place's name ('le_male_stoke_on_trent'), or words this function does not know
        bits.append(_place_words(rest))
    return ", ".join([head, *bits])


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
