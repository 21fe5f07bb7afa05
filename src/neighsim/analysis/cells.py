"""Per-run values kept on disk, summarised across runs with memory flat in the number of runs.

A run (scenario x replicate x parameter draw) is reduced to values over cells (outcome, period,
level, area, stratum). Each run's (cell id, value) pairs are appended to a file per scenario; cells
get ids as they are first seen. To summarise, each scenario becomes a matrix [runs x cells] in a
file, read a block of cells at a time: means, percentiles and paired differences from the
comparator (rows paired on replicate and draw) never hold more than one block of every run.

Missing cells: a count absent from a run is zero there (counts are stored only where non-zero, so a
mean over runs that skipped them would be biased upwards); any other outcome (a rate, a life
expectancy, an inequality index) is missing, not zero, and is left out of that cell's statistics.

The statistics go, a block at a time, to results.parquet (every row) and summary.csv (the rows that fit
in a spreadsheet: `in_csv`); `read_results` reads them back (docs/outputs.md).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CELL = ["outcome", "period", "level", "area", "stratum"]
BLOCK = 16_384  # cells per block: runs x BLOCK x 8 bytes at a time
COLUMNS = ["scenario", "outcome", "period", "level", "area", "stratum", "measure", "mean", "lower", "upper", "n"]
STRINGS = COLUMNS[:7]
RESULTS_FILE, SUMMARY_FILE = "results.parquet", "summary.csv"
# results.parquet: plain Parquet (no pandas metadata), documented in docs/outputs.md
SCHEMA = pa.schema([(c, pa.string()) for c in STRINGS]
                   + [(c, pa.float64()) for c in ("mean", "lower", "upper")] + [("n", pa.int64())])
ROW_GROUP = 131_072  # rows per Parquet row group: readers stream a few MB at a time
# summary.csv is what fits in a spreadsheet (Excel: 1,048,576 rows): below place level (localities,
# neighbourhoods) only stratum "all"; their splits by deprivation are in results.parquet alone
SMALL_AREAS = ("locality", "neighbourhood")
SMALL_AREA_STRATA = ("all",)
EXCEL_ROWS = 1_048_576  # header included


def in_csv(df: pd.DataFrame) -> np.ndarray:
    """Which result rows summary.csv keeps (every row is in results.parquet)."""
    small = df["level"].isin(SMALL_AREAS).to_numpy(dtype=bool)
    return ~small | df["stratum"].isin(SMALL_AREA_STRATA).to_numpy(dtype=bool)


class CellStore:
    """Run vectors of one table (the main outcomes, or the paired economics) over a shared cell index."""

    def __init__(self, workdir: Path, is_count: Callable[[str], bool] | None = None):
        self.dir = Path(workdir)
        self.is_count = is_count or (lambda outcome: False)
        self.index = pd.MultiIndex.from_arrays([[] for _ in CELL], names=CELL)
        self.runs: dict[str, list[tuple[int, int]]] = {}  # scenario -> [(replicate, draw)] in file order
        self._files: dict[str, Path] = {}
        self._mats: dict[str, tuple[DiskMatrix, np.ndarray]] = {}
        self.columns = np.empty(0, dtype=np.int64)

    def add(self, scenario: str, replicate: int, draw: int, rows: pd.DataFrame) -> None:
        """One run's rows (columns CELL + value)."""
        keys = pd.MultiIndex.from_frame(rows[CELL].astype(str))
        ids = self.index.get_indexer(keys)
        new = ids < 0
        if new.any():
            fresh = keys[new].unique()
            self.index = self.index.append(fresh)
            ids[new] = self.index.get_indexer(keys[new])
        path = self._files.setdefault(scenario, self.dir / f"{len(self._files):04d}.bin")
        rec = np.empty(len(ids), dtype=[("cell", "<i4"), ("value", "<f8")])
        rec["cell"] = ids
        rec["value"] = rows["value"].to_numpy(dtype=float)
        with path.open("ab") as fh:
            np.array([len(rec)], dtype="<i8").tofile(fh)
            rec.tofile(fh)
        self.runs.setdefault(scenario, []).append((int(replicate), int(draw)))

    def freeze(self, key_order: list[str] = CELL) -> pd.DataFrame:
        """Fix the matrices' columns once every run is added: cells sorted by `key_order` (the order of
        the summary's rows). Returns the cells in that order."""
        self.columns = np.lexsort([self.index.get_level_values(c).to_numpy(dtype=str) for c in reversed(key_order)])
        return self.index.to_frame(index=False).iloc[self.columns].reset_index(drop=True)

    def matrix(self, scenario: str, order: list[tuple[int, int]]) -> tuple[DiskMatrix, np.ndarray]:
        """The scenario's runs as a matrix on disk: rows follow `order` (replicate, draw), columns the
        frozen cell order. Also returns whether each column occurs in any of the scenario's runs."""
        if scenario in self._mats:
            return self._mats[scenario]
        columns = self.columns
        n_cells = len(self.index)
        counts = np.array([self.is_count(o) for o in self.index.get_level_values("outcome")], dtype=bool)
        fill = np.where(counts, 0.0, np.nan)
        row_of = {r: i for i, r in enumerate(order)}
        present = np.zeros(n_cells, dtype=bool)
        path = self.dir / f"matrix-{len(self._mats):04d}.f8"
        mat = DiskMatrix(path, len(order), len(columns))
        gap = np.full(len(columns), np.nan).astype("<f8").tobytes()  # a run this scenario lacks: left out
        with self._files[scenario].open("rb") as fh, path.open("wb") as out:
            for run in self.runs[scenario]:
                n = int(np.fromfile(fh, dtype="<i8", count=1)[0])
                rec = np.fromfile(fh, dtype=[("cell", "<i4"), ("value", "<f8")], count=n)
                i = row_of.get(run)
                if i is None:
                    continue
                if i < mat.written:
                    raise ValueError("runs must be added in the order of their replicate and draw")
                out.write(gap * (i - mat.written))
                row = fill.copy()
                row[rec["cell"]] = rec["value"]
                present[rec["cell"]] = True
                out.write(row[columns].astype("<f8").tobytes())
                mat.written = i + 1
            out.write(gap * (len(order) - mat.written))
        self._mats[scenario] = (mat, present[columns])
        return self._mats[scenario]

    @staticmethod
    def blocks(n: int) -> Iterator[tuple[int, int]]:
        for i in range(0, n, BLOCK):
            yield i, min(i + BLOCK, n)


class DiskMatrix:
    """A float64 matrix in a raw file, read a block of columns at a time (file reads, not a memory
    map, so what has been read does not stay in the process's memory)."""

    def __init__(self, path: Path, n_rows: int, n_cols: int):
        self.path, self.n_rows, self.n_cols, self.written = path, n_rows, n_cols, 0

    def block(self, j0: int, j1: int) -> np.ndarray:
        out = np.empty((self.n_rows, j1 - j0))
        with self.path.open("rb") as fh:
            for r in range(self.n_rows):
                fh.seek((r * self.n_cols + j0) * 8)
                out[r] = np.fromfile(fh, dtype="<f8", count=j1 - j0)
        return out


def describe(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mean, 2.5th and 97.5th percentiles (numpy's linear interpolation) and count over rows, ignoring
    NaN. A column missing in every run (an outcome undefined there) gives NaN, without a warning."""
    valid = ~np.isnan(x)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(valid, x, 0.0).sum(axis=0) / n, np.nan)
    lo, hi = (_quantile(np.sort(x, axis=0), n, q) for q in (0.025, 0.975))
    return mean, lo, hi, n


def _quantile(s: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """Quantile q of each column of `s` (sorted, NaN last; n valid values each), as np.quantile's
    'linear' method computes it (the same lerp), one vectorised step for every column."""
    pos = (n - 1) * q
    below = np.floor(pos)
    t = pos - below
    i = np.clip(below.astype(np.int64), 0, max(len(s) - 1, 0))
    j = np.clip(i + 1, 0, np.maximum(n - 1, 0))
    cols = np.arange(s.shape[1])
    if len(s) == 0:
        return np.full(s.shape[1], np.nan)
    a, b = s[i, cols], s[j, cols]
    diff = b - a
    out = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return np.where(n > 0, out, np.nan)


def _frame(scen: str, measure: str, cells: pd.DataFrame, stats, pos: np.ndarray) -> pd.DataFrame:
    mean, lo, hi, n = stats
    return cells.assign(scenario=scen, measure=measure, mean=mean, lower=lo, upper=hi, n=n, _pos=pos)


def csv_text(df: pd.DataFrame, header: bool = True) -> str:
    """`df.to_csv(index=False, header=header)`, the same text, several times faster: a float as numpy's
    str (the shortest repr, as Python's repr gives it) and NaN as an empty field, an integer as
    str, and each distinct string formatted once by the csv module with pandas' dialect (quoted only
    where needed). Other column types are left to pandas."""
    if len(df.columns) < 2:  # a lone empty field is quoted: leave such frames to pandas
        return df.to_csv(index=False, header=header)
    cols: list[list[str]] = []
    for name in df.columns:
        col = df[name]
        kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
        if col.dtype == np.float64:
            arr = col.to_numpy()
            text = list(map(repr, arr.tolist()))
            for i in np.flatnonzero(np.isnan(arr)).tolist():
                text[i] = ""
        elif kind in ("i", "u"):
            text = list(map(str, col.to_numpy().tolist()))
        elif kind == "O" or isinstance(col.dtype, pd.StringDtype):
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            if any(not isinstance(u, str) for u in uniques):
                return df.to_csv(index=False, header=header)
            fields = np.array([_csv_field(u) for u in uniques] + [""], dtype=object)
            text = fields[codes].tolist()  # a missing value (code -1) is the empty field
        else:
            return df.to_csv(index=False, header=header)
        cols.append(text)
    lines = [",".join(map(_csv_field, map(str, df.columns)))] if header else []
    lines += map(",".join, zip(*cols, strict=True))
    return os.linesep.join(lines) + os.linesep if lines else ""


def _csv_field(value: str) -> str:
    """One field as pandas' csv writer writes it (QUOTE_MINIMAL, '"' doubled, its line terminator)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator=os.linesep, quoting=csv.QUOTE_MINIMAL).writerow(["", value])
    return buf.getvalue()[1:-len(os.linesep)]


class ResultsWriter:
    """results.parquet (every row) and summary.csv (the rows `in_csv` keeps; none when `csv` is None),
    written as the blocks of rows come, so memory stays flat: Parquet row groups of ROW_GROUP rows (a
    remainder held until the next block), CSV text block by block. Each file is written beside its
    path (`.tmp`) and moved there by close()."""

    def __init__(self, parquet: Path, csv: Path | None = None):
        self.parquet, self.csv = Path(parquet), (Path(csv) if csv is not None else None)
        self._pq_tmp = self.parquet.with_name(self.parquet.name + ".tmp")
        self._csv_tmp = self.csv.with_name(self.csv.name + ".tmp") if self.csv else None
        self._writer = pq.ParquetWriter(self._pq_tmp, SCHEMA, compression="snappy", store_schema=False)
        self._pending: list[pa.Table] = []
        self._n_pending = 0
        self.rows = self.csv_rows = 0
        if self._csv_tmp is not None:
            self._csv_tmp.write_text(csv_text(pd.DataFrame(columns=COLUMNS)), encoding="utf-8")

    def write(self, df: pd.DataFrame) -> None:
        """Rows with COLUMNS (others are ignored), in the order they go to both files."""
        if not len(df):
            return
        df = df[COLUMNS].assign(n=df["n"].astype(np.int64))
        table = pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False).replace_schema_metadata(None)
        self._pending.append(table)
        self._n_pending += len(table)
        self.rows += len(table)
        if self._n_pending >= ROW_GROUP:
            self._flush(final=False)
        if self._csv_tmp is not None:
            keep = df[in_csv(df)]
            with self._csv_tmp.open("a", encoding="utf-8", newline="") as fh:
                fh.write(csv_text(keep, header=False))
            self.csv_rows += len(keep)

    def _flush(self, final: bool) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        full = len(table) if final else len(table) // ROW_GROUP * ROW_GROUP
        if full:
            self._writer.write_table(table.slice(0, full), row_group_size=ROW_GROUP)
        rest = table.slice(full)
        self._pending, self._n_pending = ([rest] if len(rest) else []), len(rest)

    def close(self) -> None:
        """Finish both files and move them into place."""
        self._flush(final=True)
        self._writer.close()
        self._pq_tmp.replace(self.parquet)
        if self._csv_tmp is not None:
            self._csv_tmp.replace(self.csv)

    def abort(self) -> None:
        self._writer.close()
        for p in (self._pq_tmp, self._csv_tmp):
            if p is not None:
                p.unlink(missing_ok=True)

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_results(main: CellStore, econ: CellStore, scenarios: list[str], comparator: str,
                  order: list[tuple[int, int]], out: ResultsWriter) -> pd.DataFrame:
    """The summary's rows block by block (scenario, cell, measure; then the paired economics) to `out`;
    returns the rows at ICS level for the console headline."""
    head: list[pd.DataFrame] = []

    def emit(df: pd.DataFrame) -> None:
        measure = pd.factorize(df["measure"], sort=True)[0]  # sorted like the labels (none is missing)
        df = df.take(np.lexsort((measure, df["_pos"].to_numpy())))[COLUMNS]  # stable, as sort_values
        out.write(df)
        head.append(df[df["level"] == "ics"])

    cells = main.freeze()
    comp = main.matrix(comparator, order)[0] if comparator in scenarios else None
    for scen in scenarios:
        mat, present = main.matrix(scen, order)
        for j0, j1 in main.blocks(len(cells)):
            keep = np.flatnonzero(present[j0:j1])
            if len(keep) == 0:
                continue
            vals = mat.block(j0, j1)[:, keep]
            pos = j0 + keep
            c = cells.iloc[pos].reset_index(drop=True)
            parts = [_frame(scen, "value", c, describe(vals), pos)]
            if comp is not None and scen != comparator:
                base = comp.block(j0, j1)[:, keep]
                d = describe(vals - base)
                both = ~np.isnan(vals) & ~np.isnan(base)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ma = np.where(both, vals, 0).sum(axis=0) / both.sum(axis=0)
                    mc = np.where(both, base, 0).sum(axis=0) / both.sum(axis=0)
                    mc = np.where(mc == 0, np.nan, mc)
                    pct = (100 * (ma - mc) / mc, 100 * d[1] / mc, 100 * d[2] / mc, d[3])
                parts += [_frame(scen, "difference", c, d, pos), _frame(scen, "percent_change", c, pct, pos)]
            emit(pd.concat(parts, ignore_index=True))
    from .appraisal import ratios_of_means

    ecells = econ.freeze(["period", "level", "area", "stratum", "outcome"])
    for scen in sorted(econ.runs):
        mat, present = econ.matrix(scen, order)
        frames = []  # one scenario's economics are small: held together so a ratio can read its parts
        for j0, j1 in econ.blocks(len(ecells)):
            keep = np.flatnonzero(present[j0:j1])
            if len(keep):
                pos = j0 + keep
                frames.append(_frame(scen, "value", ecells.iloc[pos].reset_index(drop=True),
                                     describe(mat.block(j0, j1)[:, keep]), pos))
        if frames:
            emit(ratios_of_means(pd.concat(frames, ignore_index=True)))
    return pd.concat(head, ignore_index=True) if head else pd.DataFrame(columns=COLUMNS)


def read_results(out: str | Path, filters: Any = None, *, objects: bool = False, **match: Any) -> pd.DataFrame:
    """The summary rows of an output folder: results.parquet (every row), or in a folder written before it
    existed summary.csv (which then had every row; its joint strata relabelled as now: "sex=male &
    imd_quintile=1"). Columns COLUMNS: strings, float64 mean/lower/upper (NaN where missing), int64 n.

    Only the matching rows are read into memory (the filter is pushed down to the Parquet reader):
    `match` gives columns' values (`level="neighbourhood"`, `stratum=["all", "core20=yes"]`); `filters` a
    pyarrow expression or pyarrow.parquet.read_table's list of tuples. `objects`: string columns as Python
    str objects, each distinct value one object shared by its rows (pandas' default string dtype
    otherwise)."""
    from ..errors import NeighsimError

    d = Path(out)
    expr = _expression(filters, match)
    p = d / RESULTS_FILE
    if p.is_file():
        try:
            table = pq.read_table(p, columns=COLUMNS, filters=expr, read_dictionary=STRINGS if objects else None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise NeighsimError(f"{p}: not a neighsim results file ({' '.join(str(exc).split())[:150]})") from None
    elif (d / SUMMARY_FILE).is_file():
        table = _read_csv_results(d / SUMMARY_FILE)
        if expr is not None:
            table = table.filter(expr)
        if objects:
            table = pa.table({c: pc.dictionary_encode(table[c]) if c in STRINGS else table[c] for c in COLUMNS})
    else:
        raise NeighsimError(f"{d}: no {RESULTS_FILE} or {SUMMARY_FILE} here; run `neighsim run --out {d}` first")
    df = table.to_pandas()
    del table
    if objects:
        for c in STRINGS:  # each category's one object, taken by code: no copy of a string per row
            col = df[c]
            values = np.asarray(col.cat.categories.astype(object), dtype=object)[col.cat.codes.to_numpy()]
            df[c] = pd.Series(values, index=df.index, dtype=object)
    return df


def _expression(filters: Any, match: dict[str, Any]) -> pc.Expression | None:
    parts = []
    if filters is not None:
        parts.append(filters if isinstance(filters, pc.Expression) else pq.filters_to_expression(filters))
    for col, want in match.items():
        if col not in COLUMNS:
            raise TypeError(f"read_results: no column {col!r}; columns are {', '.join(COLUMNS)}")
        many = isinstance(want, list | tuple | set | frozenset)
        parts.append(pc.field(col).isin(list(want)) if many else pc.field(col) == want)
    if not parts:
        return None
    expr = parts[0]
    for e in parts[1:]:
        expr = expr & e
    return expr


def _read_csv_results(p: Path) -> pa.Table:
    """An older folder's summary.csv as results.parquet's table (pyarrow's reader: a fraction of pandas'
    memory)."""
    from pyarrow import csv as pacsv

    from ..errors import NeighsimError
    from .summary import STRATUM_JOIN

    types = {c: t for c, t in zip(SCHEMA.names, SCHEMA.types, strict=True)}
    try:
        with p.open("rb") as fh:
            fh.readline().decode("utf-8")  # a file that is not text fails here, with a plain message
        table = pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=False, null_values=[""], quoted_strings_can_be_null=False))
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise NeighsimError(f"{p}: not a neighsim summary ({' '.join(str(exc).split())[:150]})") from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise NeighsimError(f"{p}: missing column(s) {missing}; expected {COLUMNS}")
    stratum = pc.replace_substring(table["stratum"], ",", STRATUM_JOIN)
    return pa.table({c: stratum if c == "stratum" else table[c] for c in COLUMNS}).cast(SCHEMA)


def open_workdir(out: Path) -> tempfile.TemporaryDirectory:
    """Scratch space for the matrices, inside the output folder's filesystem (they can be large)."""
    return tempfile.TemporaryDirectory(prefix=".summary-", dir=out)
