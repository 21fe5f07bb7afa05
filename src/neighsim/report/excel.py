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
from ..wording import say
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


STATISTICS = ("mean", "lower", "upper")  # the suffixes of the area tables' interval columns


def pretty_columns(df: pd.DataFrame, scenarios: list[str], comparator_label: str = "Baseline") -> pd.DataFrame:
    """'falls_pathway_avoided_per_1000_lower' -> 'Falls pathway: avoided per 1,000 (lower 95%)'."""
    from .labels import scenario_label

    whose = [("baseline", comparator_label)] + [(sc, scenario_label(sc)) for sc in scenarios]
    return df.rename(columns={col: _pretty_column(str(col), whose) for col in df.columns})


def _pretty_column(col: str, whose: list[tuple[str, str]]) -> str:
    """A by-area or by-deprivation column in words (templates/tables.j2), or the column as it is."""
    new = say("xl_area_column", column=col) or col
    for prefix, who in whose:
        for stat in STATISTICS:
            if col.startswith(f"{prefix}_") and col.endswith(f"_{stat}"):
                quantity = col[len(prefix) + 1: -len(stat) - 1]
                new = say("xl_area_interval_column", who=who, quantity=quantity, statistic=stat) or new
    return new


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
                 note=say("xl_headline_note", whole=d.whole, coverage=d.coverage, comparator=d.comparator_label))

    ws = wb.create_sheet("by year")
    _write_frame(ws, tables.by_year(d), note=say("xl_by_year_note"))

    ws = wb.create_sheet("by neighbourhood")
    area = tables.by_area(d)
    if area.empty:
        _empty(ws, say("xl_areas_none"))
    else:
        _write_frame(ws, pretty_columns(area, d.scenarios, d.comparator_label),
                     note=say("xl_areas_note", whole=d.whole))

    ws = wb.create_sheet("by deprivation")
    dep = tables.by_deprivation(d)
    if dep.empty:
        _empty(ws, say("xl_deprivation_none"))
    else:
        _write_frame(ws, pretty_columns(dep, d.scenarios, d.comparator_label),
                     note=say("xl_deprivation_note", whole=d.whole))

    ws = wb.create_sheet("costs")
    c = per_area(d, tables.costs)
    if c.empty:
        _empty(ws, say("xl_costs_none", baseline_only=not d.scenarios))
    else:
        _write_frame(ws, c, note=say("xl_costs_note"))

    ws = wb.create_sheet("assumptions")
    a = tables.assumptions(d)
    _write_frame(ws, a, note=say("xl_assumptions_note", used=len(a), total=len(d.parameters),
                                 folder=d.parameters_dir),
                 highlight=a["assumption"] == "yes" if len(a) else None)

    ws = wb.create_sheet("validation")
    v = tables.validation(d)
    if v is None or v.empty:
        _empty(ws, say("xl_validation_none"))
    else:
        _write_frame(ws, v, note=say("xl_validation_note"),
                     highlight=~v["pass"].astype(bool) if "pass" in v else None, fill=FAIL_FILL)

    from . import fairness
    from .contributions import add_sheet as add_contributions_sheet

    places = fairness.delivered(d)
    if not places.empty:  # only with intervention scenarios
        ws = wb.create_sheet("places and money")
        _write_frame(ws, places, note=say("xl_places_note", whole=d.whole, warnings=fairness.warnings(d)))
    add_contributions_sheet(wb, d)
    from .business_case import add_sheets as add_business_case_sheets

    add_business_case_sheets(wb, d)
    ws = wb.create_sheet("provenance")
    _write_frame(ws, pd.DataFrame(tables.provenance(d), columns=["item", "value"]))
    wb.save(path)
    return path
