"""``shine-ops checks show``: one check (or one entry of the recorded incident) explained, as text or JSON.

Pure: reads the catalogue and the incident record shipped with the package, nothing else.
"""

from __future__ import annotations

import textwrap
from typing import Any

WIDTH = 100


def _wrap(text: str, indent: str = "", hang: str = "") -> list[str]:
    """Wrapped at WIDTH; URLs and ids are never split."""
    return textwrap.wrap(" ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent + hang,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _ref_line(ref: str) -> str:
    from shine_ops.engine.incident import describe

    return describe(ref)


def _entry_lines(ref: str, indent: str) -> list[str]:
    """``FM-16  title: summary``, the id kept apart, continuation lines under the text."""
    from shine_ops.engine.incident import record

    e = record().entries.get(ref)
    if e is None:
        return _wrap(ref, indent)
    head = f"{e.id:<8}" if len(e.id) < 8 else e.id + "  "
    return textwrap.wrap(f"{e.title}: {e.summary}", WIDTH, initial_indent=indent + head,
                         subsequent_indent=indent + " " * 8, break_long_words=False, break_on_hyphens=False)


def check_json(cat: Any, chk: Any) -> dict[str, Any]:
    """One check as data: its declaration, what it derives (hop, fix) and the failure modes it covers."""
    from shine_ops.engine.incident import record

    covers = record().covered_by(chk.id)
    return {"id": chk.id, "title": chk.title, "severity": chk.severity, "evaluator": chk.evaluator, "hop": chk.hop,
            "fix": chk.fix, "params": chk.params, "explanation": " ".join(chk.explanation.split()),
            "consequence_of": chk.consequence_of, "source": chk.source,
            "references": [{"ref": r, "text": _ref_line(r)} for r in chk.references],
            "covers": [{"id": e.id, "title": e.title, "summary": e.summary, "reveals": e.reveals} for e in covers]}


def check_text(cat: Any, chk: Any) -> str:
    """One check for people: what it judges, why, how to fix, where to read more, what it covers."""
    from shine_ops.engine.incident import record
    from shine_ops.fixes import command_for

    out = [f"{chk.id}  ({chk.severity})", f"  {chk.title}", ""]
    out.append(f"  evaluator  {chk.evaluator}  (hop: {chk.hop})")
    out.append(f"  fix        {command_for(chk.fix) if chk.fix else 'none: the explanation says what to change'}")
    if chk.params:
        out.append("  params     " + ", ".join(f"{k}: {v}" for k, v in chk.params.items()))
    if chk.consequence_of:
        out += _wrap(f"symptom of {len(chk.consequence_of)} checks (not a root cause when one fails): "
                     + ", ".join(chk.consequence_of), "  ", "           ")
    out.append(f"  source     {chk.source}")
    if chk.explanation:
        out += [""] + _wrap(chk.explanation, "  ")
    covers = record().covered_by(chk.id)
    out += ["", "Recorded failure modes it covers:"]
    if covers:
        for e in covers:
            out += _entry_lines(e.id, "  ")
            out += _wrap(f"seen as: {e.showed}", " " * 10) + _wrap(f"revealed by: {e.reveals}", " " * 10)
    else:
        out.append("  none")
    if chk.references:
        out += ["", "References:"]
        for r in chk.references:
            out += _entry_lines(r, "  ")
    return "\n".join(out) + "\n"


def incident_text(entry: Any, cited_by: list[str] | None = None) -> str:
    """One entry of the recorded incident: what broke, how it showed, what reveals it, which checks cover it
    (and ``cited_by``: the checks whose references cite it)."""
    out = [f"{entry.id}  {entry.title}", ""] + _wrap(entry.summary, "  ")
    for label, text in (("broke", entry.broke), ("showed", entry.showed), ("revealed by", entry.reveals)):
        if text:
            out += _wrap(f"{label}: {text}", "  ")
    if entry.kind == "failure_mode":
        out += ["", "Covered by: " + (", ".join(entry.checks) if entry.checks else "no check")]
        if entry.outside:
            out += _wrap(entry.outside, "  ")
    if cited_by:
        out += _wrap("Cited by: " + ", ".join(cited_by))
    return "\n".join(out) + "\n"
