"""Every citation of the evidence notes and the design notes resolves inside the repository.

The team's EVIDENCE.md and DESIGN.md are kept in the repository as docs/evidence_notes.md and
docs/design.md (verbatim, with a provenance note and stable anchors). This checks that:

- every parameter in configs/parameters (its source, unit and note, read with the project's loader), and
  every other text in configs/, that cites the evidence notes names sections ("docs/evidence_notes.md H",
  "... B/H", "... H and I", "... sections G, H, I") that exist as lettered headings, with their anchors,
  in docs/evidence_notes.md; a mention without a section is allowed only to say a figure is not there
  ("not in docs/evidence_notes.md", "no figure in docs/evidence_notes.md");
- no file in README.md, docs/, configs/ or src/ names an upper-case Markdown file (EVIDENCE.md, DESIGN.md,
  ...) that is not in the repository, or uses the old shorthand ("EVIDENCE B"); the two copies may name
  their originals in their provenance note, and docs/design.md keeps its original "../shared/EVIDENCE.md";
- links to the notes' anchors (evidence_notes.md#section-c, design.md#section-5) point at anchors that
  exist, a link's text names the section its anchor goes to, and the links in the two copies resolve.

That every other source resolves to an entry of docs/evidence.md (and that each cited section is listed in
the notes' entry there) is checked by tests/test_evidence.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from neighsim.parameters import load_parameters

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "docs" / "evidence_notes.md"
DESIGN = ROOT / "docs" / "design.md"
PARAMETERS = ROOT / "configs" / "parameters"

SCANNED = [ROOT / "README.md", ROOT / "docs", ROOT / "configs", ROOT / "src"]
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".csv", ".json", ".toml", ".txt", ".html", ".j2", ".jinja"}
SKIPPED_PARTS = ("__pycache__", ".egg-info")
NOT_IN_REPO = {".git", ".venv", "out", "__pycache__", "node_modules"}
# The verbatim copies may name their originals: in the provenance note (the blockquote above the original
# title) and where the original text itself does.
COPIES = {"docs/evidence_notes.md": (), "docs/design.md": ("`../shared/EVIDENCE.md`",)}

# "docs/evidence_notes.md A", "... B/H", "... H and I", "... sections G, H, I", "... B-D"
NOTES_CITATION = re.compile(r"evidence_notes\.md(?: sections?)?(?: ([A-Z](?:(?:/|-| and |, )[A-Z])*)\b)?(?!#)")
ABSENCE = re.compile(r"(?:not in|no figure in)(?: the)? (?:docs/)?$")
ANCHOR = re.compile(r'<a id="([\w-]+)"></a>')
SECTION_HEADING = re.compile(r"^## ([A-Z])\. ", re.MULTILINE)
UPPER_MD = re.compile(r"(?<![\w-])((?:[\w.-]+/)*)([A-Z][A-Z0-9_-]*\.md)\b")
SHORTHAND = re.compile(r"\b(?:EVIDENCE|DESIGN)\b(?!\.md)")
LINK = re.compile(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)")
NOTES_LINK = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*(?:evidence_notes|design)\.md)#([\w-]+)")
LABELLED_LINK = re.compile(r"\[evidence[ _]notes(?:\.md)?(?: sections?)? ([A-Z])\]\((?:[\w./-]*/)?evidence_notes\.md"
                           r"#section-([a-z])\)")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def sections(notes: str) -> set[str]:
    """The letters of the sections of the evidence notes: a '## X. ' heading with its anchor 'section-x'."""
    anchors = set(ANCHOR.findall(notes))
    return {x for x in SECTION_HEADING.findall(notes) if f"section-{x.lower()}" in anchors}


def letters(cited: str) -> list[str]:
    """'B/H' -> B, H; 'H and I' -> H, I; 'G, H, I' -> G, H, I; 'B-D' -> B, C, D."""
    out = []
    for part in re.split(r"/| and |, ", cited):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(chr(c) for c in range(ord(lo), ord(hi) + 1))
        else:
            out.append(part)
    return out


def citation_problems(text: str, known: set[str], need_section: bool = True) -> list[str]:
    """What a text cites of the evidence notes that does not resolve."""
    problems = []
    for m in NOTES_CITATION.finditer(text):
        if m.group(1) is None:
            if need_section and not ABSENCE.search(text[:m.start()]):
                problems.append(f"cites the evidence notes without a section: ...{text[max(m.start() - 30, 0):m.end() + 10]!r}")
            continue
        problems.extend(f"section {x} is not a heading of docs/evidence_notes.md" for x in letters(m.group(1))
                        if x not in known)
    return problems


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for p in sorted([top] if top.is_file() else top.rglob("*")):
            if p.is_file() and p.suffix in TEXT_SUFFIXES and not any(s in part for part in p.parts for s in SKIPPED_PARTS):
                files.append(p)
    return files


def repo_file_names() -> set[str]:
    names = set()
    for _folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in NOT_IN_REPO and not d.endswith(".egg-info")]
        names.update(files)
    return names


def checked_lines(name: str, text: str) -> list[tuple[int, str]]:
    """The lines of a file to check for file names, without a copy's provenance note and original mentions."""
    lines = list(enumerate(text.splitlines(), 1))
    if name not in COPIES:
        return lines
    title = next(i for i, ln in lines if ln.startswith("# "))
    out = []
    for i, ln in lines[title - 1:]:
        for allowed in COPIES[name]:
            ln = ln.replace(allowed, "")
        out.append((i, ln))
    return out


def file_name_problems(name: str, text: str, existing: set[str]) -> list[str]:
    """Upper-case Markdown files named but not in the repository, and the old shorthand."""
    problems = []
    for i, ln in checked_lines(name, text):
        problems.extend(f"{name}:{i}: names {m.group(1)}{m.group(2)}, which is not in the repository"
                        for m in UPPER_MD.finditer(ln) if m.group(2) not in existing)
        problems.extend(f"{name}:{i}: shorthand {m.group(0)!r}: cite docs/evidence_notes.md or docs/design.md"
                        for m in SHORTHAND.finditer(ln))
    return problems


def anchors_of(path: Path) -> set[str]:
    """Explicit anchors and GitHub's heading anchors of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}
    return set(ANCHOR.findall(text)) | slugs


def link_problems(path: Path, text: str) -> list[str]:
    """Links to the notes' anchors that do not exist, link texts naming another section, and (in the
    copies) links to files or anchors that do not exist."""
    name, problems = rel(path), []
    for m in NOTES_LINK.finditer(text):
        target = (ROOT / "docs" / Path(m.group(1)).name)
        if m.group(2) not in anchors_of(target):
            problems.append(f"{name}: {m.group(0)}: no such anchor in {rel(target)}")
    for m in LABELLED_LINK.finditer(text):
        if m.group(1).lower() != m.group(2):
            problems.append(f"{name}: {m.group(0)}: the text names section {m.group(1)}, the link goes to "
                            f"section {m.group(2).upper()}")
    if name in COPIES:
        for m in LINK.finditer(text):
            target = (path.parent / m.group(1)).resolve() if m.group(1) else path
            if not target.is_file():
                problems.append(f"{name}: link to {m.group(1)}: no such file")
            elif m.group(2) and m.group(2) not in anchors_of(target):
                problems.append(f"{name}: link to {m.group(1)}#{m.group(2)}: no such anchor")
    return problems


@pytest.fixture(scope="module")
def known() -> set[str]:
    return sections(NOTES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def params():
    return dict(load_parameters(PARAMETERS).items())


def test_the_notes_are_in_the_repository_with_their_sections(known):
    notes = NOTES.read_text(encoding="utf-8")
    assert set(SECTION_HEADING.findall(notes)) == set("ABCDEFGHI")
    assert known == set("ABCDEFGHI"), "every lettered section of docs/evidence_notes.md needs its anchor"
    design = DESIGN.read_text(encoding="utf-8")
    numbered = re.findall(r"^## (\d+)\. ", design, re.MULTILINE)
    assert numbered and {f"section-{n}" for n in numbered} <= set(ANCHOR.findall(design))


def test_every_parameter_citing_the_evidence_notes_names_a_section_that_exists(params, known):
    problems, citing = {}, 0
    for name, p in params.items():
        text = " ".join([p.source, p.unit, p.note])
        citing += "evidence_notes.md" in text
        found = citation_problems(text, known)
        if found:
            problems[name] = found
    assert citing >= 20, f"only {citing} parameters cite docs/evidence_notes.md: was the loader or the form changed?"
    assert not problems, "\n".join(f"{k}: {'; '.join(v)}" for k, v in sorted(problems.items()))


def test_every_citation_in_configs_names_a_section_that_exists(known):
    problems = []
    for path in sorted((ROOT / "configs").rglob("*.y*ml")):
        problems += [f"{rel(path)}: {p}" for p in citation_problems(path.read_text(encoding="utf-8"), known)]
    assert not problems, "\n".join(problems)


def test_no_file_names_a_notes_file_that_is_not_in_the_repository(known):
    existing = repo_file_names()
    assert {"evidence_notes.md", "design.md"} <= existing
    problems = []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8")
        problems += file_name_problems(rel(path), text, existing)
        problems += [f"{rel(path)}: {p}" for p in citation_problems(text, known, need_section=False)]
    assert not problems, "\n".join(problems)


def test_links_to_the_notes_resolve():
    problems = []
    for path in scanned_files():
        if path.suffix == ".md":
            problems += link_problems(path, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_checks_can_fail(params, known):
    """A section that does not exist, a citation with no section, a bare EVIDENCE.md, the old shorthand, a
    dead anchor and a link text naming another section are all caught; a heading removed from the notes
    unresolves its citations."""
    source = params["mortality.q70_male"].source
    assert "docs/evidence_notes.md A" in source
    assert citation_problems(source, known) == []
    assert citation_problems(source.replace("evidence_notes.md A", "evidence_notes.md J"), known)
    assert citation_problems("docs/evidence_notes.md B/J", known)
    assert citation_problems("see docs/evidence_notes.md for the figure", known)
    assert not citation_problems("Team assumption (no figure in docs/evidence_notes.md)", known)
    notes = NOTES.read_text(encoding="utf-8")
    without_a = sections(notes.replace("## A. ", "## Mortality: ", 1))
    assert "A" not in without_a and citation_problems(source, without_a)
    existing = repo_file_names()
    assert file_name_problems("docs/x.md", "as in EVIDENCE.md G", existing)
    assert file_name_problems("docs/x.md", "see DESIGN.md section 5", existing)
    assert file_name_problems("docs/x.md", "severity shares (EVIDENCE C)", existing)
    assert not file_name_problems("docs/x.md", "see README.md and src/neighsim/data/SOURCES.md", existing)
    assert file_name_problems("docs/design.md", "# Title\nsee ../shared/DESIGN.md", existing)
    doc = ROOT / "docs" / "x.md"
    assert link_problems(doc, "[evidence notes J](evidence_notes.md#section-j)")
    assert link_problems(doc, "[evidence notes C](evidence_notes.md#section-d)")
    assert not link_problems(doc, "[evidence notes C](evidence_notes.md#section-c), [5](design.md#section-5)")
