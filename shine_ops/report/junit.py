"""JUnit XML: one test case per finding, so CI systems show each check."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET


def render_junit(report: Any) -> str:
    return render_junit_many([report])


def render_junit_many(reports: list[Any]) -> str:
    suites = ET.Element("testsuites")
    for report in reports:
        suites.append(_suite(report))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _suite(report: Any) -> ET.Element:
    s = report.summary
    from shine_ops.report import target_label

    who = target_label(report.target).replace(" ", "-")
    suite = ET.Element("testsuite", name=f"shine-ops.{report.playbook}.{who}", tests=str(len(report.findings)),
                       failures=str(s["fail"]), errors=str(s["error"]), skipped=str(s["skip"]),
                       time=f"{report.duration_s:.3f}")
    target = who
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=f"shine-ops.{report.playbook}.{target}", name=f.check)
        if f.status == "fail":
            el = ET.SubElement(case, "failure", message=f.summary, type=f.severity)
            el.text = f"expected: {f.expected}\nactual: {f.actual}\nresources: {', '.join(f.resources)}"
        elif f.status == "error":
            ET.SubElement(case, "error", message=f.summary)
        elif f.status == "skip":
            ET.SubElement(case, "skipped", message=f.summary)
        elif f.status == "warn":
            out = ET.SubElement(case, "system-out")
            out.text = f"WARN: {f.summary}"
    return suite
