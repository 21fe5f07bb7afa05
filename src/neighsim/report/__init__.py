"""Reports from an output folder: report.html (self-contained), report.md, results.xlsx, figures/*.png.

Everything shown is read from the folder (summary.csv, manifest.json, validation.csv) and the parameter
files the run used; nothing is typed in by hand, so a report always matches its run.
"""

from __future__ import annotations

import re
from pathlib import Path

from .data import RunData, load_run
from .excel import SHEETS, write_xlsx
from .figures import make_figures
from .render import outline, title_of, to_html, to_markdown

FIGURES_DIR = "figures"


def area_folder(area: str) -> str:
    """A file-system-safe folder name for an area's report."""
    return re.sub(r"[^a-z0-9]+", "-", area.casefold()).strip("-") or "area"


def write_report(out_dir: str | Path, area: str | None = None, data: RunData | None = None) -> dict[str, Path]:
    """Write the report files into ``out_dir`` (for one `area`, any level and case: into
    ``out_dir/areas/<area>/``) and return their paths. `data`: the folder already loaded (several areas).

    Keys: ``html``, ``markdown``, ``xlsx``, ``figures`` (the folder) and ``figure:<name>`` for each PNG.
    Raises NeighsimError when the folder holds no usable summary.csv, or no such area.
    """
    out = Path(out_dir)
    data = data or load_run(out)
    if area is not None:
        data = data.for_area(area)
        out = out / "areas" / area_folder(data.area)
        out.mkdir(parents=True, exist_ok=True)
    fig_dir = out / FIGURES_DIR
    figs = make_figures(data, fig_dir)
    blocks = outline(data, figs)
    paths: dict[str, Path] = {}
    html_path = out / "report.html"
    html_path.write_text(to_html(blocks, title_of(data)), encoding="utf-8")
    paths["html"] = html_path
    md_path = out / "report.md"
    md_path.write_text(to_markdown(blocks, FIGURES_DIR), encoding="utf-8")
    paths["markdown"] = md_path
    paths["xlsx"] = write_xlsx(data, out / "results.xlsx")
    paths["figures"] = fig_dir
    for f in figs:
        paths[f"figure:{f.key}"] = f.path
    return paths


__all__ = ["SHEETS", "RunData", "area_folder", "load_run", "write_report"]
