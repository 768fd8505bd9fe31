"""report.html: one static, self-contained page (inline CSS and SVG, no scripts, no external assets); all text
escaped.

What changed since the previous audit comes first (that is what a scheduled audit is for), then one section per
target built from the same pieces as ``diagnose --format html``: the request path as a picture, the root causes
with their evidence and fix command, the checks by hop. Resources show by their short names, the full ARN on
hover. The picture needs the run's snapshot, so ``render_html`` draws it when it is given the audit's
``results``; from the JSON document alone it renders everything else.
"""

from __future__ import annotations

from html import escape
from typing import Any

from shine_ops.report.html import (badge, checks_html, diagram_html, page, resource_chips, root_causes_html,
                                   summary_line)

AUDIT_CSS = """
table.items{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);font-size:13px;
margin:4px 0 12px}
table.items th,table.items td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.items th{background:#f9fafb;font-weight:600}
ul.delivery{font-size:13px}
"""


def _items(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(f"<tr><td>{escape(str(i.get('target') or ''))}</td><td><code>{escape(str(i['check']))}</code></td>"
                   f"<td>{escape(str(i.get('severity')))}</td><td>{resource_chips(i.get('resources') or [])}</td>"
                   f"<td>{escape(i.get('summary') or '')}</td></tr>" for i in items)
    return (f"<h3>{escape(title)} ({len(items)})</h3><table class=\"items\"><tr><th>target</th><th>check</th>"
            f"<th>severity</th><th>resources</th><th>summary</th></tr>{rows}</table>")


def _reports_by_entry(doc: dict[str, Any], results: list[Any] | None) -> list[Any]:
    """The run's Report objects in the order of ``doc["targets"]`` (None where a target was not audited)."""
    out: list[Any] = []
    for r in results or []:
        if r.error and not r.reports:
            out.append(None)
        out.extend(r.reports)
    return out if len(out) == len(doc["targets"]) else [None] * len(doc["targets"])


def _target(t: dict[str, Any], report: Any, index: int) -> str:
    tgt = t.get("target") or {}
    where = ", ".join(f"{k} {v}" for k, v in tgt.items() if v)
    causes = t.get("root_causes") or []
    if t.get("error") and not t.get("findings"):
        verdict = badge("error")
    elif causes:
        verdict = badge("fail", f"{len(causes)} ROOT CAUSE" + ("S" if len(causes) != 1 else ""))
    else:
        verdict = badge("pass", "ALL CLEAR")
    out = [f'<section class="target"><h2>{escape(str(t["name"]))} <span class="muted">'
           f"{escape(t.get('playbook') or '')}</span> {verdict}</h2>",
           f'<p class="meta">{escape(where)}' + (f". {escape(summary_line(t))}." if t.get("findings") else "") + "</p>"]
    if t.get("error"):
        out.append(f"<p>{badge('error')} Could not audit: {escape(str(t['error']))}</p>")
        if not t.get("findings"):
            return "\n".join(out) + "</section>"
    snap, hops = None, None
    if report is not None:
        from shine_ops.report.diagram import diagram_for

        out.append(diagram_html(diagram_for(report), id_prefix=f"sod{index}-"))
        snap, hops = report.snapshot, {f.check: f.hop for f in report.findings}
    out.append(root_causes_html(t, snap, level=3))
    out.append(checks_html(t, hops, snap, level=3))
    return "\n".join(x for x in out if x) + "</section>"


def render_html(doc: dict[str, Any], results: list[Any] | None = None) -> str:
    s, cmp = doc["summary"], doc["comparison"]
    verdict = {0: "pass", 1: "fail", 2: "error", 3: "error"}.get(doc["exit_code"], "error")
    out = [f"<h1>shine-ops audit {escape(doc['audit_id'])} {badge(verdict)}</h1>",
           f"<p class=\"meta\">{escape(doc['started_at'])} - {escape(doc['finished_at'])}, "
           f"config {escape(doc.get('config') or '')}, exit code {doc['exit_code']}, fail on "
           f"{escape(doc['fail_on'])}</p>",
           f"<p>{s['targets']} target(s); {s['failing']} failing check(s) at or above {escape(doc['fail_on'])}; "
           f"{s['pass']} passed, {s['fail']} failed, {s['warn']} warnings, {s['skip']} skipped, {s['error']} errors."
           "</p>", "<h2>Since the previous audit</h2>"]
    if cmp.get("first_audit"):
        out.append("<p>First audit of this configuration.</p>")
    else:
        out.append(f"<p class=\"muted\">previous audit {escape(str(cmp.get('previous_audit')))}</p>")
    out += [_items("New", cmp["new"]), _items("Resolved", cmp["resolved"]),
            _items("Still failing", cmp["persisting"])]
    if not (cmp["new"] or cmp["resolved"] or cmp["persisting"]):
        out.append("<p>No failing finding, before or now.</p>")
    for i, (t, rep) in enumerate(zip(doc["targets"], _reports_by_entry(doc, results)), 1):
        out.append(_target(t, rep, i))
    if doc.get("delivery"):
        out.append("<h2>Notifications and metrics</h2><ul class=\"delivery\">" + "".join(
            f"<li>{escape(d['channel'])} {escape(d['target'])}: {'ok' if d['ok'] else 'FAILED'} - "
            f"{escape(d['detail'])}</li>" for d in doc["delivery"]) + "</ul>")
    out.append(f"<footer>shine-ops {escape(doc.get('tool_version', ''))}, schema {escape(doc['schema'])}</footer>")
    return page(f"shine-ops audit {doc['audit_id']}", "\n".join(x for x in out if x), extra_css=AUDIT_CSS)
