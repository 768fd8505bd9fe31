"""The request-path diagram as SVG, laid out in pure Python (no Graphviz on the machine, no new dependency).

The shape is fixed, so the layout is simple: one column per hop (record ... task definition), one row per
element, each parent centred on its children (a tidy tree; a second parent just draws a second arrow). Links
bend near their source and run straight into their target. A link's words (the security groups that govern
it, its failing checks with their root-cause number) stand right above its arrowhead, over the element it
enters: in the gaps between eight columns they would make the picture too wide to read on one screen.
Colours carry the verdict: red fails, green passes, amber warns, purple could not be judged, grey was not
judged, dashed and pale is context off the service's path. Every element and link has a ``<title>`` (the hover
text: full ARNs) and ``data-*`` attributes that tests and scripts can read. Presentation attributes only (no
CSS), so the file looks the same standalone, inline in HTML, and in converters with little CSS support.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from shine_ops.report.diagram_model import HOP_TITLES, HOPS, Diagram, Element, Link, element_class, link_class

FONT = "'Segoe UI', 'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
# stroke, fill, text colour per class
COLORS = {"fail": ("#c62828", "#fdecea", "#7f1d1d"), "error": ("#6a1b9a", "#f3e8fa", "#4a148c"),
          "warn": ("#b26a00", "#fff5e0", "#5d3a00"), "pass": ("#2e7d32", "#edf7ee", "#1b3d1f"),
          "none": ("#9aa1a9", "#f6f7f9", "#1f2937"), "muted": ("#c3c8ce", "#ffffff", "#6b7280")}
LINK_COLORS = {"fail": "#c62828", "error": "#6a1b9a", "warn": "#b26a00", "pass": "#2e7d32", "none": "#6b7280",
               "muted": "#c3c8ce"}
NAME_PX, DETAIL_PX, LABEL_PX = 12.5, 10.5, 10.5
LINE_NAME, LINE_SMALL = 16.0, 14.0
PAD_X, PAD_Y = 9.0, 7.0
MIN_NODE_W, MAX_NODE_W = 96.0, 196.0
NOTE_CHARS = 30  # a link's label wraps at this many characters
BEND = 14.0  # a link bends within 2 x BEND of its source, then runs straight
GAP = 46.0  # between columns
ROW_GAP = 16.0
MARGIN = 18.0
TOP = 64.0  # title and column headers


def text_width(text: str, px: float, bold: bool = False) -> float:
    """A conservative width estimate (wide sans fonts such as DejaVu): boxes may be roomy, never clipped."""
    wide = sum(1 for ch in text if ch.isupper() or ch in "mwMW@%")
    return (len(text) * (0.60 if bold else 0.56) + wide * 0.18) * px


def wrap(text: str, max_chars: int, max_lines: int = 3) -> list[str]:
    """Break at separators (``-./:, ``) so names stay recognisable; hard-break only a run with none."""
    if len(text) <= max_chars:
        return [text]
    if len(text) <= 2 * max_chars:  # two lines: the most even cut at a separator (api. / example.com)
        cuts = [i + 1 for i, ch in enumerate(text) if ch in "-./:, _" and 0 < i < len(text) - 1]
        fits = [c for c in cuts if c <= max_chars and len(text) - c <= max_chars]
        if fits:
            c = min(fits, key=lambda c: max(c, len(text) - c))
            return [text[:c].rstrip(), text[c:].lstrip()]
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines:
        if len(rest) <= max_chars:
            lines.append(rest)
            rest = ""
            break
        cut = max((rest.rfind(sep, 0, max_chars) for sep in "-./:, _"), default=-1)
        cut = cut + 1 if cut >= max_chars // 3 else max_chars
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        lines[-1] = lines[-1][: max(1, max_chars - 1)] + "\u2026"
    return lines


@dataclass
class _Box:
    el: Element
    name: list[str]
    detail: list[str]
    checks: list[tuple[int | None, str]]  # the element's own failing checks: (root-cause number, check id)
    notes: list[tuple[str, int | None, str]]  # its incoming links' labels: (class, number, text), drawn above it
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0
    y: float = 0.0  # centre


def _box(d: Diagram, e: Element) -> _Box:
    max_name = int((MAX_NODE_W - 2 * PAD_X) / (NAME_PX * 0.6))
    max_small = int((MAX_NODE_W - 2 * PAD_X) / (DETAIL_PX * 0.56))
    notes: list[tuple[str, int | None, str]] = []
    for l in d.links:
        if l.target == e.id:
            notes += [("label", None, t) for t in (wrap(l.label, NOTE_CHARS, 2) if l.label else [])]
            notes += [(link_class(l), d.number(c), c) for c in d.failing(l.checks)]
    b = _Box(e, wrap(e.name, max_name, 2), wrap(e.detail, max_small, 2) if e.detail else [],
             [(d.number(c), c) for c in d.failing(e.checks)], notes)
    widths = [text_width(t, NAME_PX, True) for t in b.name] + [text_width(t, DETAIL_PX) for t in b.detail]
    widths += [text_width(c, DETAIL_PX, True) + (18 if n else 0) for n, c in b.checks]
    b.w = min(MAX_NODE_W, max(MIN_NODE_W, max(widths, default=0) + 2 * PAD_X))
    b.h = 2 * PAD_Y + len(b.name) * LINE_NAME + (len(b.detail) + len(b.checks)) * LINE_SMALL
    return b


def _note_width(note: tuple[str, int | None, str]) -> float:
    kind, n, text = note
    return text_width(text, LABEL_PX, kind != "label") + (18 if n else 0)


def _slots(d: Diagram) -> dict[str, float]:
    """Row of each element: leaves take the next free row, a parent sits in the middle of its children."""
    children: dict[str, list[str]] = {e.id: [] for e in d.elements}
    has_parent: set[str] = set()
    for l in d.links:
        children[l.source].append(l.target)
        has_parent.add(l.target)
    pos: dict[str, float] = {}
    seen: set[str] = set()
    counter = [0]

    def place(n: str) -> None:
        kids = []
        for c in children[n]:
            if c not in seen:
                seen.add(c)
                kids.append(c)
        if not kids:
            pos[n] = counter[0]
            counter[0] += 1
            return
        for c in kids:
            place(c)
        pos[n] = (pos[kids[0]] + pos[kids[-1]]) / 2

    ordered = sorted(d.elements, key=lambda e: HOPS.index(e.hop))
    for e in [x for x in ordered if x.id not in has_parent] + ordered:
        if e.id not in seen:
            seen.add(e.id)
            place(e.id)
    return pos


def render_svg(d: Diagram, id_prefix: str = "sod-") -> str:
    """The diagram as one standalone SVG document (also valid inline in HTML)."""
    boxes = {e.id: _box(d, e) for e in d.elements}
    hops = [h for h in HOPS if any(e.hop == h for e in d.elements)]
    # a column is as wide as its widest box, and wide enough that the notes above its boxes (which may run on
    # into the gap after it) never reach the next column
    col_w = {h: max(max(b.w, max((_note_width(n) for n in b.notes), default=0) - GAP + 6)
                    for b in boxes.values() if b.el.hop == h) for h in hops}
    for b in boxes.values():
        b.w = col_w[b.el.hop]
    note_h = max((len(b.notes) for b in boxes.values()), default=0) * LINE_SMALL
    box_h = max((b.h for b in boxes.values()), default=40)
    pitch = note_h + box_h + ROW_GAP
    x = MARGIN
    col_x: dict[str, float] = {}
    for h in hops:
        col_x[h] = x
        x += col_w[h] + GAP
    width = x - GAP + MARGIN if hops else 2 * MARGIN
    slots = _slots(d)
    rows = max(slots.values(), default=0) + 1
    for b in boxes.values():
        b.x = col_x[b.el.hop]
        b.y = TOP + slots[b.el.id] * pitch + note_h + box_h / 2 + ROW_GAP / 2
    legend_y = TOP + rows * pitch + 6
    height = legend_y + 24 + (LINE_SMALL * 1.4 if d.unplaced else 0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
           f'height="{height:.0f}" role="img" aria-label={quoteattr("request path: " + d.title)} '
           f'font-family={quoteattr(FONT)} class="shine-ops-diagram">',
           f"<title>{escape('request path: ' + d.title)}</title>", "<defs>"]
    for cls, color in LINK_COLORS.items():
        out.append(f'<marker id="{id_prefix}arrow-{cls}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/>'
                   "</marker>")
    out.append("</defs>")
    out.append(f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    out.append(f'<text x="{MARGIN}" y="24" font-size="15" font-weight="700" fill="#111827">'
               f"{escape(d.title)}</text>")
    for h in hops:
        out.append(f'<text x="{col_x[h] + col_w[h] / 2:.1f}" y="{TOP - 12:.0f}" font-size="10.5" font-weight="600" '
                   f'letter-spacing="0.6" fill="#6b7280" text-anchor="middle">{escape(HOP_TITLES[h].upper())}</text>')
    # links under elements; failing ones last, so their red stays on top where links share a bend
    order = {"muted": 0, "none": 1, "pass": 2, "warn": 3, "error": 4, "fail": 5}
    for l in sorted(d.links, key=lambda l: order[link_class(l)]):
        out.append(_draw_link(d, l, boxes[l.source], boxes[l.target], id_prefix))
    for e in d.elements:
        out.append(_draw_box(boxes[e.id], id_prefix))
    out.append(_legend(d, legend_y))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _badge(x: float, y: float, n: int) -> str:
    """A numbered root-cause disc centred at (x, y)."""
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7.5" fill="#c62828"/><text x="{x:.1f}" y="{y + 3.8:.1f}" '
            f'font-size="10.5" font-weight="700" fill="#ffffff" text-anchor="middle">{n}</text>')


def _draw_link(d: Diagram, l: Link, a: _Box, b: _Box, p: str) -> str:
    cls = link_class(l)
    color = LINK_COLORS[cls]
    x1, y1, x2, y2 = a.x + a.w, a.y, b.x - 2, b.y
    width = {"fail": 2.6, "error": 2.0, "warn": 2.0, "pass": 1.6}.get(cls, 1.3)
    dash = ' stroke-dasharray="4 3"' if cls == "muted" else ""
    if abs(y1 - y2) < 0.5:
        geom = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
    else:
        bend = min(BEND, (x2 - x1) / 2 - 2)
        geom = (f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x1 + bend:.1f},{y2:.1f} {x1 + 2 * bend:.1f},{y2:.1f} "
                f"L{x2:.1f},{y2:.1f}")
    checks = ", ".join(f"{c} {s}" for c, s in l.checks.items())
    hover = "\n".join(x for x in (f"{d.element(l.source).name} -> {d.element(l.target).name}", l.title,
                                  checks) if x)
    return "\n".join([f'<g class="link" data-source="{l.source}" data-target="{l.target}" data-status="{l.status}" '
                      f'data-checks={quoteattr(" ".join(d.failing(l.checks)))}>',
                      f"<title>{escape(hover)}</title>",
                      f'<path d="{geom}" fill="none" stroke="{color}" stroke-width="{width}"{dash} '
                      f'marker-end="url(#{p}arrow-{cls})"/>', "</g>"])


def _draw_box(b: _Box, p: str) -> str:
    e = b.el
    cls = element_class(e)
    stroke, fill, ink = COLORS[cls]
    top = b.y - b.h / 2
    sw = 2.2 if cls in ("fail", "error") else 1.2
    dash = ' stroke-dasharray="4 3"' if cls == "muted" else ""
    checks = ", ".join(f"{c} {s}" for c, s in e.checks.items())
    hover = "\n".join(x for x in (e.title or e.name, checks) if x)
    out = [f'<g class="element" id="{p}{e.id}" data-id="{e.id}" data-hop="{e.hop}" data-status="{e.status}">',
           f"<title>{escape(hover)}</title>"]
    y = top - 5 - (len(b.notes) - 1) * LINE_SMALL
    for kind, n, text in b.notes:  # what governs the incoming link, and its failing checks, by its arrowhead
        x = b.x + 2
        if n:
            out.append(_badge(x + 7.5, y - 4, n))
            x += 18
        color = "#4b5563" if kind == "label" else LINK_COLORS.get(kind, "#4b5563")
        weight = "" if kind == "label" else ' font-weight="700"'
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{LABEL_PX}"{weight} fill="{color}">'
                   f"{escape(text)}</text>")
        y += LINE_SMALL
    out.append(f'<rect x="{b.x:.1f}" y="{top:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="7" fill="{fill}" '
               f'stroke="{stroke}" stroke-width="{sw}"{dash}/>')
    y = top + PAD_Y + NAME_PX
    for t in b.name:
        out.append(f'<text x="{b.x + PAD_X:.1f}" y="{y:.1f}" font-size="{NAME_PX}" font-weight="700" '
                   f'fill="{ink}">{escape(t)}</text>')
        y += LINE_NAME
    y += DETAIL_PX - NAME_PX + 1
    for t in b.detail:
        out.append(f'<text x="{b.x + PAD_X:.1f}" y="{y:.1f}" font-size="{DETAIL_PX}" fill="#4b5563">'
                   f"{escape(t)}</text>")
        y += LINE_SMALL
    for n, c in b.checks:
        x = b.x + PAD_X
        if n:
            out.append(_badge(x + 7.5, y - 4, n))
            x += 18
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{DETAIL_PX}" font-weight="700" '
                   f'fill="{COLORS["fail"][0]}">{escape(c)}</text>')
        y += LINE_SMALL
    out.append("</g>")
    return "\n".join(out)


def _legend(d: Diagram, y: float) -> str:
    items = [("fail", "failing (root causes numbered)"), ("pass", "passing"), ("warn", "warning"),
             ("none", "not judged"), ("muted", "context, off the service's path")]
    out = ['<g class="legend">']
    x = MARGIN
    for cls, text in items:
        stroke, fill, _ = COLORS[cls]
        dash = ' stroke-dasharray="3 2"' if cls == "muted" else ""
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="11" rx="3" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="1.5"{dash}/>')
        out.append(f'<text x="{x + 19:.1f}" y="{y + 10:.1f}" font-size="11" fill="#4b5563">{escape(text)}</text>')
        x += 19 + text_width(text, 11) + 18
    out.append(f'<text x="{x:.1f}" y="{y + 10:.1f}" font-size="11" fill="#6b7280">hover an element for its full '
               "ARN</text>")
    if d.unplaced:
        out.append(f'<text x="{MARGIN}" y="{y + 10 + LINE_SMALL * 1.4:.1f}" font-size="11" fill="#c62828">'
                   f"root causes not drawn on one element: {escape(', '.join(dict.fromkeys(d.unplaced)))}</text>")
    out.append("</g>")
    return "\n".join(out)
