"""The review's headline, computed once for both of its readers: the workbook's Summary
sheet and `review_summary_<as-of>.html`, a page to attach to an email or open on a closed
network.

The HTML page holds counts only — findings by rule and severity, new / still open /
resolved, attestation status, data quality — never a group, person, email, account or
patient. It is one self-contained file: styles inline, charts as inline SVG, and a
Content-Security-Policy that forbids loading anything, so a mail client or browser
fetches nothing from anywhere.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ccreview.reports.files import atomic_path

SEVERITIES = ("high", "medium", "low")
SEVERITY_FILL = {"high": "#C0504D", "medium": "#E3A21A", "low": "#4F81BD"}
NOT_EVALUATED = "not evaluated yet"
TOP_GROUPS = 25


@dataclass(frozen=True)
class Headline:
    """What a reader of the review wants first, as rows ready to print."""
    facts: list[tuple[str, object]]
    by_rule: list[list]  # rule, severity, open findings (or NOT_EVALUATED), meaning
    by_severity: list[list]  # severity, findings
    changes: dict[str, int]  # new / still open / resolved
    attestation_of: dt.date | None
    attestation: list[list]  # status, groups
    top_groups: list[list]  # request number, group, findings, high severity
    expectations: list[tuple]  # table, check, column(s), met / NOT MET, rows, expectation
    quarantined: list[list] = field(default_factory=list)  # table, rule, rows

    @classmethod
    def build(cls, findings: pd.DataFrame, catalog: pd.DataFrame, scope: dict) -> Headline:
        """From the review's findings, the findings catalog and what the workbook's
        writer gathered from the warehouse (`scope`)."""
        counts = findings.groupby("rule").size().to_dict() if len(findings) else {}
        sev_counts = findings.groupby("severity").size().to_dict() if len(findings) else {}
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        evaluated = scope["evaluated_rules"]
        rules = [[r.rule, r.severity,
                  int(counts.get(r.rule, 0)) if r.rule in evaluated else NOT_EVALUATED,
                  r.description] for r in catalog.itertuples(index=False)]
        rules.sort(key=lambda r: (not isinstance(r[2], int), -r[2] if isinstance(r[2], int)
                                  else 0, rank.get(r[1], 9), r[0]))
        change = scope["change"]
        groups = scope["group_rows"]  # GROUP_COLUMNS, then attestation of, due, status
        statuses: dict[str, int] = {}
        for g in groups:
            statuses[g[19]] = statuses.get(g[19], 0) + 1
        attestation_of = next((g[17] for g in groups if g[17] is not None), None)
        top = sorted(([g[0], g[1], g[15], g[16]] for g in groups if g[15]),
                     key=lambda g: (-g[2], g[0]))[:TOP_GROUPS]
        quarantined: dict[tuple[str, str], int] = {}
        for _, table, rule, _, n in scope["quarantine_counts"]:
            quarantined[(table, rule)] = quarantined.get((table, rule), 0) + int(n)
        facts: list[tuple[str, object]] = [
            ("Findings", len(findings)),
            ("High severity", int(sev_counts.get("high", 0))),
            ("New since the previous run", int(change.get("new", 0))),
            ("Still open", int(change.get("still open", 0))),
            ("Resolved since the previous run", int(change.get("resolved", 0))),
            ("Items to resolve (To resolve sheet)", int(scope["to_resolve"])),
            ("Groups reviewed", int(scope["groups"])),
            ("Active members", int(scope["members"])),
            ("Directory accounts", int(scope["directory_accounts"])),
            ("Application accounts", int(scope["application_accounts"])),
            ("Input rows quarantined", int(scope["quarantined"])),
        ]
        return cls(facts=facts, by_rule=rules,
                   by_severity=[[s, int(sev_counts.get(s, 0))] for s in SEVERITIES],
                   changes={k: int(change.get(k, 0))
                            for k in ("new", "still open", "resolved")},
                   attestation_of=attestation_of,
                   attestation=[[s, n] for s, n in sorted(statuses.items())],
                   top_groups=top, expectations=list(scope["expectations"]),
                   quarantined=[[t, r, n] for (t, r), n in sorted(quarantined.items())])


def write_html_summary(out_dir: Path, as_of: dt.date, version: str,
                       headline: Headline) -> Path:
    """`review_summary_<as-of>.html`, atomically; returns its path."""
    path = out_dir / f"review_summary_{as_of.isoformat()}.html"
    with atomic_path(path) as tmp:
        tmp.write_text(render_html(as_of, version, headline), encoding="utf-8")
    return path


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bars(rows: list[tuple[str, int, str]], label_width: int = 210) -> str:
    """A horizontal bar chart as inline SVG: (label, value, fill) per bar."""
    if not rows:
        return "<p>None.</p>"
    bar_h, gap, chart_w = 22, 6, 420
    top = max(v for _, v, _ in rows) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="'
             f'{label_width + chart_w + 60}" height="{height}" '
             f'viewBox="0 0 {label_width + chart_w + 60} {height}">']
    for i, (label, value, fill) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = round(chart_w * value / top) if value else 0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" '
            f'font-size="12">{_e(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(w, 1)}" height="{bar_h}" '
            f'fill="{fill}"><title>{_e(label)}: {value}</title></rect>'
            f'<text x="{label_width + max(w, 1) + 6}" y="{y + 15}" font-size="12">'
            f'{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if j in numeric else ""}>{_e(v)}</td>'
                         for j, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #1f2933;
       margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #52606d; margin-top: 0; }
.tiles { display: flex; flex-wrap: wrap; gap: .75rem; }
.tile { border: 1px solid #cbd2d9; border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; }
.tile .v { font-size: 1.6rem; font-weight: 600; } .tile .k { color: #52606d; font-size: .85rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #cbd2d9; padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #eef2f7; } td.n { text-align: right; }
.notmet { color: #b00020; font-weight: 600; }
footer { margin-top: 2.5rem; color: #52606d; font-size: .85rem; }
@media print { body { margin: 0; } h2 { break-after: avoid; } }
"""


def render_html(as_of: dt.date, version: str, h: Headline) -> str:
    """The page's text (deterministic: the same headline gives the same bytes)."""
    day = as_of.isoformat()
    tiles = "".join(f'<div class="tile"><div class="v">{_e(v)}</div>'
                    f'<div class="k">{_e(k)}</div></div>' for k, v in h.facts)
    fill = {s: SEVERITY_FILL.get(s, "#7b8794") for s in SEVERITIES}
    rule_bars = _bars([(r[0], r[2], fill.get(r[1], "#7b8794")) for r in h.by_rule
                       if isinstance(r[2], int) and r[2] > 0])
    severity_bars = _bars([(s, n, fill[s]) for s, n in h.by_severity], label_width=90)
    change_bars = _bars([(k, v, "#7b8794") for k, v in h.changes.items()], label_width=90)
    not_met = [e for e in h.expectations if e[3] != "met"]
    if h.expectations:
        dq = (f"<p>{len(h.expectations)} dataset expectations, "
              f'<span{" class=notmet" if not_met else ""}>{len(not_met)} not met</span>; '
              "details in the Data Docs (data_quality/index.html).</p>")
        if not_met:
            dq += _table(["Table", "Check", "Result"], [[e[0], e[1], e[3]] for e in not_met])
    else:
        dq = "<p>Dataset expectations were not run.</p>"
    dq += (_table(["Table", "Rule", "Rows quarantined"], h.quarantined, numeric={2})
           if h.quarantined else "<p>No input row was quarantined.</p>")
    attestation = (
        f"<p>Attestation of the review of {_e(h.attestation_of)}.</p>"
        + _table(["Status", "Groups"], h.attestation, numeric={1})
        if h.attestation else "<p>No attestation has been issued yet.</p>")
    rules = _table(["Rule", "Severity", "Open findings", "What it means"], h.by_rule,
                   numeric={2})
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access review summary as of {day}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>Clinical Connectivity access review</h1>
<p class="sub">As of {day}. Counts only: no names, emails or patient data.
Confidential.</p>
<div class="tiles">{tiles}</div>
<h2>Findings by rule</h2>
<p class="sub">Open findings per rule, most first; the bar's colour is the rule's severity
(red high, amber medium, blue low).</p>
{rule_bars}
{rules}
<h2>Findings by severity</h2>
{severity_bars}
<h2>Since the previous review</h2>
{change_bars}
<h2>Attestation</h2>
{attestation}
<h2>Data quality</h2>
{dq}
<footer>ccreview {_e(version)}: review as of {day}.</footer>
</body>
</html>
"""
