"""``diagnose --format html``: one self-contained page people want to open during an incident.

The picture first (the request path as SVG, failing links red, root causes numbered), then the root causes in
request-path order with their evidence and the exact command that plans each fix, then every check grouped by
hop. Resources show by their short names; the full ARN is the hover text (``title``). Everything is inline
(CSS and SVG): no script, no CDN, no web font, so the file works offline, attached to a ticket, and printed
(a print stylesheet drops the backgrounds and keeps the colours that carry meaning).

The audit's ``report.html`` (``shine_ops.audit.html``) is built from the same pieces.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable

from shine_ops.report.short_names import short_name

HOP_TITLE = {"dns": "DNS", "load_balancer": "Load balancer", "listener": "Listener & rules",
             "target_group": "Target group", "targets": "Targets", "service": "ECS service",
             "task_definition": "Task definition", "network": "Network (security groups, NACLs)",
             "app": "Application (live probes)", "account": "Account"}
EVIDENCE_MAX_LINES = 40

CSS = """
:root{--fail:#c62828;--pass:#2e7d32;--warn:#b26a00;--error:#6a1b9a;--skip:#6b7280;--ink:#1b1f24;--muted:#6b7280;
--line:#e5e7eb;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif}
main{max-width:1760px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 10px}h3{font-size:15px;margin:18px 0 6px}
.meta,.muted{color:var(--muted)}.meta{font-size:13px;margin:0 0 10px}
code{font:12.5px/1.4 ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:700;
letter-spacing:.02em;vertical-align:2px;color:#fff;background:var(--skip);white-space:nowrap}
.badge.fail{background:var(--fail)}.badge.pass{background:var(--pass)}.badge.warn{background:var(--warn)}
.badge.error{background:var(--error)}.badge.skip{background:#9ca3af}
.sev{display:inline-block;padding:0 6px;border:1px solid #d1d5db;border-radius:4px;font-size:11.5px;color:#374151;
background:#fff;white-space:nowrap}
.sev.critical{border-color:var(--fail);color:var(--fail);font-weight:700}.sev.high{border-color:#e57373;color:#b71c1c}
.notes{background:#fff8e1;border:1px solid #f3d37a;border-radius:8px;padding:8px 12px;margin:10px 0}
.notes p{margin:2px 0}
figure.diagram{margin:12px 0 6px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px;
overflow:hidden}
figure.diagram svg{display:block;max-width:100%;height:auto;margin:0 auto}
figure.diagram figcaption{font-size:12px;color:var(--muted);padding:4px 8px 0}
ol.root-causes{list-style:none;margin:0;padding:0}
ol.root-causes>li{background:#fff;border:1px solid var(--line);border-left:5px solid var(--fail);border-radius:8px;
padding:12px 16px;margin:0 0 12px}
.rc-head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.num{display:inline-flex;align-items:center;justify-content:center;min-width:26px;height:26px;border-radius:13px;
background:var(--fail);color:#fff;font-weight:700}
.rc-head code{font-size:14px;font-weight:700}
.rc-title{color:var(--muted)}
.summary{margin:8px 0 6px;font-size:15px}
dl.ea{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0;font-size:13px}
dl.ea dt{color:var(--muted)}dl.ea dd{margin:0}
.resources{font-size:13px;margin:6px 0}
.res{display:inline-block;background:#f3f4f6;border:1px solid #e5e7eb;border-radius:4px;padding:0 6px;margin:1px 2px;
cursor:help}
details.evidence{margin:6px 0;font-size:12.5px}details.evidence summary{cursor:pointer;color:var(--muted)}
details.evidence pre{background:#f9fafb;border:1px solid var(--line);border-radius:6px;padding:8px 10px;
max-height:24em;overflow:auto;margin:6px 0 0;white-space:pre-wrap;word-break:break-word}
.fix{margin:10px 0 2px}.fix .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.refs{margin:6px 0 2px;font-size:13px}.refs .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;margin-right:6px}
pre.cmd{background:#111827;color:#f9fafb;border-radius:6px;padding:8px 12px;margin:4px 0 0;overflow-x:auto;
white-space:pre-wrap}
.explains{font-size:13px;color:var(--muted);margin:6px 0 0}
.clear{background:#fff;border:1px solid var(--line);border-left:5px solid var(--pass);border-radius:8px;
padding:12px 16px}
table.checks{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:8px;
font-size:13px}
table.checks th,table.checks td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.checks th{background:#f9fafb;font-weight:600;color:#374151}
table.checks td.status,table.checks td.severity{white-space:nowrap;width:1%}
table.checks td.check{white-space:nowrap;width:1%}
table.checks tr.fail td{background:#fffafa}
footer{margin-top:28px;font-size:12px;color:var(--muted)}
section.target{margin-top:34px;padding-top:8px;border-top:2px solid var(--line)}
@media print{
 @page{size:A4 landscape;margin:11mm}
 body{background:#fff;font-size:11px}
 main{max-width:none;padding:0}
 figure.diagram,ol.root-causes>li,table.checks,.clear{border-color:#bbb}
 figure.diagram,ol.root-causes>li,tr{break-inside:avoid}
 h2,h3{break-after:avoid}
 pre.cmd{background:#fff;color:#000;border:1px solid #888}
 details.evidence pre{max-height:none;overflow:visible}
 .badge,.num,.sev,ol.root-causes>li,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 a{color:inherit;text-decoration:none}
}
"""


def page(title: str, body: str, extra_css: str = "") -> str:
    """The HTML document around ``body``: inline CSS, no script, no external asset."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"shine-ops\"><title>{escape(title)}</title>"
            f"<style>{CSS}{extra_css}</style></head><body><main>\n{body}\n</main></body></html>\n")


def badge(status: str, text: str | None = None) -> str:
    return f'<span class="badge {escape(status)}">{escape(text or status.upper())}</span>'


def resource_chips(refs: Iterable[str], snap: Any = None) -> str:
    """Short names, the full ARN on hover."""
    return " ".join(f'<span class="res" title="{escape(r)}">{escape(short_name(r, snap))}</span>'
                    for r in dict.fromkeys(refs))


def hop_of(check: str, hops: dict[str, str] | None) -> str:
    """The hop a check judges: the findings' word when we have them, else what its evaluator declares."""
    if hops and check in hops:
        return hops[check]
    from shine_ops.engine.catalogue import builtin_hop

    return builtin_hop(check) or "app"


def references_html(refs: Iterable[str]) -> str:
    """A finding's references: incident ids with their title (the one-line summary on hover), AWS pages as links."""
    from shine_ops.engine.incident import record

    parts = []
    for r in refs:
        e = record().entries.get(r)
        if e is not None:
            parts.append(f'<span title="{escape(e.summary)}"><code>{escape(r)}</code> {escape(e.title)}</span>')
        elif r.startswith("https://"):  # as text: the page links to nothing outside itself
            parts.append(f'<span class="url">{escape(r)}</span>')
        else:
            parts.append(escape(r))
    return '<p class="refs"><span class="label">Read more</span> ' + "; ".join(parts) + "</p>" if parts else ""


def _compact(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))


def _evidence(ev: dict[str, Any]) -> str:
    """What the check saw, one line per fact: ``key: value``, a list of records one record a line."""
    if not ev:
        return ""
    lines: list[str] = []
    for key, value in ev.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key}:")
            for v in value:
                lines.append("  - " + ", ".join(f"{k}: {x if isinstance(x, str) else _compact(x)}"
                                                for k, x in v.items() if x not in (None, [], {}, "")))
        else:
            lines.append(f"{key}: {value if isinstance(value, str) else _compact(value)}")
    if len(lines) > EVIDENCE_MAX_LINES:
        lines = lines[:EVIDENCE_MAX_LINES] + [f"... {len(lines) - EVIDENCE_MAX_LINES} more lines: see --format json"]
    return (f'<details class="evidence" open><summary>Evidence</summary><pre>{escape(chr(10).join(lines))}</pre>'
            "</details>")


def root_causes_html(data: dict[str, Any], snap: Any = None, level: int = 2) -> str:
    """The failing checks that explain the others, numbered as in the diagram, each with its fix command."""
    from shine_ops.fixes import command_for

    h = f"h{level}"
    causes = data.get("root_causes") or []
    by_id = {f["check"]: f for f in data.get("findings") or []}
    if not causes:
        failing = [f for f in by_id.values() if f["status"] == "fail"]
        what = ("Every failing check is suppressed." if failing else "No failing check.")
        return (f'<{h} class="root-causes-title">Root causes</{h}>'
                f'<div class="clear">{badge("pass", "ALL CLEAR")} {what}</div>')
    account = (data.get("target") or {}).get("scope") == "account"
    out = [f'<{h} class="root-causes-title">Root cause{"s" if len(causes) > 1 else ""}'
           + ("" if account else ", in request-path order") + f"</{h}>", '<ol class="root-causes">']
    for i, cid in enumerate(causes, 1):
        f = by_id.get(cid) or {"check": cid, "status": "fail", "severity": "", "summary": ""}
        explains = [x["check"] for x in by_id.values() if cid in (x.get("explained_by") or [])]
        out.append(f'<li id="rc-{i}" data-check="{escape(cid)}">')
        out.append(f'<div class="rc-head"><span class="num">{i}</span><code>{escape(cid)}</code>'
                   f'<span class="sev {escape(f.get("severity") or "")}">{escape(f.get("severity") or "")}</span>'
                   f'<span class="rc-title">{escape(f.get("title") or "")}</span></div>')
        out.append(f'<p class="summary">{escape(f.get("summary") or "")}</p>')
        if f.get("expected") or f.get("actual"):
            out.append(f'<dl class="ea"><dt>expected</dt><dd>{escape(str(f.get("expected") or ""))}</dd>'
                       f'<dt>actual</dt><dd>{escape(str(f.get("actual") or ""))}</dd></dl>')
        if f.get("resources"):
            out.append(f'<div class="resources">{resource_chips(f["resources"], snap)}</div>')
        out.append(_evidence(f.get("evidence") or {}))
        if f.get("fix"):
            out.append(f'<div class="fix"><span class="label">Fix</span><pre class="cmd"><code>'
                       f"{escape(command_for(f['fix']))}</code></pre></div>")
        else:
            out.append('<div class="fix"><span class="label">Fix</span> <span class="muted">no automatic fix: '
                       "the summary says what to change</span></div>")
        out.append(references_html(f.get("references") or []))
        if explains:
            out.append('<p class="explains">Also explains: ' + ", ".join(f"<code>{escape(x)}</code>" for x in explains)
                       + "</p>")
        out.append("</li>")
    out.append("</ol>")
    return "\n".join(x for x in out if x)


def checks_html(data: dict[str, Any], hops: dict[str, str] | None = None, snap: Any = None, level: int = 2) -> str:
    """Every check of the run, grouped by the hop it judges, in request-path order."""
    from shine_ops.engine.runner import HOP_ORDER

    h, h2 = f"h{level}", f"h{level + 1}"
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in data.get("findings") or []:
        groups.setdefault(hop_of(f["check"], hops), []).append(f)
    order = {x: i for i, x in enumerate(HOP_ORDER)}
    out = [f'<{h} class="checks-title">Checks by hop</{h}>']
    for hop in sorted(groups, key=lambda x: order.get(x, 99)):
        rows = []
        for f in groups[hop]:
            extra = ""
            if (f.get("evidence") or {}).get("simulated"):
                extra += ' <span class="muted">(simulated)</span>'
            if f.get("suppressed"):
                s = f["suppressed"]
                extra += (f' <span class="muted">(suppressed: {escape(str(s.get("reason") or ""))}, '
                          f'{escape(str(s.get("owner") or ""))}, until {escape(str(s.get("expires") or ""))})</span>')
            rows.append(f'<tr class="{escape(f["status"])}" data-check="{escape(f["check"])}">'
                        f'<td class="status">{badge(f["status"])}</td>'
                        f'<td class="severity"><span class="sev {escape(f["severity"])}">{escape(f["severity"])}'
                        f'</span></td><td class="check"><code title="{escape(f.get("title") or "")}">'
                        f'{escape(f["check"])}</code></td><td>{escape(f.get("summary") or "")}{extra}</td>'
                        f'<td>{resource_chips(f.get("resources") or [], snap)}</td></tr>')
        worst = next((s for s in ("fail", "error", "warn", "pass") if any(f["status"] == s for f in groups[hop])),
                     "skip")
        out.append(f'<{h2} data-hop="{escape(hop)}">{escape(HOP_TITLE.get(hop, hop))} {badge(worst)}</{h2}>')
        out.append('<table class="checks"><thead><tr><th>status</th><th>severity</th><th>check</th><th>summary</th>'
                   "<th>resources</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "\n".join(out)


def diagram_html(diagram: Any, id_prefix: str = "sod-") -> str:
    if diagram is None:
        return ""
    from shine_ops.report.svg import render_svg

    svg = render_svg(diagram, id_prefix=id_prefix)
    return (f'<figure class="diagram" id="{escape(id_prefix)}diagram">{svg}<figcaption>The request path, left to '
            "right. Red: a failing check (root causes numbered as below); green: passing; grey: not judged; "
            "dashed: off the service's path. Hover an element for its full ARN.</figcaption></figure>")


def summary_line(data: dict[str, Any]) -> str:
    s = data.get("summary") or {}
    calls = (data.get("api_calls") or {}).get("total")
    return (f"{s.get('pass', 0)} passed, {s.get('fail', 0)} failed, {s.get('warn', 0)} warnings, "
            f"{s.get('skip', 0)} skipped, {s.get('error', 0)} errors"
            + (f"; {calls} API calls" if calls is not None else "")
            + (f", {data['duration_s']:.1f} s" if isinstance(data.get("duration_s"), (int, float)) else ""))


def report_body(data: dict[str, Any], *, diagram: Any = None, hops: dict[str, str] | None = None, snap: Any = None,
                notes: list[str] | None = None, level: int = 1, id_prefix: str = "sod-") -> str:
    """One report as HTML: heading, the picture, the root causes, the checks by hop."""
    from shine_ops.report import target_label

    t = data.get("target") or {}
    who = target_label(t)
    causes = data.get("root_causes") or []
    verdict = badge("fail", f"{len(causes)} ROOT CAUSE" + ("S" if len(causes) != 1 else "")) if causes \
        else badge("pass", "ALL CLEAR")
    svc = f"{t.get('cluster')}/{t.get('service')}" if t.get("service") else ""
    where = ", ".join(x for x in (f"service {svc}" if svc and t.get("domain") else "",
                                  f"account {t.get('account')}", f"region {t.get('region')}") if x)
    out = [f"<h{level}>shine-ops {escape(data.get('playbook') or '')}: {escape(who)} {verdict}</h{level}>",
           f'<p class="meta">{escape(where)}. {escape(summary_line(data))}.</p>']
    if notes:
        out.append('<div class="notes">' + "".join(f"<p>note: {escape(n)}</p>" for n in notes) + "</div>")
    out.append(diagram_html(diagram, id_prefix))
    out.append(root_causes_html(data, snap, level + 1))
    out.append(checks_html(data, hops, snap, level + 1))
    return "\n".join(x for x in out if x)


def _parts(report: Any, id_prefix: str, level: int = 1) -> str:
    from shine_ops.report.diagram import diagram_for

    return report_body(report.to_json(), diagram=diagram_for(report), hops={f.check: f.hop for f in report.findings},
                       snap=report.snapshot, notes=report.notes, level=level, id_prefix=id_prefix)


def _footer(version: str) -> str:
    return (f'<footer>Generated by shine-ops {escape(version)} (schema shine-ops.report/v1). The same run as JSON: '
            "<code>--format json</code>.</footer>")


def render_html(report: Any) -> str:
    from shine_ops import __version__
    from shine_ops.report import target_label

    return page(f"shine-ops {report.playbook}: {target_label(report.target)}",
                _parts(report, "sod-") + "\n" + _footer(__version__))


def render_html_many(reports: list[Any]) -> str:
    """``diagnose --all``: one page, one section per service, each with its own picture."""
    from shine_ops import __version__

    total = {k: sum(r.summary[k] for r in reports) for k in ("pass", "fail", "warn", "skip", "error")}
    failing = sum(1 for r in reports if r.root_causes)
    head = (f"<h1>shine-ops: {len(reports)} services {badge('fail' if failing else 'pass', f'{failing} FAILING')}</h1>"
            f'<p class="meta">{total["pass"]} passed, {total["fail"]} failed, {total["warn"]} warnings, '
            f'{total["skip"]} skipped, {total["error"]} errors.</p>')
    sections = [f'<section class="target">{_parts(r, f"sod{i}-", level=2)}</section>'
                for i, r in enumerate(reports, 1)]
    return page(f"shine-ops: {len(reports)} services", head + "\n".join(sections) + _footer(__version__))
