"""Geography: LSOA -> MSOA -> neighbourhood -> locality -> place -> ICS.

Localities are the eight Staffordshire districts and Stoke-on-Trent split into contiguous groups of
MSOAs in MSOA-number order (ONS numbers MSOAs roughly north to south). Neighbourhoods are whole MSOAs
inside a locality, split in MSOA order into balanced groups of about the target size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import GeographyConfig
from ..errors import ConfigError, NeighsimError
from . import sources

ICS_NAME = "Staffordshire and Stoke-on-Trent"
STOKE = "Stoke-on-Trent"
STOKE_LOCALITY_NAMES = {
    1: ["Stoke-on-Trent"],
    2: ["Stoke-on-Trent North", "Stoke-on-Trent South"],
    3: ["Stoke-on-Trent North", "Stoke-on-Trent Central", "Stoke-on-Trent South"],
    4: ["Stoke-on-Trent North", "Stoke-on-Trent Central North", "Stoke-on-Trent Central South",
        "Stoke-on-Trent South"],
}


@dataclass
class Geography:
    """One row per LSOA (in resident order) plus the area tables."""

    lsoas: pd.DataFrame  # lsoa11_code, name, msoa, ward, la, locality, place, neighbourhood ids, imd...
    neighbourhoods: pd.DataFrame  # id, name, locality, place
    localities: pd.DataFrame  # id, name, place
    las: list[str]

    def neighbourhood_ids(self) -> list[int]:
        return self.neighbourhoods["id"].tolist()


def balanced_split(weights: np.ndarray, k: int) -> list[int]:
    """Cut points splitting an ordered sequence into k contiguous parts of near-equal total weight."""
    cum = np.cumsum(weights)
    total = cum[-1]
    cuts = []
    for j in range(1, k):
        target = total * j / k
        i = int(np.argmin(np.abs(cum - target))) + 1
        lo = cuts[-1] + 1 if cuts else 1
        cuts.append(min(max(i, lo), len(weights) - (k - j)))
    return cuts


def _split_parts(weights: np.ndarray, k: int) -> list[np.ndarray]:
    cuts = balanced_split(weights, k)
    return np.split(np.arange(len(weights)), cuts)


def _group_msoas(msoa_pop: pd.DataFrame, cfg: GeographyConfig) -> list[np.ndarray]:
    """Split an ordered MSOA table into neighbourhoods of about the target size within the limits."""
    w = msoa_pop["pop"].to_numpy(float)
    k = max(1, int(round(w.sum() / cfg.neighbourhood_target)))
    k = min(k, len(w))
    while True:
        parts = _split_parts(w, k)
        sizes = [w[p].sum() for p in parts]
        if max(sizes) <= cfg.neighbourhood_max or k >= len(w):
            return parts
        k += 1


def _neighbourhood_name(locality: str, wards: pd.Series, pops: pd.Series) -> str:
    top = pops.groupby(wards).sum().sort_values(ascending=False).index[:2].tolist()
    return f"{locality}: {' & '.join(top)}"


def build_geography(cfg: GeographyConfig, lsoa_pop: pd.Series, las: list[str],
                    config_file: str = "configs/ics.yaml") -> Geography:
    """Areas for the LSOAs of `las`; lsoa_pop (indexed by lsoa11_code) sizes the neighbourhoods."""
    lk = sources.read("lookup")
    lk = lk[lk["lad19_name"].isin(las)].copy()
    lk["pop"] = lk["lsoa11_code"].map(lsoa_pop).fillna(0.0)
    lk["msoa_num"] = lk["msoa11_name"].str.extract(r"(\d+)$")[0].astype(int)
    lk = lk.sort_values(["lad19_name", "msoa_num", "lsoa11_code"]).reset_index(drop=True)

    # Localities: one per district; Stoke-on-Trent split into contiguous MSOA groups.
    loc_names: list[str] = []
    lk["locality"] = ""
    for la in las:
        sub = lk[lk["lad19_name"] == la]
        if la == STOKE and cfg.stoke_localities > 1:
            msoa = sub.groupby("msoa_num", sort=True)["pop"].sum()
            names = STOKE_LOCALITY_NAMES.get(cfg.stoke_localities) or [
                f"Stoke-on-Trent {i + 1}" for i in range(cfg.stoke_localities)]
            for name, part in zip(names, _split_parts(msoa.to_numpy(), cfg.stoke_localities), strict=True):
                lk.loc[sub.index[sub["msoa_num"].isin(msoa.index[part])], "locality"] = name
                loc_names.append(name)
        else:
            lk.loc[sub.index, "locality"] = la
            loc_names.append(la)
    lk["place"] = np.where(lk["lad19_name"] == STOKE, STOKE, "Staffordshire")
    localities = pd.DataFrame({"id": range(len(loc_names)), "name": loc_names})
    localities["place"] = localities["name"].map(place_of_locality)

    if cfg.neighbourhood_file:
        nb_of_lsoa = read_neighbourhood_file(cfg.neighbourhood_file, lk["lsoa11_code"], config_file)
        lk["neighbourhood_name"] = lk["lsoa11_code"].map(nb_of_lsoa)
        spans = lk.groupby("neighbourhood_name")["lad19_name"].unique()
        crossing = {n: sorted(v) for n, v in spans.items() if len(v) > 1}
        if crossing:  # residents of one LA would be reported under another (places, localities)
            listed = "; ".join(f"{n!r} ({', '.join(v)})" for n, v in list(crossing.items())[:5])
            raise ConfigError(str(nb_of_lsoa.attrs.get("path", cfg.neighbourhood_file)), "neighbourhood",
                              f"{len(crossing)} neighbourhood(s) cross local authorities: {listed}; each "
                              "neighbourhood must lie within one local authority (split them in the file)")
        order = (lk.groupby("neighbourhood_name", sort=False)["lsoa11_code"].first().index.tolist())
        rows = []
        for i, name in enumerate(order):
            sub = lk[lk["neighbourhood_name"] == name]
            loc = sub.groupby("locality")["pop"].sum().idxmax()
            rows.append({"id": i, "name": name, "locality": loc})
        neighbourhoods = pd.DataFrame(rows)
        lk["neighbourhood"] = lk["neighbourhood_name"].map(dict(zip(order, range(len(order)), strict=True)))
    else:
        rows = []
        lk["neighbourhood"] = -1
        for loc in loc_names:
            sub = lk[lk["locality"] == loc]
            msoa = sub.groupby("msoa_num", sort=True)["pop"].sum().rename("pop").reset_index()
            for part in _group_msoas(msoa, cfg):
                idx = sub.index[sub["msoa_num"].isin(msoa["msoa_num"].iloc[part])]
                nid = len(rows)
                lk.loc[idx, "neighbourhood"] = nid
                name = _neighbourhood_name(loc, lk.loc[idx, "ward19_name"], lk.loc[idx, "pop"])
                rows.append({"id": nid, "name": name, "locality": loc})
        neighbourhoods = pd.DataFrame(rows)
    neighbourhoods["place"] = neighbourhoods["locality"].map(dict(zip(localities["name"], localities["place"],
                                                                      strict=True)))
    lk["locality_id"] = lk["locality"].map(dict(zip(localities["name"], localities["id"], strict=True)))
    lk["la_id"] = lk["lad19_name"].map({la: i for i, la in enumerate(las)})
    # Residents are laid out neighbourhood by neighbourhood so each one is a contiguous block.
    lk = lk.sort_values(["neighbourhood", "msoa_num", "lsoa11_code"], kind="stable").reset_index(drop=True)
    imd = sources.read("imd").set_index("lsoa11_code")
    ind = sources.read("indicators").set_index("lsoa11_code")
    for col in ("imd_decile", "imd_rank", "indoors_subdomain_rank", "income_rank"):
        lk[col] = lk["lsoa11_code"].map(imd[col])
    lk["cidr"] = lk["lsoa11_code"].map(ind["comparative_illness_and_disability_ratio_indicator"])
    lk["acute_morbidity"] = lk["lsoa11_code"].map(ind["acute_morbidity_indicator"])
    lk["ypll"] = lk["lsoa11_code"].map(ind["years_of_potential_life_lost_indicator"])
    if lk[["imd_decile", "cidr"]].isna().any().any():
        bad = lk.loc[lk[["imd_decile", "cidr"]].isna().any(axis=1), "lsoa11_code"].tolist()
        raise NeighsimError(f"bundled IMD data has no row for LSOAs {bad}")
    lk = lk.drop(columns=["pop"])
    # LSOA health indicators relative to LSOAs of the same IMD decile (log ratio), over the whole ICS
    for col, name in (("cidr", "cidr_resid"), ("acute_morbidity", "acute_resid"), ("ypll", "ypll_resid")):
        lv = np.log(lk[col].astype(float))
        lk[name] = lv - lv.groupby(lk["imd_decile"]).transform("mean")
    return Geography(lsoas=lk, neighbourhoods=neighbourhoods, localities=localities, las=list(las))


def restrict_geography(geo: Geography, las: list[str], keep: np.ndarray) -> Geography:
    """The areas of some LAs, keeping the ids of the whole-ICS geography."""
    las = [la for la in geo.las if la in las]
    lk = geo.lsoas[keep].reset_index(drop=True).copy()
    lk["la_id"] = lk["lad19_name"].map({la: i for i, la in enumerate(las)})
    nbs = geo.neighbourhoods[geo.neighbourhoods["id"].isin(lk["neighbourhood"].unique())].reset_index(drop=True)
    locs = geo.localities[geo.localities["id"].isin(lk["locality_id"].unique())].reset_index(drop=True)
    return Geography(lsoas=lk, neighbourhoods=nbs, localities=locs, las=las)


def read_neighbourhood_file(path: str | Path, lsoas: pd.Series, config_file: str) -> pd.Series:
    """LSOA -> neighbourhood name from a user CSV; every problem is listed in one error."""
    p = Path(path)
    if not p.is_absolute():
        p = Path(config_file).resolve().parent / p
    if not p.is_file():
        raise ConfigError(config_file, "geography.neighbourhood_file", f"file not found: {p}")
    try:
        df = pd.read_csv(p, dtype=str)
    except Exception as exc:  # pandas raises several parser errors; all mean "not a CSV we can read"
        raise ConfigError(str(p), None, f"cannot read as CSV: {exc}") from None
    for col in ("lsoa11_code", "neighbourhood"):
        if col not in df.columns:
            raise ConfigError(str(p), col, f"missing column (expected columns lsoa11_code,neighbourhood; "
                                           f"found {list(df.columns)})")
    df["lsoa11_code"] = df["lsoa11_code"].str.strip()
    known = set(lsoas)
    problems = []
    unknown = sorted(set(df["lsoa11_code"]) - known)
    if unknown:
        problems.append(f"unknown LSOAs {unknown}")
    dup = sorted(df.loc[df["lsoa11_code"].duplicated(), "lsoa11_code"].unique())
    if dup:
        problems.append(f"duplicated LSOAs {dup}")
    missing = sorted(known - set(df["lsoa11_code"]))
    if missing:
        problems.append(f"missing LSOAs {missing}")
    blank = df.loc[df["neighbourhood"].isna() | (df["neighbourhood"].str.strip() == ""), "lsoa11_code"].tolist()
    if blank:
        problems.append(f"LSOAs with no neighbourhood {blank}")
    if problems:
        raise ConfigError(str(p), "lsoa11_code", "; ".join(problems))
    out = df.set_index("lsoa11_code")["neighbourhood"].str.strip()
    out.attrs["path"] = str(p)
    return out


def place_of_locality(name: str) -> str:
    """The place a locality belongs to: Stoke-on-Trent's localities, else Staffordshire's districts."""
    return STOKE if name.startswith(STOKE) else "Staffordshire"
