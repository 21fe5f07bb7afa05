"""Every parameter's source resolves in docs/evidence.md, and the document names only real parameters.

A source resolves when every author-year citation ("Name 2019", "Name et al. 2019", "Name & Name 2008",
"ONS National Life Tables 2020-22"), author cited without a year ("Name et al."), named organisation (ONS, NHS Digital, OHID, ...), Cochrane review
number and evidence-notes section ("docs/evidence_notes.md G") it contains appears in a heading or a "Cited
as" line of docs/evidence.md (tests/test_sources.py checks that the section exists in docs/evidence_notes.md).
A source with none of these must say it is an assumption, a derivation or a calibration, with confidence
A or D. The last section of the document must list exactly the confidence-A parameters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neighsim.parameters import load_parameters

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "evidence.md"
PARAMETERS = ROOT / "configs" / "parameters"
ASSUMPTIONS_HEADING = "## Team assumptions (confidence A)"

# "Name 2019", "Name et al. 2019", "Name & Name 2008", and runs of capitalised words before a year
# ("Marmot Review Team 2011", "ONS National Life Tables 2020-22"); "2022-based" is not a citation
WORD = r"[A-Z][\w'-]*"
AUTHOR_YEAR = re.compile(rf"((?:{WORD}\.? )*{WORD}(?: et al\.| & {WORD})? (?:19|20)\d\d)(?!\d|-based)")
AUTHOR_ONLY = re.compile(rf"(?<![\w-])({WORD} et al\.)(?!,? (?:19|20)\d\d)")  # "Fyfe et al., BMJ"
LEADING = {"In", "Since", "From", "By", "Until", "After", "Before", "The", "Of", "To", "On", "At", "For"}
MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"}
ORGANISATIONS = [
    "ONS", "NHS Digital", "OHID", "DESNZ", "BRE", "NHFD", "National Hip Fracture Database", "Ofgem", "ECO4",
    "ECO", "HM Treasury", "Green Book", "OBR", "PSSRU", "NICE", "WHO", "PHE", "Public Health England",
    "NHS RightCare", "Diabetes UK", "BLF", "Cochrane", "docs/evidence_notes.md", "MHCLG", "IoD2019", "QOF", "HES", "HSE",
    "Health Survey for England", "HFMA", "JSNA", "ICB", "NHS Long Term Plan", "Network Contract DES",
    "Drug Tariff", "SCOOP", "CURE",
]
ORG_PATTERNS = {o: re.compile(rf"(?<![\w.]){re.escape(o)}(?![\w])") for o in ORGANISATIONS}
COCHRANE_ID = re.compile(r"\bCD\d{6}\b")
EVIDENCE_SECTION = re.compile(r"docs/evidence_notes\.md (?:sections? )?([A-Z](?:(?:/| and |, )[A-Z])*)\b")
NOT_A_CITATION = re.compile(r"assum|deriv|calibrat|model structure", re.IGNORECASE)
FILE_SUFFIXES = {"yaml", "yml", "py", "md", "csv", "json", "png", "html", "xlsx", "txt", "toml", "parquet"}


def citations(text: str) -> set[str]:
    """The keys a source text cites: author-years, organisations, Cochrane ids, evidence-notes sections."""
    keys: set[str] = set()
    for match in AUTHOR_YEAR.findall(text):
        words = match.split(" ")
        while len(words) > 2 and words[0] in LEADING:
            words = words[1:]
        if words[0] in LEADING or words[-2] in MONTHS:
            continue
        keys.add(" ".join(words))
    keys.update(AUTHOR_ONLY.findall(text))
    keys.update(o for o, rx in ORG_PATTERNS.items() if rx.search(text))
    keys.update(COCHRANE_ID.findall(text))
    for letters in EVIDENCE_SECTION.findall(text):
        keys.update(f"docs/evidence_notes.md {letter}" for letter in re.findall(r"[A-Z]", letters))
    return keys


def key_text(doc: str) -> str:
    """What an entry is known by: its heading and its 'Cited as' bullet, with the bullet's indented
    continuation lines (whitespace normalised)."""
    lines, in_cited = [], False
    for ln in doc.splitlines():
        in_cited = ln.startswith("- **Cited as:**") or (in_cited and ln.startswith((" ", "\t")))
        if ln.startswith("#") or in_cited:
            lines.append(ln)
    return " ".join(" ".join(lines).split())


def in_keys(key: str, keys: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", keys) is not None


def unresolved(params, doc: str) -> dict[str, list[str]]:
    """Parameter -> what its source cites that the document does not resolve (or why it cites nothing)."""
    keys = key_text(doc)
    problems: dict[str, list[str]] = {}
    for name, p in params.items():
        text = " ".join([p.source, p.unit, p.note])
        cited = citations(text)
        if not cited:
            if p.confidence not in ("A", "D") or not NOT_A_CITATION.search(p.source):
                problems[name] = [f"cites nothing, yet is not marked an assumption/derivation/calibration "
                                  f"with confidence A or D (confidence {p.confidence})"]
            continue
        missing = sorted(k for k in cited if not in_keys(k, keys))
        if missing:
            problems[name] = missing
    return problems


def named_parameters(doc: str, groups: set[str]) -> set[str]:
    """Every 'group.name' the document mentions (in backticks, or bare with a parameter file's group)."""
    names = set()
    for group, name in re.findall(r"`([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)`", doc):
        if name not in FILE_SUFFIXES:
            names.add(f"{group}.{name}")
    bare = re.compile(rf"\b({'|'.join(sorted(groups))})\.([a-z][a-z0-9_]*)\b")
    names.update(f"{g}.{n}" for g, n in bare.findall(doc) if n not in FILE_SUFFIXES)
    return names


def assumptions_section(doc: str) -> str:
    start = doc.index(ASSUMPTIONS_HEADING) + len(ASSUMPTIONS_HEADING)
    end = doc.find("\n## ", start)
    return doc[start:] if end < 0 else doc[start:end]


@pytest.fixture(scope="module")
def params():
    return dict(load_parameters(PARAMETERS).items())


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_source_resolves_in_evidence_md(params, doc):
    problems = unresolved(params, doc)
    assert not problems, "sources not resolved in docs/evidence.md (add an entry or a 'Cited as' form):\n" + "\n".join(
        f"  {k}: {', '.join(v)}" for k, v in sorted(problems.items()))


def test_every_parameter_named_in_evidence_md_exists(params, doc):
    groups = {k.split(".", 1)[0] for k in params}
    unknown = sorted(named_parameters(doc, groups) - set(params))
    assert not unknown, f"docs/evidence.md names parameters that do not exist: {unknown}"


def test_assumption_section_lists_exactly_the_confidence_a_parameters(params, doc):
    section = assumptions_section(doc)
    listed = set(re.findall(r"^- `([a-z0-9_]+\.[a-z0-9_]+)`", section, re.MULTILINE))
    a = {k for k, p in params.items() if p.confidence == "A"}
    assert not a - listed, f"confidence-A parameters missing from '{ASSUMPTIONS_HEADING}': {sorted(a - listed)}"
    assert not listed - a, f"listed under '{ASSUMPTIONS_HEADING}' but not confidence A: {sorted(listed - a)}"


def test_the_checks_can_fail(params, doc):
    """Removing an entry, or naming a parameter that does not exist, is caught."""
    heading = "### Hawley 2016\n"
    assert heading in doc
    start = doc.index(heading)
    without = doc[:start] + doc[doc.index("\n### ", start + 1) + 1:]
    problems = unresolved(params, without)
    assert "Hawley et al. 2016" in problems.get("interventions.falls_fls_mortality_hr", [])
    groups = {k.split(".", 1)[0] for k in params}
    assert "interventions.no_such_parameter" in named_parameters(doc + "\n`interventions.no_such_parameter`\n",
                                                                 groups)


@pytest.mark.parametrize(("text", "expected"), [
    ("Hawley et al. 2016 (1-year mortality HR 0.84)", {"Hawley et al. 2016"}),
    ("Christakis & Fowler 2008, NEJM", {"Christakis & Fowler 2008"}),
    ("Hughes 2008 (about 10%/y)", {"Hughes 2008"}),
    ("Derived from Marmot Review Team 2011 and WHO", {"Marmot Review Team 2011", "WHO"}),
    ("fitted to the ONS 2022-based projection in 21 March 2021", {"ONS"}),
    ("Sherrington et al. 2019, Cochrane CD012424", {"Sherrington et al. 2019", "Cochrane", "CD012424"}),
    ("docs/evidence_notes.md B/H and docs/evidence_notes.md H and I",
     {"docs/evidence_notes.md", "docs/evidence_notes.md B", "docs/evidence_notes.md H", "docs/evidence_notes.md I"}),
    ("docs/evidence_notes.md sections G, H, I", {"docs/evidence_notes.md", "docs/evidence_notes.md G",
                                                 "docs/evidence_notes.md H", "docs/evidence_notes.md I"}),
    ("Fyfe et al., BMJ; of the 36 in Cassell et al.)", {"Fyfe et al.", "Cassell et al."}),
    ("Team assumption", set()),
])
def test_citations_are_extracted(text, expected):
    assert citations(text) == expected
