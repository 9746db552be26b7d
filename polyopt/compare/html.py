"""The one-page HTML report (table, figures, chosen schedules, generated code) and write_report(), which
puts every output of a comparison in one folder."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from polyopt.compare.report import ComparisonReport

_STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}.bad{color:#b00}.skip{color:#888}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:80%;max-height:30em}
details{margin:4px 0}summary{cursor:pointer}"""


def render_html(report: ComparisonReport, images: dict[str, Path] | None = None) -> str:
    """A self-contained page (figures embedded as data URLs)."""
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>polyopt compare</title>"
              f"<style>{_STYLE}</style></head><body>"),
             f"<h1>polyopt compare &mdash; {html.escape(report.size)}</h1>",
             f"<p>{report.threads} thread(s), median of {report.repeats} run(s)"
             + (f", {report.trials} tuning trials" if report.trials else "") + ". Machine: "
             + html.escape(", ".join(f"{k} {v}" for k, v in report.machine.items())) + "</p>",
             _table(report)]
    for title, path in (images or {}).items():
        data = base64.b64encode(Path(path).read_bytes()).decode()
        parts.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
                     f"src='data:image/png;base64,{data}'>")
    notes = report.problem_notes()
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Schedules and generated code</h2>")
    for k in report.kernels:
        parts.append(f"<h3>{html.escape(k)}</h3>")
        for c in report.contenders:
            m = report.get(k, c)
            if m is None or not (m.schedule or m.code) or m.status == "skipped":
                continue
            parts.append(f"<details><summary>{html.escape(c)} ({html.escape(m.status)})</summary>"
                         f"<p>schedule / flags:</p><pre>{html.escape(m.schedule)}</pre>"
                         + (f"<p>code ({html.escape(m.code_language)}):</p><pre>{html.escape(m.code)}</pre>"
                            if m.code else "") + "</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(report: ComparisonReport) -> str:
    head = "".join(f"<th title='{html.escape(report.labels.get(c, c))}'>{html.escape(c)}</th>"
                   for c in report.contenders)
    rows = [f"<table><tr><th>kernel</th>{head}</tr>"]
    for k in report.kernels:
        cells = []
        for c in report.contenders:
            m = report.get(k, c)
            if m is None:
                cells.append("<td>-</td>")
            elif not m.ok:
                cls = "skip" if m.status == "skipped" else "bad"
                cells.append(f"<td class='{cls}' title='{html.escape(m.note)}'>{html.escape(m.status)}</td>")
            else:
                s = report.speedup(k, c, "gcc")
                cells.append(f"<td>{m.median * 1e3:.3g} ms" + (f"<br>{s:.2f}x" if s else "") + "</td>")
        rows.append(f"<tr><td>{html.escape(k)}</td>{''.join(cells)}</tr>")
    for base in ("gcc", "polly"):
        if base in report.contenders:
            vals = [report.geomean(c, base) for c in report.contenders]
            rows.append(f"<tr><th>geomean vs {base}</th>"
                        + "".join(f"<th>{v:.2f}x</th>" if v else "<th>-</th>" for v in vals) + "</tr>")
    return "\n".join(rows) + "</table><p>Cells: median time (speedup over gcc -O3).</p>"


def write_report(report: ComparisonReport, out_dir: str | Path) -> dict[str, Path]:
    """table.md, table.csv, report.json, speedup.png, tuning.png (when tuned), report.html."""
    from polyopt.compare.plots import speedup_bars, tuning_curves
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "table.md", "csv": out / "table.csv", "json": out / "report.json"}
    paths["markdown"].write_text(report.to_markdown())
    paths["csv"].write_text(report.to_csv())
    paths["json"].write_text(report.to_json())
    images: dict[str, Path] = {}
    for title, key, fn in (("Speedup over gcc -O3", "speedup", speedup_bars),
                           ("Tuning curves", "tuning", tuning_curves)):
        p = fn(report, out / f"{key}.png")
        if p is not None:
            images[title] = paths[key] = p
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(report, images))
    return paths
