"""The report's wording lives in Jinja2 templates (report/templates/*.j2), not in Python strings: a sentence,
caption, title or column heading is a macro that pages.say fills with the model's numbers. These tests
find phrases left in the code, calls to wording that does not exist, and wording nothing uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from neighsim.report import pages

SRC = Path(pages.__file__).resolve().parents[1]
# the modules that write what a reader sees in the report, the workbook and the optimiser's report and choices
WORDED = sorted((SRC / "report").glob("*.py")) + [SRC / "optimise" / f for f in ("outputs.py", "rules.py", "solver.py")]
MAX_WORDS = 3  # a literal of more words than this is wording, and belongs in a template


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def phrases(source: str) -> list[tuple[int, str]]:
    """String literals (f-strings read whole) with more than MAX_WORDS words. Docstrings and the messages of
    raised errors are left out: they are for developers and the console, not the report."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            skip.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        else:
            continue
        if len([w for w in text.split() if re.search(r"[A-Za-z]{2,}", w)]) > MAX_WORDS:
            found.append((node.lineno, text))
    return found


def said(source: str) -> list[tuple[int, ast.expr]]:
    """The first argument of every call to say(...) in a module that imports pages.say."""
    calls: list[tuple[int, ast.expr]] = []
    if not re.search(r"from \S*pages import [^\n]*\bsay\b", source):
        return calls
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "say":
            if node.args:
                calls.append((node.lineno, node.args[0]))
    return calls


def test_the_phrase_finder_finds_phrases() -> None:
    code = ('def f(n, y):\n    """A docstring of many words is fine."""\n    if n < 0:\n'
            '        raise ValueError(f"{n} is not a number of admissions")\n'
            '    return f"{n} admissions avoided over the {y} years"\n')
    assert phrases(code) == [(5, "{} admissions avoided over the {} years")]
    assert phrases('x = "Admissions avoided"\ny = ("a long " "sentence in two parts")\n') == [
        (2, "a long sentence in two parts")]


@pytest.mark.parametrize("module", WORDED, ids=lambda p: p.name)
def test_no_report_wording_in_python(module: Path) -> None:
    left = phrases(module.read_text(encoding="utf-8"))
    assert not left, f"{module.name}: move these phrases to a macro in report/templates/*.j2:\n" + "\n".join(
        f"  line {n}: {t[:90]!r}" for n, t in left)


def test_say_keeps_only_the_line_breaks_a_macro_asks_for() -> None:
    assert pages.say("caveat_not_valued", items=["a\\nb", "c  d\n e"]) == "Not valued: a\nb; c d e."
    # a value is the reader's: its spaces, line breaks and backslashes are kept
    assert pages.say("h_place_effects", place="C:\\new  place\nX") == "C:\\new  place\nX: five-year effects"
    assert pages.say("fact_area", simulated=Path("C:/a\\nb"), name="") == "Area simulated: C:/a\\nb"


def test_every_wording_macro_is_used_and_every_call_exists() -> None:
    macros = pages.wording()  # raises if a name is defined in two templates
    called: set[str] = set()
    for module in sorted(SRC.rglob("*.py")):
        for line, arg in said(module.read_text(encoding="utf-8")):
            assert isinstance(arg, ast.Constant), f"{module.name}:{line}: say() takes the macro's name as a literal"
            assert arg.value in macros, f"{module.name}:{line}: no wording macro {arg.value!r}"
            called.add(arg.value)
    unused = sorted(set(macros) - called)
    assert not unused, f"wording macros nothing says: {unused}"


def test_a_name_in_two_wording_templates_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "WORDING", ("text.j2", "text.j2"))
    pages.wording.cache_clear()
    try:
        with pytest.raises(ValueError, match="also defined"):
            pages.wording()
    finally:
        monkeypatch.undo()
        pages.wording.cache_clear()
