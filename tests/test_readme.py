"""The README is a front page for users, and every link in the documentation leads somewhere.

README.md stays short (the reference lives in docs/), never sends a reader out of the
repository, and no markdown file under docs/ links to a path or heading that does not exist.
Links are checked as GitHub renders them: paths relative to the file, anchors as GitHub's
heading slugs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
README_MAX_BYTES = 16_000
MARKDOWN_FILES = [README, *sorted((REPO / "docs").rglob("*.md"))]

FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


def without_code(text: str) -> str:
    """The text with fenced blocks and code spans blanked: a link inside code is only text."""
    text = FENCED_BLOCK.sub("", text)
    return CODE_SPAN.sub("", text)


def link_targets(text: str) -> list[str]:
    """Every link and image target in a markdown text, inline and reference-style."""
    prose = without_code(text)
    found = INLINE_LINK.findall(prose) + REFERENCE_DEFINITION.findall(prose)
    return [target.strip("<>") for target in found]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown_file: Path) -> set[str]:
    """The anchors of a file's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    slugs: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCED_BLOCK.sub("", markdown_file.read_text(encoding="utf-8"))):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs


def broken_links(markdown_file: Path, root: Path = REPO) -> list[str]:
    """The links in one file that lead to no file or heading inside ``root``."""
    broken = []
    for target in link_targets(markdown_file.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (markdown_file.parent / path_part).resolve() if path_part else markdown_file
        if not destination.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with this anchor in {destination.relative_to(root)}")
    return broken


def test_readme_is_a_front_page_of_at_most_16_kb():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size:,} bytes; the reference belongs in docs/"


def test_readme_never_sends_a_reader_out_of_the_repository():
    text = README.read_text(encoding="utf-8")
    external = re.findall(r"https?://\S+", text)
    assert not external, f"README.md links out of the repository: {external}"


@pytest.mark.parametrize("markdown_file", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_path_a_user_does_not_have(markdown_file: Path):
    """`../shared/` is the developers' folder beside the checkout: a user never has it."""
    lines = [line for line in markdown_file.read_text(encoding="utf-8").splitlines() if "../shared" in line]
    assert not lines, f"{markdown_file.relative_to(REPO)} names ../shared: {lines}"


@pytest.mark.parametrize("markdown_file", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(markdown_file: Path):
    broken = broken_links(markdown_file)
    assert not broken, f"{markdown_file.relative_to(REPO)}: {broken}"


def test_the_link_checker_finds_what_is_broken(tmp_path: Path):
    """The checker itself: a missing file, a missing heading and a way out are found; code is skipped."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Other page\n", encoding="utf-8")
    links = (
        "[ok](other.md#other-page-1) [self](#a-title-v2) [gone](missing.md) [no anchor](other.md#nothing) "
        "[out](../../outside.md) `[code](also-missing.md)` [web](https://example.org)"
    )
    page = tmp_path / "docs" / "page.md"
    page.write_text(f"# A title (`v2`)\n\n{links}\n\n```\n[fenced](missing-too.md)\n```\n", encoding="utf-8")

    assert github_slug("Geometry and bad input (`Volume`)") == "geometry-and-bad-input-volume"
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no such file",
        "other.md#nothing: no heading with this anchor in docs/other.md",
        "../../outside.md: outside the repository",
    ]
