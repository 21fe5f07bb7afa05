"""What a reader sees, in words: the macros of the wording templates (report/templates/*.j2, listed in
WORDING), filled with numbers the code has computed and formatted. A leaf module (Jinja2 only), so the
optimiser and the workbench can word things without importing the report and its plotting.

The templates' own whitespace is only for reading: runs of spaces and line breaks in a template's text
become one space, and a literal backslash-n written in a template is a line break (a title on two lines).
That happens when a template is compiled, so values are never touched: a description's line breaks, a
place name's no-break space or a Windows path's backslash-n come out as given. A macro argument that a
call leaves out, or a key a lookup macro does not know, is an error, never a blank."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

TEMPLATES = Path(__file__).parent / "report" / "templates"
# one file per part of what is worded; a macro's name is unique across them all
WORDING = ("text.j2", "figures.j2", "economics.j2", "business_case.j2", "tables.j2", "optimise.j2")


class _TemplateSpacing(Extension):
    """Collapses the whitespace of a template's literal text (not of the values put into it)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "data":
                text = re.sub(r" ?\\n ?", "\n", re.sub(r"[ \t\r\n]+", " ", token.value))
                token = Token(token.lineno, "data", text)
            yield token


@cache
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                       extensions=[_TemplateSpacing])


@cache
def wording() -> dict[str, Any]:
    """Every wording macro by name, from all the WORDING templates; a name defined twice is an error. Names
    starting with '_' are the templates' own helpers."""
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
    """A sentence, caption or label (the macro `macro_name` of the WORDING templates) with these values."""
    return str(wording()[macro_name](**values)).strip(" ")
