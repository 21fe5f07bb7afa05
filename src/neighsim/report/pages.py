"""The report's pages from its outline (render.outline): HTML and Markdown through Jinja2 templates
(templates/report.html.j2, report.md.j2, report.css), so the layout and styles live in templates and
the two files always follow the same outline. The HTML autoescapes everything it is given."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _md(s: object) -> str:
    """Text for Markdown: HTML in names and descriptions is shown, never run (renderers pass raw HTML)."""
    return html.escape(str(s), quote=False)


def _cell(s: object) -> str:
    return _md(s).replace("|", "\\|").replace("\n", " ")


def _bold_first(cells: Iterable[str], bold: bool) -> list[str]:
    out = list(cells)
    if bold and out:
        out[0] = f"**{out[0]}**"
    return out


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("neighsim.report", "templates"), autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      keep_trailing_newline=True)
    env.filters.update(data_uri=_data_uri, md=_md, cell=_cell, bold_first=_bold_first)
    return env


def anchor(text: str, taken: set[str]) -> str:
    """A unique id for a heading (for the contents' links)."""
    base = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "section"
    a, k = base, 2
    while a in taken:
        a, k = f"{base}-{k}", k + 1
    taken.add(a)
    return a


def _contents(blocks: list[Any]) -> list[Any]:
    taken: set[str] = set()
    for b in blocks:
        if b.kind == "h2":
            b.anchor = anchor(b.text, taken)
    return [b for b in blocks if b.kind == "h2"]


def to_html(blocks: list[Any], title: str) -> str:
    toc = _contents(blocks)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return environment().get_template("report.html.j2").render(blocks=blocks, title=title, css=css, toc=toc)


def to_markdown(blocks: list[Any], fig_dir_name: str = "figures") -> str:
    toc = _contents(blocks)
    text = environment().get_template("report.md.j2").render(blocks=blocks, toc=toc, fig_dir=fig_dir_name)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


__all__ = ["anchor", "environment", "to_html", "to_markdown"]
