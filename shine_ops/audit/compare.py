"""Comparison of two audits of the same configuration: new, resolved and persisting failing findings.

A finding is keyed by target + check + resources, so the same check failing on another resource is new.
Targets that could not be audited this time resolve nothing: their previous failures are "unknown".
"""

from __future__ import annotations

from typing import Any, Iterable


def finding_key(target: str, check: str, resources: Iterable[str]) -> str:
    return f"{target}|{check}|{','.join(sorted(resources))}"


def failing_items(target_results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """key -> item for every failing, unsuppressed finding of the audit's reports (JSON form)."""
    out: dict[str, dict[str, Any]] = {}
    for tr in target_results:
        for rep in tr.get("reports", []):
            for f in rep.get("findings", []):
                if f.get("status") != "fail" or f.get("suppressed"):
                    continue
                key = finding_key(tr["name"], f["check"], f.get("resources") or [])
                out[key] = {"target": tr["name"], "check": f["check"], "severity": f.get("severity"),
                            "resources": sorted(f.get("resources") or []), "summary": f.get("summary", ""),
                            "playbook": rep.get("playbook")}
    return out


def compare(previous: dict[str, dict[str, Any]] | None, current: dict[str, dict[str, Any]], *,
            previous_id: str | None = None, unaudited_targets: Iterable[str] = ()) -> dict[str, Any]:
    """``previous`` is None when there was no earlier audit of this configuration."""
    skip = set(unaudited_targets)
    prev = previous or {}
    new = [current[k] for k in sorted(current) if k not in prev]
    persisting = [current[k] for k in sorted(current) if k in prev]
    resolved = [prev[k] for k in sorted(prev) if k not in current and prev[k]["target"] not in skip]
    unknown = [prev[k] for k in sorted(prev) if k not in current and prev[k]["target"] in skip]
    return {"previous_audit": previous_id, "first_audit": previous is None, "new": new, "resolved": resolved,
            "persisting": persisting, "unknown": unknown, "changed": bool(new or resolved)}
