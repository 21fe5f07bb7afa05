"""results.xlsx: the report's tables as sheets a business-case author can filter and paste from.

Numbers are written as numbers (never formatted strings) with a display format, so sums and charts in
Excel work; headers are bold and frozen, columns are sized to their contents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..outcomes import OUT
from . import tables
from .data import AREA_LEVELS, RunData

SHEETS = ["headline", "by year", "by neighbourhood", "by deprivation", "costs", "assumptions", "validation"]
HEADER_FILL = PatternFill("solid", fgColor="123A6B")
ASSUME_FILL = PatternFill("solid", fgColor="FFF4CC")
FAIL_FILL = PatternFill("solid", fgColor="FDE3EC")
MAX_WIDTH = 60


def _clean(v: object) -> object:
    """Cells openpyxl can store: numbers stay numbers, nan becomes an empty cell."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return None if isinstance(v, float) and not math.isfinite(v) else v
    if hasattr(v, "item"):  # numpy scalar
        return _clean(v.item())
    return str(v)


def _number_format(col: str, v: float) -> str:
    """A display format per cell: shares as percentages, big numbers without decimals, small with some."""
    name = col.lower()
    if "share" in name or name.endswith("%"):
        return "0.0%"
    a = abs(v)
    if float(v).is_integer() or a >= 1000:
        return "#,##0"
    return "#,##0.0" if a >= 10 else "0.00" if a >= 0.1 else "0.000"


def pretty_columns(df: pd.DataFrame, scenarios: list[str], comparator_label: str = "Baseline") -> pd.DataFrame:
    """'falls_pathway_avoided_per_1000_lower' -> 'Falls pathway: avoided per 1,000 (lower 95%)'."""
    from .labels import scenario_label

    stats = {"mean": "mean", "lower": "lower 95%", "upper": "upper 95%"}
    names = {"admissions": "emergency admissions", "rate": "admissions per 1,000 person-years",
             OUT.bed_days: "bed days", OUT.deaths: "deaths", "avoided": "admissions avoided",
             "avoided_per_1000": "avoided per 1,000 person-years"}
    fixed = {OUT.person_years: "person-years", "residents_end": "residents (end)",
             "share_core20": "Core20 share of person-years"}
    out = {}
    for col in df.columns:
        new = fixed.get(col, col)
        for prefix, who in [("baseline", comparator_label)] + [(sc, scenario_label(sc)) for sc in scenarios]:
            for key, words in names.items():
                for st, st_words in stats.items():
                    if col == f"{prefix}_{key}_{st}":
                        new = f"{who}: {words} ({st_words})"
        out[col] = new
    return df.rename(columns=out)


def _write_frame(ws: Worksheet, df: pd.DataFrame, note: str | None = None,
                 highlight: pd.Series | None = None, fill: PatternFill = ASSUME_FILL) -> None:
    start = 1
    if note:
        ws.cell(row=1, column=1, value=note).font = Font(italic=True, color="555555")
        start = 3
    for j, col in enumerate(df.columns, start=1):
        c = ws.cell(row=start, column=j, value=str(col))
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="bottom")
    for i, row in enumerate(df.itertuples(index=False), start=start + 1):
        hl = highlight is not None and bool(highlight.iloc[i - start - 1])
        for j, (col, v) in enumerate(zip(df.columns, row, strict=True), start=1):
            cell = ws.cell(row=i, column=j, value=_clean(v))
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                cell.number_format = _number_format(str(col), cell.value)
            if hl:
                cell.fill = fill
    widest = max((len(str(c)) for c in df.columns), default=10)
    ws.row_dimensions[start].height = 15 * min(4, max(1, math.ceil(widest / 28)))
    ws.freeze_panes = ws.cell(row=start + 1, column=2)
    if len(df):
        ws.auto_filter.ref = f"A{start}:{get_column_letter(len(df.columns))}{start + len(df)}"
    for j, col in enumerate(df.columns, start=1):
        head = min(len(str(col)), 28)  # long headers wrap rather than widen the column
        lengths = [head] + [len(_shown(v)) for v in df[col].head(500)]
        ws.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, max(8, max(lengths) + 2))


def _shown(v: object) -> str:
    """Roughly the text Excel shows, to size the column."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:,.2f}"
    return str(v)


def _empty(ws: Worksheet, text: str) -> None:
    ws.cell(row=1, column=1, value=text).font = Font(italic=True)
    ws.column_dimensions["A"].width = min(MAX_WIDTH * 2, len(text) + 2)


def per_area(d: RunData, table: Callable[[RunData], pd.DataFrame]) -> pd.DataFrame:
    """A table for the report's area and each place, locality and neighbourhood inside it, one under the
    other, with level and area columns first (so a spreadsheet filter picks an area)."""
    frames = []
    for level in AREA_LEVELS[AREA_LEVELS.index(d.focus_level):]:
        if level == "ics":
            areas = [d.area] if d.is_ics else []
        else:
            inside = d.areas_here(level)
            areas = sorted(set(d.rows(level=level, scenario=d.comparator, outcome=OUT.person_years)["area"]))
            areas = [a for a in areas if inside is None or a in inside]
        for a in areas:
            one = d if (level, a) == (d.focus_level, d.area) else d.for_area(a, level)
            t = table(one)
            if len(t):
                frames.append(t.assign(level=level, area=a)[["level", "area", *t.columns]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_xlsx(d: RunData, path: Path) -> Path:
    """Write results.xlsx with the sheets in SHEETS (plus provenance)."""
    wb = Workbook()
    wb.remove(wb.active)
    head = per_area(d, tables.headline)
    ws = wb.create_sheet("headline")
    _write_frame(ws, head.drop(columns=["money", "group"]),
                 note=f"{d.whole}: {d.coverage} and every place, locality and neighbourhood in it (columns level "
                      "and area; filter them). Mean and 95% interval across replicates. 'avoided' rows are "
                      f"{d.comparator_label.lower()} minus scenario (read_as 'difference x -1').")

    ws = wb.create_sheet("by year")
    _write_frame(ws, tables.by_year(d), note="ICS totals by financial year and for the whole horizon. "
                                             "measure: value, difference (scenario minus baseline) or "
                                             "percent_change.")

    ws = wb.create_sheet("by neighbourhood")
    area = tables.by_area(d)
    if area.empty:
        _empty(ws, "No place, locality or neighbourhood rows in summary.csv.")
    else:
        _write_frame(ws, pretty_columns(area, d.scenarios, d.comparator_label), note=f"{d.whole}. rate = emergency admissions per 1,000 person-years; "
                                    "avoided = baseline minus scenario; share_core20 = share of person-years "
                                    "lived in Core20 LSOAs.")

    ws = wb.create_sheet("by deprivation")
    dep = tables.by_deprivation(d)
    if dep.empty:
        _empty(ws, "No deprivation strata in summary.csv.")
    else:
        _write_frame(ws, pretty_columns(dep, d.scenarios, d.comparator_label), note=f"{d.whole}, ICS level. IMD 2019 decile/quintile 1 = most deprived.")

    ws = wb.create_sheet("costs")
    c = per_area(d, tables.costs)
    if c.empty:
        _empty(ws, "No cost, ROI, QALY or participant outcomes in this folder"
                   + (" (baseline only: they come with intervention scenarios)." if not d.scenarios else "."))
    else:
        _write_frame(ws, c, note="Costs in pounds as recorded by the model, by area (columns level and area); "
                                 "ROI = pounds back per pound spent.")

    ws = wb.create_sheet("assumptions")
    a = tables.assumptions(d)
    _write_frame(ws, a, note=f"The {len(a)} parameters this run used (of {len(d.parameters)} in "
                             f"{d.parameters_dir}). Highlighted rows (confidence M or A) are assumptions.",
                 highlight=a["assumption"] == "yes" if len(a) else None)

    ws = wb.create_sheet("validation")
    v = tables.validation(d)
    if v is None or v.empty:
        _empty(ws, "No validation.csv in this folder: run `neighsim validate --out FOLDER`.")
    else:
        _write_frame(ws, v, note="Baseline against published figures (first projection year; final year for "
                                 "drift).", highlight=~v["pass"].astype(bool) if "pass" in v else None,
                     fill=FAIL_FILL)

    from . import fairness
    from .contributions import add_sheet as add_contributions_sheet

    places = fairness.delivered(d)
    if not places.empty:  # only with intervention scenarios
        ws = wb.create_sheet("places and money")
        warn = fairness.warnings(d)
        _write_frame(ws, places, note=f"{d.whole}: places made available (blank: unlimited), participants and "
                                      "intervention cost (£) each area got, by scenario and intervention; mean and "
                                      "95% interval. " + ("Warnings: " + " ".join(warn) if warn else
                                                          "No compared scenarios differ by more than 20%."))
    add_contributions_sheet(wb, d)
    from .business_case import add_sheets as add_business_case_sheets

    add_business_case_sheets(wb, d)
    ws = wb.create_sheet("provenance")
    _write_frame(ws, pd.DataFrame(tables.provenance(d), columns=["item", "value"]))
    wb.save(path)
    return path
