"""Renderers of one result model: table (rich), json (schema shine-ops.report/v1), markdown (an incident note),
junit (CI), html (one self-contained page: the path as a picture, root causes, checks by hop)."""

from __future__ import annotations

from typing import Any

FORMATS = ("table", "json", "markdown", "junit", "html")


def target_label(target: dict) -> str:
    """How a report names what it judged: the domain, the service, or the whole account."""
    if target.get("scope") == "account":
        return f"account {target.get('account')} ({target.get('region')})"
    return target.get("domain") or f"{target.get('cluster')}/{target.get('service')}"


def render(report: Any, fmt: str, *, color: bool = True) -> str:
    if fmt == "json":
        from shine_ops.report.jsonfmt import render_json
        return render_json(report)
    if fmt == "markdown":
        from shine_ops.report.markdown import render_markdown
        return render_markdown(report)
    if fmt == "junit":
        from shine_ops.report.junit import render_junit
        return render_junit(report)
    if fmt == "html":
        from shine_ops.report.html import render_html
        return render_html(report)
    from shine_ops.report.table import render_table
    return render_table(report, color=color)


def render_many(reports: list[Any], fmt: str, *, color: bool = True) -> str:
    """Several targets' reports in one document (``diagnose --all``)."""
    if fmt == "json":
        import json

        total = {k: sum(r.summary[k] for r in reports) for k in ("pass", "fail", "warn", "skip", "error")}
        return json.dumps({"schema": "shine-ops.report-set/v1", "reports": [r.to_json() for r in reports],
                           "summary": total}, indent=2, default=str) + "\n"
    if fmt == "junit":
        from shine_ops.report.junit import render_junit_many

        return render_junit_many(reports)
    if fmt == "html":
        from shine_ops.report.html import render_html_many

        return render_html_many(reports)
    sep = "\n\n" if fmt == "markdown" else "\n"
    return sep.join(render(r, fmt, color=color) for r in reports)
