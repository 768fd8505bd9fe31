"""The finding: one check's verdict on one target, in the shape the JSON contract fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "warn", "skip", "error")
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}  # info=0 ... critical=4


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` is at or above ``threshold`` (the ``--fail-on`` comparison)."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]


@dataclass
class Outcome:
    """What an evaluator (or a probe) returns: the verdict without the catalogue's metadata."""

    status: str
    summary: str
    resources: list[str] = field(default_factory=list)
    expected: str = ""
    actual: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


@dataclass
class Finding:
    """A check's verdict with its catalogue metadata: id, title, severity, fix."""

    check: str
    title: str
    status: str
    severity: str
    summary: str
    resources: list[str] = field(default_factory=list)
    expected: str = ""
    actual: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    explained_by: list[str] = field(default_factory=list)
    suppressed: dict[str, Any] | None = None
    hop: str = ""
    references: list[str] = field(default_factory=list)  # the check's: AWS documentation URLs, incident ids

    @classmethod
    def from_outcome(cls, check: str, title: str, severity: str, outcome: Outcome, *,
                     fix: str | None = None, hop: str = "", references: list[str] | None = None) -> "Finding":
        return cls(check=check, title=title, status=outcome.status, severity=severity,
                   summary=outcome.summary, resources=list(dict.fromkeys(outcome.resources)),
                   expected=outcome.expected, actual=outcome.actual, evidence=outcome.evidence,
                   fix=fix if outcome.status == "fail" else None, hop=hop, references=list(references or []))

    @property
    def simulated(self) -> bool:
        return bool(self.evidence.get("simulated"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check, "title": self.title, "status": self.status, "severity": self.severity,
            "resources": self.resources, "summary": self.summary, "expected": self.expected,
            "actual": self.actual, "evidence": self.evidence, "fix": self.fix,
        }
        if self.explained_by:
            data["explained_by"] = self.explained_by
        if self.suppressed is not None:
            data["suppressed"] = self.suppressed
        if self.references:  # optional: readers that do not know it ignore it
            data["references"] = self.references
        return data
