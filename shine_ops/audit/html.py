"""report.html: one static, self-contained page (inline CSS, no scripts, no external assets); all text escaped."""

from __future__ import annotations

from html import escape
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f5f5f5}
.fail{color:#fff;background:#c62828}.pass{color:#fff;background:#2e7d32}.warn{background:#f9a825}
.skip{background:#e0e0e0}.error{color:#fff;background:#6a1b9a}.badge{padding:0 .4rem;border-radius:3px;
font-size:.8rem;font-weight:600}code{font-size:.85rem}.muted{color:#666}
"""


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status.upper())}</span>'


def _items(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(f"<tr><td>{escape(i['target'])}</td><td><code>{escape(i['check'])}</code></td>"
                   f"<td>{escape(str(i.get('severity')))}</td><td>{escape(', '.join(i.get('resources') or []))}</td>"
                   f"<td>{escape(i.get('summary') or '')}</td></tr>" for i in items)
    return (f"<h3>{escape(title)} ({len(items)})</h3><table><tr><th>target</th><th>check</th><th>severity</th>"
            f"<th>resources</th><th>summary</th></tr>{rows}</table>")


def render_html(doc: dict[str, Any]) -> str:
    s, cmp = doc["summary"], doc["comparison"]
    verdict = {0: "pass", 1: "fail", 2: "error", 3: "error"}.get(doc["exit_code"], "error")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>shine-ops audit {escape(doc['audit_id'])}</title><style>{CSS}</style></head><body>",
           f"<h1>shine-ops audit {escape(doc['audit_id'])} {_badge(verdict)}</h1>",
           f"<p class=\"muted\">{escape(doc['started_at'])} - {escape(doc['finished_at'])}, "
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
    for t in doc["targets"]:
        tgt = t.get("target") or {}
        where = ", ".join(f"{k} {v}" for k, v in tgt.items() if v)
        out.append(f"<h2>{escape(t['name'])} <span class=\"muted\">{escape(t.get('playbook') or '')}</span></h2>"
                   f"<p class=\"muted\">{escape(where)}</p>")
        if t.get("error"):
            out.append(f"<p>{_badge('error')} Could not audit: {escape(t['error'])}</p>")
            continue
        if t.get("root_causes"):
            out.append("<p>Root causes: " + ", ".join(f"<code>{escape(c)}</code>" for c in t["root_causes"]) + "</p>")
        rows = []
        for f in t["findings"]:
            sup = " (suppressed)" if f.get("suppressed") else ""
            rows.append(f"<tr><td>{_badge(f['status'])}{escape(sup)}</td><td>{escape(f['severity'])}</td>"
                        f"<td><code>{escape(f['check'])}</code></td><td>{escape(f.get('summary') or '')}</td>"
                        f"<td>{escape(', '.join(f.get('resources') or []))}</td>"
                        f"<td>{escape(f.get('fix') or '')}</td></tr>")
        out.append("<table><tr><th>status</th><th>severity</th><th>check</th><th>summary</th><th>resources</th>"
                   "<th>fix</th></tr>" + "".join(rows) + "</table>")
    if doc.get("delivery"):
        out.append("<h2>Notifications and metrics</h2><ul>" + "".join(
            f"<li>{escape(d['channel'])} {escape(d['target'])}: {'ok' if d['ok'] else 'FAILED'} - "
            f"{escape(d['detail'])}</li>" for d in doc["delivery"]) + "</ul>")
    out.append(f"<p class=\"muted\">shine-ops {escape(doc.get('tool_version', ''))}, schema "
               f"{escape(doc['schema'])}</p></body></html>")
    return "\n".join(x for x in out if x) + "\n"
