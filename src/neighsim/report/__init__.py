"""Reports from an output folder: report.html (self-contained), report.md, results.xlsx, figures/*.png.

Everything shown is read from the folder (summary.csv, manifest.json, validation.csv) and the parameter
files the run used; nothing is typed in by hand, so a report always matches its run.
"""

from __future__ import annotations

from pathlib import Path

from .data import RunData, load_run
from .excel import SHEETS, write_xlsx
from .figures import make_figures
from .render import outline, title_of, to_html, to_markdown

FIGURES_DIR = "figures"


def write_report(out_dir: str | Path) -> dict[str, Path]:
    """Write the report files into ``out_dir`` and return their paths.

    Keys: ``html``, ``markdown``, ``xlsx``, ``figures`` (the folder) and ``figure:<name>`` for each PNG.
    Raises NeighsimError when the folder holds no usable summary.csv.
    """
    out = Path(out_dir)
    data = load_run(out)
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


__all__ = ["SHEETS", "RunData", "load_run", "write_report"]
