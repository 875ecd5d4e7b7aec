"""Render ``CHANGELOG.md`` (Keep a Changelog) as reST for the docs, at every build.

Converts the small Markdown subset a changelog uses: ``#`` headings, paragraphs, ``-``/``*``
bullets with indented continuation lines, inline code, ``**bold**``, ``*emphasis*`` and
``[text](url)`` links. The result is written to ``docs/_generated/changelog.inc`` (only when it
changes) and included by ``docs/changelog.rst``. If the file holds something this converter does
not understand, the ``-W`` build reports the line; the Markdown itself stays the source.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_EMPH = re.compile(r"(?<![*\w])\*([^*\s][^*]*?)\*(?![*\w])")
_UNDERLINES = {1: "=", 2: "-", 3: "^", 4: '"', 5: "~", 6: "+"}


def _boundaries(text: str, start: int, end: int) -> tuple[str, str]:
    """reST inline markup must be delimited by whitespace/punctuation: escape otherwise."""
    before = "\\ " if start > 0 and text[start - 1].isalnum() else ""
    after = "\\ " if end < len(text) and text[end].isalnum() else ""
    return before, after


def inline(text: str) -> str:
    """Convert inline Markdown to reST (code spans are protected from the other rules)."""
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_inline_plain(text[pos : m.start()]))
        before, after = _boundaries(text, m.start(), m.end())
        out.append(f"{before}``{m.group(1)}``{after}")
        pos = m.end()
    out.append(_inline_plain(text[pos:]))
    return "".join(out)


def _inline_plain(text: str) -> str:
    text = text.replace("\\", "\\\\")
    text = _LINK.sub(lambda m: f"`{m.group(1)} <{m.group(2)}>`__", text)
    text = _BOLD.sub(lambda m: f"**{m.group(1)}**", text)
    text = _EMPH.sub(lambda m: f"*{m.group(1)}*", text)
    return text


def convert(markdown: str, *, top_level: int = 2) -> str:
    """Markdown changelog -> reST; the first ``#`` heading is dropped (the page has a title),
    and headings of level ``top_level`` and deeper become reST sections."""
    lines = markdown.splitlines()
    out: list[str] = []
    in_list = False
    seen_title = False
    for raw in lines:
        line = raw.rstrip()
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if level == 1 and not seen_title:
                seen_title = True
                continue
            title = inline(heading.group(2))
            out += ["", title, _UNDERLINES[max(1, level - top_level + 2)] * max(len(title), 3), ""]
            in_list = False
            continue
        bullet = _BULLET.match(line)
        if bullet and not bullet.group(1):
            if not in_list:
                out.append("")
            out.append(f"- {inline(bullet.group(2))}")
            in_list = True
            continue
        if in_list and line.startswith(" ") and line.strip():
            out.append(f"  {inline(line.strip())}")
            continue
        if not line.strip():
            in_list = False
            out.append("")
            continue
        if in_list:
            out.append("")
            in_list = False
        out.append(inline(line))
    text = "\n".join(out).strip() + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def _write(app: Any) -> None:
    source = Path(app.srcdir).parent / "CHANGELOG.md"
    target = Path(app.srcdir) / "_generated" / "changelog.inc"
    header = ".. Generated from CHANGELOG.md by docs/_ext/cyclegan_changelog.py; do not edit.\n\n"
    text = header + (convert(source.read_text(encoding="utf-8")) if source.is_file() else "")
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _write)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
