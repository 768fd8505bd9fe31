"""The request-path diagram as text: Mermaid ``flowchart LR`` (Markdown reports, wikis, GitHub) and Graphviz DOT
(``dot -Tsvg`` where Graphviz is installed). Both come from the one model of ``shine_ops.report.diagram_model``, with
the same colours as the SVG: red fails (with its check id, root causes numbered), green passes, grey was not
judged, dashed is context off the service's path; the full ARNs go into comments (Mermaid) or tooltips (DOT).
"""

from __future__ import annotations

from shine_ops.report.diagram_model import HOP_TITLES, HOPS, Diagram, check_label, element_class, link_class

# --------------------------------------------------------------------------- Mermaid
MERMAID_CLASSES = {
    "fail": "fill:#fdecea,stroke:#c62828,stroke-width:2px,color:#7f1d1d",
    "error": "fill:#f3e8fa,stroke:#6a1b9a,stroke-width:2px,color:#4a148c",
    "warn": "fill:#fff5e0,stroke:#b26a00,color:#5d3a00",
    "pass": "fill:#edf7ee,stroke:#2e7d32,color:#1b3d1f",
    "none": "fill:#f6f7f9,stroke:#9aa1a9,color:#333",
    "muted": "fill:#ffffff,stroke:#c3c8ce,stroke-dasharray:4 3,color:#6b7280",
}
LINK_STYLES = {"fail": "stroke:#c62828,stroke-width:3px,color:#c62828",
               "error": "stroke:#6a1b9a,stroke-width:2px,color:#6a1b9a",
               "warn": "stroke:#b26a00,stroke-width:2px,color:#b26a00",
               "pass": "stroke:#2e7d32,stroke-width:1.5px", "muted": "stroke:#c3c8ce,stroke-dasharray:4 3"}


def _mm(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("`", "'").replace("\n", " "))


def _comment(text: str) -> str:
    """A Mermaid comment line: no line break, and no backtick that could close a Markdown code fence."""
    return text.replace("\n", " ").replace("`", "'")


def render_mermaid(d: Diagram) -> str:
    """``flowchart LR`` text: one node line per element, one edge line per link (tests parse both)."""
    out = ["flowchart LR", f"    %% shine-ops map: {_comment(d.title)}"]
    if d.root_causes:
        out.append("    %% root causes: " + ", ".join(f"({i}) {c}" for i, c in enumerate(d.root_causes, 1)))
    for e in d.elements:
        parts = [_mm(e.name)] + ([_mm(e.detail)] if e.detail else [])
        parts += [_mm(check_label(d, c)) for c in d.failing(e.checks)]
        out.append(f'    {e.id}["{"<br/>".join(parts)}"]')
    styled: dict[str, list[int]] = {}
    for i, l in enumerate(d.links):
        parts = ([_mm(l.label)] if l.label else []) + [_mm(check_label(d, c)) for c in d.failing(l.checks)]
        text = f'|"{"<br/>".join(parts)}"|' if parts else ""
        out.append(f"    {l.source} -->{text} {l.target}")
        cls = link_class(l)
        if cls in LINK_STYLES:
            styled.setdefault(cls, []).append(i)
    for name, style in MERMAID_CLASSES.items():
        out.append(f"    classDef {name} {style}")
    groups: dict[str, list[str]] = {}
    for e in d.elements:
        groups.setdefault(element_class(e), []).append(e.id)
    for name, ids in groups.items():
        out.append(f"    class {','.join(ids)} {name}")
    for name, idx in styled.items():
        out.append(f"    linkStyle {','.join(map(str, idx))} {LINK_STYLES[name]}")
    for e in d.elements:  # the full ARNs, for whoever reads the text
        if e.title:
            out.append(f"    %% {e.id}: {_comment(e.title.splitlines()[0])}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Graphviz DOT
DOT_COLORS = {"fail": ("#c62828", "#fdecea"), "error": ("#6a1b9a", "#f3e8fa"), "warn": ("#b26a00", "#fff5e0"),
              "pass": ("#2e7d32", "#edf7ee"), "none": ("#9aa1a9", "#f6f7f9"), "muted": ("#c3c8ce", "#ffffff")}


def _dq(text: str) -> str:
    """A double-quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(d: Diagram) -> str:
    """Graphviz DOT text (``dot -Tsvg``): one rank per hop, tooltips with the full ARNs."""
    out = ["digraph request_path {",
           f"  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, nodesep=0.25, ranksep=0.5, "
           f"label={_dq(d.title)}];",
           "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];",
           "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];"]
    for hop in HOPS:
        ids = [e.id for e in d.by_hop(hop)]
        if ids:
            out.append(f"  {{ rank=same; {'; '.join(ids)}; }}  // {HOP_TITLES[hop]}")
    for e in d.elements:
        cls = element_class(e)
        stroke, fill = DOT_COLORS[cls]
        lines = [e.name] + ([e.detail] if e.detail else []) + [check_label(d, c) for c in d.failing(e.checks)]
        style = '"rounded,filled,dashed"' if cls == "muted" else '"rounded,filled"'
        out.append(f"  {e.id} [label={_dq(chr(10).join(lines))}, tooltip={_dq(e.title or e.name)}, "
                   f"color={_dq(stroke)}, fillcolor={_dq(fill)}, style={style}"
                   + (", penwidth=2" if cls in ("fail", "error") else "") + "];")
    for l in d.links:
        cls = link_class(l)
        color = {"none": "#6b7280"}.get(cls, DOT_COLORS[cls][0])
        lines = ([l.label] if l.label else []) + [check_label(d, c) for c in d.failing(l.checks)]
        attrs = [f"color={_dq(color)}", f"fontcolor={_dq(color if cls in ('fail', 'error', 'warn') else '#444444')}"]
        if lines:
            attrs.append(f"label={_dq(chr(10).join(lines))}")
        if l.title:
            attrs.append(f"tooltip={_dq(l.title)}")
        if cls == "fail":
            attrs.append("penwidth=2.5")
        if cls == "muted":
            attrs.append("style=dashed")
        out.append(f"  {l.source} -> {l.target} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"
