"""The HTML kit of the report: its style sheet, escaping, embedded figures, tables and number formats."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["CSS", "esc", "figure_html", "fmt", "table", "flatten"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;
 background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:16px 28px 60px}
h1{font-size:1.7em;margin:.4em 0 .1em}h2{border-bottom:2px solid #2c6fb7;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.6em;color:#2c4d72}h4{margin:1.2em 0 .4em}
section.run,section.box{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:6px 22px 18px;
 margin:22px 0}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d5dbe2;padding:3px 9px;text-align:right;vertical-align:top}
th{background:#eef2f7;text-align:center}td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#fafbfc}td.best{background:#d9f2dc!important;font-weight:600}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}.grid figure{margin:0}
figure{margin:10px 0}figure img{max-width:100%;height:auto;border:1px solid #e3e7ec;border-radius:4px;
 background:#fff}figcaption{font-size:.85em;color:#555;margin-top:2px}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 12px;font-size:.9em;margin:10px 0}
.sig{color:#a11}.muted{color:#666;font-size:.88em}ul.sentences li{margin:4px 0}
nav a{margin-right:14px}code{background:#eef1f4;padding:0 3px;border-radius:3px}
"""

def esc(text: Any) -> str:
    return html.escape(str(text))


def figure_html(path: Path, caption: str = "") -> str:
    """An <img> with the PNG embedded as a base64 data URI (or a note if the file is missing)."""
    if not path.is_file():
        return f'<p class="muted">figure missing: {esc(path.name)}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(caption or path.stem)}" src="data:image/png;base64,{data}">{cap}</figure>'


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:4]) + (
            f", … ({len(value)} in all)" if len(value) > 4 else ""
        )
        return esc(shown)
    return esc(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first `left` columns are left-aligned text. Cells are pre-formatted HTML strings,
    or (html, css class) pairs."""

    def cell(i: int, c: str | tuple[str, str]) -> str:
        text, cls = c if isinstance(c, tuple) else (c, "")
        classes = " ".join(filter(None, ("l" if i < left else "", cls)))
        return f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>"

    head = "".join(f"<th{' class=l' if i < left else ''}>{esc(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, Mapping):
        return [item for k, v in data.items() for item in flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), data)]
