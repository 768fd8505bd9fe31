"""An incident note in Markdown: root cause first, then every finding."""

from __future__ import annotations

from typing import Any

from shine_ops.fixes import command_for

ICON = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP", "error": "ERROR"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Any) -> str:
    t = report.target
    from shine_ops.report import target_label

    who = target_label(t)
    lines = [f"# shine-ops {report.playbook}: {who}", "",
             f"Account {t.get('account')}, region {t.get('region')}; {report.api_calls['total']} API calls, "
             f"{report.duration_s:.1f} s.", ""]
    lines += _mermaid_block(report)
    by_id = {f.check: f for f in report.findings}
    if report.root_causes:
        lines += ["## Root causes", ""]
        for i, cid in enumerate(report.root_causes, 1):
            f = by_id[cid]
            lines.append(f"{i}. **{f.check}** ({f.severity}): {f.summary}")
            if f.fix:
                lines.append(f"   - Fix: `{command_for(f.fix)}`")
            if f.references:
                from shine_ops.engine.incident import describe

                lines.append("   - Read more: " + "; ".join(describe(r) for r in f.references))
        lines.append("")
    else:
        lines += ["No failing check.", ""]
    lines += ["## Findings", "", "| status | severity | check | summary |", "|---|---|---|---|"]
    for f in report.findings:
        sim = " (simulated)" if f.simulated else ""
        sup = " (suppressed)" if f.suppressed else ""
        lines.append(f"| {ICON[f.status]}{sup} | {f.severity} | `{f.check}` | {_cell(f.summary)}{sim} |")
    s = report.summary
    lines += ["", f"{s['pass']} passed, {s['fail']} failed, {s['warn']} warnings, {s['skip']} skipped, "
                  f"{s['error']} errors.", ""]
    return "\n".join(lines)


def _mermaid_block(report: Any) -> list[str]:
    """The request path as a ```mermaid block (GitHub, GitLab and most wikis draw it): red links fail, root
    causes carry their number. Nothing for account-wide reports, which have no path."""
    from shine_ops.report.diagram import diagram_for
    from shine_ops.report.diagram_text import render_mermaid

    d = diagram_for(report)
    if d is None:
        return []
    return ["## Request path", "", "```mermaid", render_mermaid(d).rstrip("\n"), "```", ""]
