"""What the careful cleanup (``fix tortoise``) shares: which resources it must leave alone, and saving.

A hygiene finding names candidates; the cleanup removes only those nothing protects: an active suppression in
shine-ops.yaml (the team accepted it, for a reason, until a date), or the tag ``shine-ops:keep`` on the
resource. Everything it deletes is saved first, in the shape the create call takes, so rollback can recreate it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe

KEEP_TAG = "shine-ops:keep"


def suppressed(pc: PlanContext, check: str, resource: str, today: dt.date | None = None) -> str | None:
    """The reason an active suppression of ``check`` covers ``resource`` (all of its resources when none named)."""
    today = today or dt.date.today()
    for s in pc.suppressions:
        if s.check == check and s.active(today) and (s.resource is None or s.resource in resource):
            return f"suppressed in shine-ops.yaml by {s.owner} until {s.expires}: {s.reason}"
    return None


def kept_by_tag(tags: list[dict[str, Any]]) -> bool:
    """``shine-ops:keep`` (any value but "false") on a resource keeps it out of every cleanup."""
    for t in tags or []:
        key = t.get("Key", t.get("key"))
        value = str(t.get("Value", t.get("value", ""))).lower()
        if key == KEEP_TAG and value != "false":
            return True
    return False


def drop_empty(value: Any) -> Any:
    """A described shape as a create call takes it: no empty lists, dicts or None (AWS rejects some of them)."""
    if isinstance(value, dict):
        out = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def deletion(fix_id: str, n: int, *, resource: str, label: str, kind: str, why: str, call: ApiCall,
             inverse: list[ApiCall], saved: dict[str, Any], probe: ApiCall, probe_path: str, new_id: str) -> Change:
    """One deletion: before/after for the plan, the recreating inverse, what AWS cannot undo, and a probe that
    finds the resource by name (so it reads 1 again after rollback recreated it under a new id)."""
    return Change(key=f"{fix_id}#{n}", fix=fix_id, resource=resource, description=f"delete {kind} {label} ({why})",
                  call=call, before={kind: label}, after={kind: "(deleted)"}, inverse=inverse, reversible=False,
                  undo_note=f"a deleted {kind} is gone; rollback recreates it from the saved configuration, "
                            f"under a new {new_id}",
                  saved=saved, probe=Probe(probe, probe_path, 1))


def deletions_plan(pc: PlanContext, fix_id: str, check: str, summary: str, changes: list[Change],
                   notes: list[str]) -> FixPlan | None:
    """The plan of a deleting fix: shown either way, applied only with --allow-delete."""
    if not changes and not notes:
        return None
    return FixPlan(fix=fix_id, check=check, summary=summary, changes=changes, verify=[check], notes=notes,
                   refused=None if pc.allow_delete or not changes else "deletes: add --allow-delete")
