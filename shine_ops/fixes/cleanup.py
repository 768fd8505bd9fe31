"""What the careful cleanup (``fix tortoise``) shares: which resources it must leave alone, and saving.

A hygiene finding names candidates; the cleanup removes only those nothing protects: an active suppression in
shine-ops.yaml (the team accepted it, for a reason, until a date), or the tag ``shine-ops:keep`` on the
resource. Everything it deletes is saved first, in the shape the create call takes, so rollback can recreate it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shine_ops.fixes import PlanContext

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
