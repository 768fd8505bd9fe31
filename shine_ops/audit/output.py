"""The audit document (report.json) and its four files: report.json, report.xml, report.md, report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from shine_ops.audit.metrics import write_atomic


def target_entries(results: list[Any]) -> list[dict[str, Any]]:
    """One contract report per target (and per playbook), labelled with the target's name; a target that could
    not be audited gets an entry with its error and no findings."""
    out = []
    for r in results:
        if r.error and not r.reports:
            out.append({"name": r.spec.name, "target": r.spec.describe(), "playbook": None, "findings": [],
                        "root_causes": [], "summary": {k: 0 for k in ("pass", "fail", "warn", "skip", "error")},
                        "error": r.error, "exit_code": r.exit_code})
            continue
        for rep in r.reports:
            out.append(rep.to_json() | {"name": r.spec.name, "error": r.error, "exit_code": r.exit_code})
    return out


def render_junit(doc: dict[str, Any], results: list[Any]) -> str:
    """One suite per target (shine_ops.report.junit), named after the target; unaudited targets as an error."""
    from shine_ops.report.junit import render_junit_many

    reports, names = [], []
    for r in results:
        for rep in r.reports:
            reports.append(rep)
            names.append(f"shine-ops.{rep.playbook}.{r.spec.name}")  # the target's label, not its domain
    root = ET.fromstring(render_junit_many(reports)) if reports else ET.Element("testsuites")
    for suite, name in zip(root.findall("testsuite"), names):
        suite.set("name", name)
    for r in results:
        if r.error and not r.reports:
            suite = ET.SubElement(root, "testsuite", name=f"shine-ops.audit.{r.spec.name}", tests="1", failures="0",
                                  errors="1", skipped="0", time=f"{r.duration_s:.3f}")
            case = ET.SubElement(suite, "testcase", classname=f"shine-ops.audit.{r.spec.name}", name="audit")
            ET.SubElement(case, "error", message=r.error)
    root.set("name", f"shine-ops audit {doc['audit_id']}")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_markdown(doc: dict[str, Any], results: list[Any]) -> str:
    from shine_ops.report.markdown import render_markdown as one

    s, cmp = doc["summary"], doc["comparison"]
    lines = [f"# shine-ops audit {doc['audit_id']}", "",
             f"{doc['started_at']}, exit code {doc['exit_code']}: {s['targets']} target(s), {s['failing']} failing "
             f"check(s) at or above {doc['fail_on']}.", "", "## Since the previous audit", ""]
    lines.append("First audit of this configuration." if cmp["first_audit"]
                 else f"Previous audit: {cmp['previous_audit']}.")
    lines.append("")
    for title, items in (("New", cmp["new"]), ("Resolved", cmp["resolved"]), ("Still failing", cmp["persisting"])):
        lines.append(f"- {title}: {len(items)}")
        for i in items:
            lines.append(f"  - {i['target']}: `{i['check']}` ({i.get('severity')}) {i.get('summary', '')}".rstrip())
    lines.append("")
    for r in results:
        if r.error and not r.reports:
            lines += [f"# {r.spec.name}: not audited", "", f"Could not audit: {r.error}", ""]
        for rep in r.reports:
            note = one(rep).replace("# shine-ops ", f"# {r.spec.name}: shine-ops ", 1)
            lines.append("\n".join("#" + ln if ln.startswith("#") else ln for ln in note.splitlines()))  # one level down
            lines.append("")
    return "\n".join(lines) + "\n"


def write_reports(out_dir: Path, doc: dict[str, Any], results: list[Any]) -> list[Path]:
    from shine_ops.audit.html import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"report.json": json.dumps(doc, indent=2, default=str) + "\n",
             "report.xml": render_junit(doc, results),
             "report.md": render_markdown(doc, results),
             "report.html": render_html(doc, results)}
    paths = []
    for name, text in files.items():
        p = out_dir / name
        write_atomic(p, text)
        paths.append(p)
    return paths
