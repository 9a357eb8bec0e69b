"""The documentation's relative links resolve, and the README stays short.

Every relative link of README.md and docs/**/*.md (inline `[text](target)`, an image, or a
reference definition `[label]: target`; not inside a fenced code block or an inline code span)
must name a file or folder that exists, relative to the linking file; an anchor into a Markdown
file (or a pure `#anchor` into the same file) must match one of its headings as GitHub anchors
them. Links with a scheme (https:, mailto:, …) are not followed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
README_LIMIT = 15360  # bytes: 15 KB

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
# [text](target "title"): text may hold one level of brackets; target is <...> or has no space
# and balanced parentheses
INLINE_LINK = re.compile(
    r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*(?:\s#+)?\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files() -> list[Path]:
    return [README, *sorted((REPO / "docs").rglob("*.md"))]


def outside_code(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    lines, fence = [], None
    for number, line in enumerate(text.split("\n"), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            else:
                lines.append((number, line))
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not line.strip()[len(match.group(1)):]:
            fence = None
    return lines


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, every character but letters, digits, '-', '_'
    and spaces removed, spaces to '-'."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", heading)  # link text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (a repeated one gets -1, -2, … as on GitHub)."""
    found, times = set(), {}
    for _, line in outside_code(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            found.add(f"{anchor}-{times[anchor]}" if anchor in times else anchor)
            times[anchor] = times.get(anchor, 0) + 1
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link of a Markdown file, outside code."""
    found = []
    for number, line in outside_code(path.read_text(encoding="utf-8")):
        line = CODE_SPAN.sub(lambda span: " " * len(span.group(0)), line)
        targets = [match.group(1) for match in INLINE_LINK.finditer(line)]
        reference = REFERENCE.match(line)
        if reference:
            targets.append(reference.group(1))
        found += [(number, target.strip("<>")) for target in targets]
    return found


def broken_link(source: Path, target: str, cache: dict[Path, set[str]]) -> str | None:
    """Why a link of `source` does not resolve, or None when it does (or is not relative)."""
    if not target or SCHEME.match(target):
        return None
    file_part, _, anchor = target.partition("#")
    destination = (source.parent / unquote(file_part)).resolve() if file_part else source
    if not destination.exists():
        return "no such file or folder"
    if anchor and destination.is_file() and destination.suffix == ".md":
        if destination not in cache:
            cache[destination] = anchors(destination)
        if unquote(anchor) not in cache[destination]:
            return f"no heading with anchor #{anchor} in {os.path.relpath(destination, REPO)}"
    return None


def test_github_anchor():
    assert github_anchor("Reviewing a deploy: `stackswap diff`") \
        == "reviewing-a-deploy-stackswap-diff"
    assert github_anchor("Deploy reports (`--report DIR`)") == "deploy-reports---report-dir"
    assert github_anchor("Who may test (`network.test_cidr`)") == "who-may-test-networktest_cidr"


def test_every_relative_link_resolves():
    cache: dict[Path, set[str]] = {}
    broken = []
    for path in markdown_files():
        for number, target in links(path):
            why = broken_link(path, target, cache)
            if why:
                broken.append(f"{path.relative_to(REPO)}:{number}: ({target}): {why}")
    assert not broken, "broken relative links:\n" + "\n".join(broken)


def test_links_are_found():
    # the checker sees the links it must check: the README's links into docs/
    targets = [target for _, target in links(README)]
    assert "docs/operations.md#what-one-deploy-does" in targets
    assert all(not target.startswith("http") or "://" in target for target in targets)


def test_readme_stays_under_15_kb():
    size = README.stat().st_size
    assert size < README_LIMIT, f"README.md is {size} bytes, over {README_LIMIT} (15 KB)"
