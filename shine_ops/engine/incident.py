"""The recorded incident shipped with the package (``shine_ops/data/incident.yaml``), so ``FM-nn`` resolves anywhere.

Failure modes (``FM-01`` ...) say what broke, how it showed, which API field reveals it and which checks cover it;
notes (``NOTE-...``) hold the team's other lessons. Check ``references`` cite these ids or AWS documentation URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

REF_ID = re.compile(r"^(FM-\d{2}|NOTE-[a-z0-9-]+)$")
LOOKS_LIKE_ID = re.compile(r"^(FM|NOTE)-", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One failure mode or note of the recorded incident."""

    id: str
    title: str
    summary: str  # one line
    broke: str = ""
    showed: str = ""
    reveals: str = ""  # the API field (or live probe) that shows it
    checks: tuple[str, ...] = ()  # the checks that cover it
    outside: str = ""  # why no check covers it, when none does
    kind: str = "failure_mode"  # or "note"

    @property
    def line(self) -> str:
        """``FM-16  CORS did not allow the production frontend: <summary>``."""
        return f"{self.id}  {self.title}: {self.summary}"


@dataclass
class Record:
    entries: dict[str, Entry] = field(default_factory=dict)

    def failure_modes(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == "failure_mode"]

    def covered_by(self, check_id: str) -> list[Entry]:
        """The failure modes this check covers (declared once, in the record)."""
        return [e for e in self.failure_modes() if check_id in e.checks]


@lru_cache(maxsize=1)
def record() -> Record:
    """The incident record, parsed once."""
    import yaml

    data = yaml.safe_load(resources.files("shine_ops.data").joinpath("incident.yaml").read_text(encoding="utf-8"))
    rec = Record()
    for kind, section in (("failure_mode", "failure_modes"), ("note", "notes")):
        for eid, e in (data.get(section) or {}).items():
            rec.entries[eid] = Entry(id=eid, title=e["title"], summary=e["summary"], broke=e.get("broke", ""),
                                     showed=e.get("showed", ""), reveals=e.get("reveals", ""),
                                     checks=tuple(e.get("checks") or ()), outside=e.get("outside", ""), kind=kind)
    return rec


def unknown_reference(ref: str) -> str | None:
    """Why ``ref`` (one of a check's ``references``) cannot be shown, or None. An id of the record must exist; a
    URL must be https; other text (a team's own runbook, say) is shown as written."""
    if not isinstance(ref, str):
        return "a reference must be a string"
    if LOOKS_LIKE_ID.match(ref):
        if not REF_ID.match(ref) or ref not in record().entries:
            return f"unknown incident reference {ref!r}"
        return None
    if ref.startswith("http://"):
        return f"use an https:// URL: {ref}"
    return None


def known_ids() -> str:
    """The record's ids, for hints: ``FM-01..FM-22, NOTE-cleanup, ...``."""
    fms = [e.id for e in record().failure_modes()]
    notes = sorted(k for k in record().entries if k.startswith("NOTE-"))
    return ", ".join(([f"{fms[0]}..{fms[-1]}"] if fms else []) + notes)


def describe(ref: str) -> str:
    """A reference for people: an incident id with its one-line summary, anything else as written."""
    e = record().entries.get(ref)
    return e.line if e else ref
