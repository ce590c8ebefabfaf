"""The Chinese README is a full counterpart of the English one: same sections, code, tables,
flags and links (a section, example or flag added to one and not the other fails here)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = (ROOT / "README.md").read_text(encoding="utf-8")
CHINESE = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def headings(text):
    """Each heading's level, in order."""
    return [len(m.group(1)) for m in re.finditer(r"^(#{1,6}) ", text, re.M)]


def code(text):
    """The code blocks, without their comments (those are translated)."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    return [[re.sub(r"\s*#.*$", "", line).rstrip() for line in b.splitlines()] for b in blocks]


def table_rows(text):
    return len(re.findall(r"^\|", text, re.M))


def flags(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", text))


def links(text):
    """Link targets, in-page anchors aside (their headings are translated)."""
    return sorted(t for t in re.findall(r"\]\(([^)]+)\)", text) if not t.startswith("#"))


@pytest.mark.parametrize("part", [headings, code, table_rows, flags])
def test_the_chinese_readme_has_the_same(part):
    assert part(CHINESE) == part(ENGLISH)


def test_the_two_readmes_link_the_same_files_and_each_other():
    assert [t for t in links(ENGLISH) if t != "README.zh-CN.md"] == [
        t for t in links(CHINESE) if t != "README.md"
    ]
    assert "README.zh-CN.md" in links(ENGLISH) and "README.md" in links(CHINESE)


def test_in_page_links_lead_to_a_heading():
    for text in (ENGLISH, CHINESE):
        anchors = {
            re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.*)$", text, re.M)
        }
        for target in re.findall(r"\]\(#([^)]+)\)", text):
            assert target in anchors, target
