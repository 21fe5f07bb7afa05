"""Reading the bundled real data (../data/*.csv), with clear errors if a file is missing or changed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ..errors import NeighsimError
from ..paths import DATA_DIR

FILES = {
    "population": ("staffs_population_mid2020_lsoa11_single_year_age.csv",
                   ["lsoa11_code", "lad19_name", "total_population", "age_0", "age_89", "age_90plus"]),
    "sex": ("staffs_census2021_la_sex_single_year_age.csv", ["lad_name", "sex", "age", "count"]),
    "households": ("staffs_census2021_households_lsoa21.csv",
                   ["lsoa21_code", "lsoa21_name", "lad_name", "tenure_total_households"]),
    "imd": ("staffs_imd2019_lsoa11.csv",
            ["lsoa11_code", "imd_rank", "imd_decile", "indoors_subdomain_rank", "income_rank"]),
    "indicators": ("staffs_imd2019_indicators_lsoa11.csv",
                   ["lsoa11_code", "comparative_illness_and_disability_ratio_indicator",
                    "acute_morbidity_indicator", "years_of_potential_life_lost_indicator"]),
    "lookup": ("staffs_lookup_lsoa11_msoa11_ward19.csv",
               ["lsoa11_code", "lsoa11_name", "msoa11_code", "msoa11_name", "ward19_name", "lad19_name"]),
    "fuel": ("staffs_fuel_poverty_la_2021.csv", ["lad_name", "households", "fuel_poor_households"]),
    "snpp": ("staffs_snpp2022_migcat_persons_la_single_year_age.csv", ["lad_code", "lad_name", "age", "year", "value"]),
}
N_LSOA_RANKS = 32_844  # LSOAs in England, IoD2019


@cache
def read(name: str, data_dir: str | None = None) -> pd.DataFrame:
    fname, required = FILES[name]
    path = Path(data_dir or DATA_DIR) / fname
    if not path.is_file():
        raise NeighsimError(f"{path}: bundled data file not found (reinstall neighsim or restore the file)")
    df = pd.read_csv(path)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise NeighsimError(f"{path}: expected columns {missing} are missing")
    return df
