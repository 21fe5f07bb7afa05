"""The report's wording lives in Jinja2 templates (report/templates/*.j2), not in Python strings: a sentence,
caption or title is a macro that neighsim.wording.say fills with the model's numbers. These tests find
phrases left in the code, calls to wording that does not exist or that leave out its values, and wording
nothing uses. Labels of up to MAX_WORDS words (column headings, tick labels) may stay beside the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from neighsim import wording

SRC = Path(wording.__file__).resolve().parent
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


def said(source: str) -> list[ast.Call]:
    """Every call of wording.say in a module: say(...) where say is imported from neighsim.wording, and
    wording.say(...) where the module imports wording."""
    tree = ast.parse(source)
    imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and (n.module or "").split(".")[-1] in ("wording", "neighsim", "") for a in n.names}
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Name) and f.id == "say" and "say" in imported) or (
                isinstance(f, ast.Attribute) and f.attr == "say" and getattr(f.value, "id", None) == "wording"
                and "wording" in imported):
            calls.append(node)
    return calls


def macro_signatures() -> dict[str, tuple[set[str], set[str]]]:
    """Each wording macro's arguments and those without a default, read from the templates."""
    from jinja2 import nodes

    out = {}
    env = wording.environment()
    for file in wording.WORDING:
        for m in env.parse((wording.TEMPLATES / file).read_text(encoding="utf-8")).find_all(nodes.Macro):
            names = [a.name for a in m.args]
            out[m.name] = (set(names), set(names[:len(names) - len(m.defaults)]))
    return out


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


def test_the_call_finder_finds_calls_however_say_is_imported() -> None:
    code = ("from ..wording import (\n    say,\n)\nfrom .. import wording\n"
            "say('a')\nwording.say('b', x=1)\nother.say('c')\n")
    assert sorted(c.args[0].value for c in said(code)) == ["a", "b"]
    assert said("def say(m):\n    pass\nsay('progress')\n") == []  # a module's own say is not wording


def test_the_templates_spacing_is_for_reading_and_values_are_kept() -> None:
    # the template's line breaks and indents become single spaces; its literal backslash-n is a line break
    assert wording.say("costs_need_scenario", totals_follow=True).count("  ") == 0
    assert wording.say("opt_figure_title", millions="2", area="X", draws=5, compared=True, psa=True).count("\n") == 1
    # a value is the reader's: its spaces, tabs, no-break spaces, line breaks and backslashes are kept,
    # in lists too
    assert wording.say("caveat_not_valued", items=["a\\nb", "c  d\n\te"]) == "Not valued: a\\nb; c  d\n\te."
    assert wording.say("h_place_effects", place="C:\\new\xa0place") == "C:\\new\xa0place: five-year effects"
    assert wording.say("fact_area", simulated=Path("C:/a\\nb"), name="") == "Area simulated: C:/a\\nb"


def test_a_value_left_out_or_an_unknown_key_is_an_error_not_a_blank() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        wording.say("cap_impact", comparator="baseline", label="Baseline", replicates=5)  # short= left out
    with pytest.raises(UndefinedError):
        wording.say("tab_indicator", key="no_such_indicator")
    with pytest.raises(UndefinedError):
        wording.say("bc_budget_column", outcome="no_such_outcome")


def test_every_wording_macro_is_used_and_every_call_exists() -> None:
    macros = wording.wording()  # raises if a name is defined in two templates
    signatures = macro_signatures()
    called: set[str] = set()
    for module in sorted(SRC.rglob("*.py")):
        for call in said(module.read_text(encoding="utf-8")):
            where = f"{module.relative_to(SRC)}:{call.lineno}"
            arg = call.args[0] if call.args else None
            assert isinstance(arg, ast.Constant), f"{where}: say() takes the macro's name as a literal"
            assert arg.value in macros, f"{where}: no wording macro {arg.value!r}"
            called.add(arg.value)
            takes, required = signatures[arg.value]
            given = {k.arg for k in call.keywords}
            assert None not in given, f"{where}: say({arg.value!r}, **...) cannot be checked; name the values"
            assert given <= takes, f"{where}: {arg.value} takes no {sorted(given - takes)}"
            assert required <= given, f"{where}: {arg.value} needs {sorted(required - given)}"
    unused = sorted(set(macros) - called)
    assert not unused, f"wording macros nothing says: {unused}"


def test_a_name_in_two_wording_templates_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wording, "WORDING", ("text.j2", "text.j2"))
    wording.wording.cache_clear()
    try:
        with pytest.raises(ValueError, match="also defined"):
            wording.wording()
    finally:
        monkeypatch.undo()
        wording.wording.cache_clear()
