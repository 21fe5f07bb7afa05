"""The two result files of a run (docs/outputs.md): results.parquet has every summary row, summary.csv the
rows that open in a spreadsheet, and the demo's summary.csv stays under Excel's 1,048,576 rows."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neighsim.analysis.cells import COLUMNS, EXCEL_ROWS, ROW_GROUP, in_csv, read_results
from neighsim.analysis.summary import STRATA_TOP_LEVELS, _stratum_values, joint_stratum, stratum_parts
from neighsim.cli import main
from neighsim.config import load_config
from neighsim.paths import project_root
from neighsim.population import build_population
from neighsim.recorder import AGE_BAND_NAMES, SEX_LABELS
from neighsim.runner.experiment import read_summary

ROOT = project_root()
SMALL = ["--la", "Tamworth", "--scale", "0.05"]
KEY = COLUMNS[:7]
# the schema docs/outputs.md documents: plain Parquet types, nothing pandas-specific
DOCUMENTED = pa.schema([(c, pa.string()) for c in KEY] + [("mean", pa.float64()), ("lower", pa.float64()),
                                                          ("upper", pa.float64()), ("n", pa.int64())])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The demo's scenario files (the Makefile's) on one local authority: its structure, in seconds."""
    out = tmp_path_factory.mktemp("outputs") / "run"
    files = [str(ROOT / "configs" / "scenarios" / f"{s}.yaml") for s in _demo_scenarios()[1:]]
    assert main(["run", *files, *SMALL, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def full(run) -> pd.DataFrame:
    return read_results(run)


@pytest.fixture(scope="module")
def csv(run) -> pd.DataFrame:
    return pd.read_csv(run / "summary.csv", keep_default_na=False, na_values=[""])


def test_csv_rows_are_the_parquet_rows_it_keeps(full, csv):
    kept = full[in_csv(full)].reset_index(drop=True)
    pd.testing.assert_frame_equal(csv, kept, check_exact=True)  # same rows, order, values
    both = csv.merge(full, on=KEY, how="left", suffixes=("", "_pq"), indicator=True)
    assert (both["_merge"] == "both").all() and len(both) == len(csv)  # a subset, key by key
    for c in ("mean", "lower", "upper", "n"):
        assert ((both[c] == both[f"{c}_pq"]) | (both[c].isna() & both[f"{c}_pq"].isna())).all(), c
    # the Parquet has what the CSV leaves out: the small areas' other strata
    only = full[~in_csv(full)]
    assert len(only) > 0 and set(only["level"]) <= {"locality", "neighbourhood"}
    assert {"core20=yes", "imd_quintile=1"} <= set(only["stratum"])
    nb = csv[csv["level"] == "neighbourhood"]
    assert len(nb) and set(nb["stratum"]) == {"all"}
    assert {"ics", "la", "place", "locality", "neighbourhood"} == set(csv["level"])


def test_csv_strata_never_need_quoting(run, full, csv):
    assert not csv["stratum"].str.contains(r'[,"\r\n]').any()
    assert not full["stratum"].str.contains(r'[,"\r\n]').any()
    joint = joint_stratum("sex=female", "imd_quintile=1")
    assert joint in set(csv["stratum"]) and stratum_parts(joint) == ["sex=female", "imd_quintile=1"]
    assert stratum_parts("sex=female,imd_quintile=1") == ["sex=female", "imd_quintile=1"]  # older folders
    # in the file itself: a quote only ever opens an area name (some hold a comma), never a stratum
    text = (run / "summary.csv").read_text(encoding="utf-8")
    assert all(',"' + a.replace('"', '""') + '",' in text for a in set(csv["area"]) if "," in a)
    assert '"' not in "".join(re.sub(r'"[^"]*"', "", line) for line in text.splitlines())


def test_parquet_reads_back_with_the_documented_types(run, full):
    f = pq.ParquetFile(run / "results.parquet")
    assert f.schema_arrow.equals(DOCUMENTED, check_metadata=True)
    assert not f.schema_arrow.metadata and not (f.metadata.metadata or {})  # no pandas (or Arrow) extras
    assert f.metadata.num_rows == len(full) and f.metadata.num_row_groups == -(-len(full) // ROW_GROUP)
    assert all(f.metadata.row_group(i).num_rows <= ROW_GROUP for i in range(f.metadata.num_row_groups))
    t = pq.read_table(run / "results.parquet")
    assert t.schema.equals(DOCUMENTED) and t.num_rows == len(full)
    assert list(full.columns) == COLUMNS
    assert [str(full[c].dtype) for c in ("mean", "lower", "upper", "n")] == ["float64"] * 3 + ["int64"]
    assert all(pd.api.types.is_string_dtype(full[c]) for c in KEY)


def test_filtered_reads_and_older_folders(run, full, tmp_path):
    nb = read_summary(run, level="neighbourhood", stratum=["all", "imd_quintile=1"])
    want = full[(full["level"] == "neighbourhood") & full["stratum"].isin(["all", "imd_quintile=1"])]
    pd.testing.assert_frame_equal(nb, want.reset_index(drop=True))
    # an older folder: summary.csv held every row, joint strata joined by a comma
    old = tmp_path / "old"
    old.mkdir()
    legacy = full.assign(stratum=full["stratum"].str.replace(" & ", ",", regex=False))
    legacy.to_csv(old / "summary.csv", index=False)
    pd.testing.assert_frame_equal(read_results(old), full, check_exact=True)
    objs = read_results(old, objects=True, level="ics")
    assert objs["stratum"].dtype == object and len(objs) == (full["level"] == "ics").sum()


def _labels(dimension: str, seen: set[str]) -> set[str]:
    """Every stratum label of a dimension ('imd_decile', 'sex & imd_quintile'...) as the model makes them
    for the whole ICS (all deciles, sexes, age bands); the small run's own labels for any other."""
    parts = dimension.split(" & ")
    if not all(p in STRATA_TOP_LEVELS for p in parts):
        return seen
    every = pd.DataFrame(list(itertools.product(range(1, 11), range(len(SEX_LABELS)), range(len(AGE_BAND_NAMES)))),
                         columns=["imd_decile", "sex", "age_band"])
    return {joint_stratum(*c) for c in itertools.product(*(sorted(set(_stratum_values(every, p))) for p in parts))}


def _rows_for(full: pd.DataFrame, areas: dict[str, int], scenarios: list[str], csv_only: bool) -> int:
    """Rows of a run of `scenarios` with `areas` areas per level, from the small run's structure: per level
    and stratum dimension, each scenario's (outcome, period, measure) in any area and label (a scenario
    the small run lacks: the most any of its scenarios has), x the dimension's labels x the areas. An
    upper bound for the small run itself."""
    dims = {s: " & ".join(p.split("=")[0] for p in stratum_parts(s)) for s in full["stratum"].unique()}
    f = full.assign(dimension=full["stratum"].map(dims))
    groups = set(f[["level", "dimension"]].drop_duplicates().itertuples(index=False, name=None))
    combos = f.drop_duplicates(["level", "dimension", "scenario", "outcome", "period", "measure"]) \
        .groupby(["level", "dimension", "scenario"]).size()
    ran, total = set(full["scenario"]), 0
    for level, dimension in sorted(groups):
        n = combos.loc[(level, dimension)]
        strata = set(f.loc[(f["level"] == level) & (f["dimension"] == dimension), "stratum"])
        labels = sorted(_labels(dimension, strata))
        kept = int(in_csv(pd.DataFrame({"level": level, "stratum": labels})).sum()) if csv_only else len(labels)
        per_area = sum(int(n.get(s, 0) if s in ran else n.max()) for s in scenarios)
        total += areas[level] * kept * per_area
    return total


def _demo_scenarios() -> list[str]:
    """The demo's scenarios: the comparator and the Makefile's SCENARIOS."""
    m = re.search(r"^SCENARIOS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), flags=re.M)
    return ["baseline", *m.group(1).split()]


def test_the_demos_summary_csv_fits_in_excel(full, csv):
    geo = build_population(load_config(population={"scale": 0.01})).geography  # the whole ICS's areas
    demo = {"ics": 1, "la": len(geo.las), "place": geo.neighbourhoods["place"].nunique(),
            "locality": len(geo.localities), "neighbourhood": len(geo.neighbourhoods)}
    small = full.groupby("level")["area"].nunique().to_dict()
    here = sorted(set(full["scenario"]))
    # the estimate bounds the small run's own files from above
    assert _rows_for(full, small, here, csv_only=True) >= len(csv)
    assert _rows_for(full, small, here, csv_only=False) >= len(full)
    scenarios = _demo_scenarios()
    rows_csv = _rows_for(full, demo, scenarios, csv_only=True)
    rows_all = _rows_for(full, demo, scenarios, csv_only=False)
    assert len(scenarios) > 1 and demo["neighbourhood"] > small["neighbourhood"]
    assert rows_csv + 1 < EXCEL_ROWS, (f"the demo's summary.csv would have about {rows_csv:,} rows (of "
                                       f"{rows_all:,} in results.parquet): more than Excel opens")
    assert rows_csv < rows_all
