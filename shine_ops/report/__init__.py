"""Renderers of one result model: table (rich), json (the contract), markdown (an incident note), junit (CI)."""

from __future__ import annotations

from typing import Any

FORMATS = ("table", "json", "markdown", "junit")


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
    from shine_ops.report.table import render_table
    return render_table(report, color=color)
