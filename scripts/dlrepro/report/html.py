"""Markdown -> HTML (rule report_table_html, and the HTML of the reproduction table and of the
comparison): a standalone page from the Markdown written by :func:`dlrepro.tables.to_markdown`."""

from __future__ import annotations

import html
import re

from ..names import NOT_RUN

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
td.yes { background: #d8f0d8 !important; }
td.no { background: #f6d5d5 !important; }
td.na { color: #777; }
td.synthetic, td.stand-in, td.user { background: #fff2cc !important; font-weight: bold; }
p.provenance { color: #555; font-size: 0.85em; }
"""

_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _split_row(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def _cell_class(text: str) -> str:
    if text.startswith("yes"):
        return ' class="yes"'
    if text.startswith("no ") or text == "no":
        return ' class="no"'
    if text.startswith(("n/a", NOT_RUN)):
        return ' class="na"'
    if text in ("synthetic", "stand-in", "user"):
        return f' class="{text}"'
    return ""


def markdown_to_html(md: str) -> str:
    """A standalone HTML page from the Markdown written by :func:`dlrepro.tables.to_markdown`
    (a title, one pipe table, a "Notes:" list, a provenance paragraph)."""
    lines = md.splitlines()
    body: list[str] = []
    title = "table"
    i = 0
    in_list = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if in_list and not stripped.startswith("- "):
            body.append("</ul>")
            in_list = False
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            text = stripped[level:].strip()
            if level == 1:
                title = text
            body.append(f"<h{min(level, 6)}>{_inline(text)}</h{min(level, 6)}>")
        elif stripped.startswith("|"):
            header = _split_row(stripped)
            i += 1
            if i < len(lines) and re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", lines[i].strip()):
                i += 1
            body.append("<table>")
            body.append("<thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr></thead>")
            body.append("<tbody>")
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _split_row(lines[i])
                body.append(
                    "<tr>" + "".join(f"<td{_cell_class(c)}>{_inline(c)}</td>" for c in cells) + "</tr>"
                )
                i += 1
            body.append("</tbody></table>")
            continue
        elif stripped.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(stripped[2:])}</li>")
        elif stripped.startswith("Provenance:"):
            body.append(f'<p class="provenance">{_inline(stripped)}</p>')
        elif stripped:
            body.append(f"<p>{_inline(stripped)}</p>")
        i += 1
    if in_list:
        body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
