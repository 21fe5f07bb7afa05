"""The report's pages from its outline (render.outline): HTML and Markdown through Jinja2 templates
(templates/report.html.j2, report.md.j2, report.css), so the layout and styles live in templates and
the two files always follow the same outline. The HTML autoescapes everything it is given."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path, PurePath
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


# The report's words, one file per part of the report; a macro's name is unique across them all.
WORDING = ("text.j2", "figures.j2", "economics.j2", "business_case.j2", "tables.j2", "optimise.j2")


@cache
def wording() -> dict[str, Any]:
    """Every wording macro by name, from all the WORDING templates; a name defined twice is an error."""
    macros: dict[str, Any] = {}
    for file in WORDING:
        module = environment().get_template(file).module
        for name in dir(module):
            if name.startswith("_"):
                continue
            if name in macros:
                raise ValueError(f"templates/{file}: the macro {name!r} is also defined in another wording template")
            macros[name] = getattr(module, name)
    return macros


def say(macro_name: str, /, **values: Any) -> str:
    """A sentence, caption or label of the report's wording (a macro of the WORDING templates) with these
    values. The template's line breaks are only for reading it: the text comes on one line, except where
    the macro writes a literal backslash-n (a figure title on two lines, say). A value is shown as given:
    a description's line breaks or a Windows path's backslash-n are the reader's, not the template's."""
    kept: dict[str, str] = {}

    def keep(value: Any) -> Any:
        if isinstance(value, str | PurePath) and re.search(r"\s\s|\n|\\n", str(value)):
            kept[token := f"\x00{len(kept)}\x00"] = str(value)
            return token
        return value

    text = " ".join(str(wording()[macro_name](**{k: keep(v) for k, v in values.items()})).split())
    text = re.sub(r" ?\\n ?", "\n", text)
    for token, value in kept.items():
        text = text.replace(token, value)
    return text


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


__all__ = ["anchor", "environment", "say", "to_html", "to_markdown"]
