"""report.html: one self-contained page of figures and tables, for ``minicnn demo``.

The page uses no script, no server and nothing from the internet: its pictures are PNG files
beside it (``<img src="curves.png">``), so the folder can be zipped, mailed or opened straight
from the disk in any browser.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: .92rem; }
table { border-collapse: collapse; margin: .8rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .8rem; border-bottom: 1px solid #e5e5e5; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { border-top: 2px solid #bbb; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1.2rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.missing { background: #fff8e1; border-left: 4px solid #f0b400; padding: .6rem 1rem; }
"""


def _text(value: Any) -> str:
    return html.escape(str(value))


class Report:
    """An HTML page built section by section, then written with :meth:`write`::

    report = Report("minicnn demo")
    report.section("Training curves")
    report.figure("curves.png", "Loss and accuracy per epoch.")
    report.write("out/report.html")
    """

    def __init__(self, title: str, intro: str | None = None):
        self.title = title
        self.parts: list[str] = [f"<h1>{_text(title)}</h1>"]
        if intro:
            self.paragraph(intro)

    def section(self, heading: str) -> Report:
        self.parts.append(f"<h2>{_text(heading)}</h2>")
        return self

    def paragraph(self, text: str, css_class: str | None = None) -> Report:
        attribute = f' class="{_text(css_class)}"' if css_class else ""
        self.parts.append(f"<p{attribute}>{_text(text)}</p>")
        return self

    def facts(self, facts: Mapping[str, Any]) -> Report:
        """A two-column list of names and values."""
        rows = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in facts.items())
        self.parts.append(f'<dl class="facts">{rows}</dl>')
        return self

    def figure(self, filename: str | os.PathLike, caption: str, alt: str | None = None) -> Report:
        """A picture (a file name relative to the page) with its caption below."""
        name = Path(filename).as_posix()
        self.parts.append(
            f'<figure><img src="{_text(name)}" alt="{_text(alt or Path(name).stem)}">'
            f"<figcaption>{_text(caption)}</figcaption></figure>"
        )
        return self

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[Any]], totals: int = 0
    ) -> Report:
        """A table; the last ``totals`` rows are set apart as summary rows."""
        head = "".join(f"<th>{_text(h)}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            css = ' class="total"' if totals and i == len(rows) - totals else ""
            body.append(f"<tr{css}>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>")
        self.parts.append(
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
        return self

    def classification_report(self, report: Mapping[str, Any], digits: int = 3) -> Report:
        """The table of ``metrics.classification_report(..., output_dict=True)``."""
        header = ["class", "precision", "recall", "f1-score", "support"]
        rows, summary = [], []
        for name, values in report.items():
            if name == "accuracy":
                summary.append(["accuracy", "", "", f"{values:.{digits}f}", ""])
                continue
            row = [name] + [f"{values[k]:.{digits}f}" for k in header[1:4]]
            row.append(f"{int(values['support'])}")
            (summary if name.endswith(" avg") else rows).append(row)
        # the accuracy row's support is the number of samples, as scikit-learn prints it
        if summary and summary[0][0] == "accuracy" and len(summary) > 1:
            summary[0][4] = summary[1][4]
        return self.table(header, rows + summary, totals=len(summary))

    def missing(self, heading: str, text: str) -> Report:
        """A section that is not available yet, and why."""
        self.section(heading)
        self.parts.append(f'<p class="missing">{_text(text)}</p>')
        return self

    def html(self) -> str:
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_text(self.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n"
        )

    def write(self, path: str | os.PathLike) -> Path:
        """Write the page (UTF-8); its folder is created if needed. Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path
