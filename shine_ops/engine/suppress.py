"""Suppressions: a failing finding accepted for a while (``suppressions`` in shine-ops.yaml).

A suppressed finding keeps ``status: fail``, carries ``suppressed: {reason, owner, expires}`` and never
causes exit 1; the day after ``expires`` it counts again. A suppression may name one resource (any of the
finding's ``resources``, or a substring of one) to accept that resource only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shine_ops.engine.finding import Finding
from shine_ops.engine.yamlload import Located


@dataclass
class Suppression:
    check: str
    reason: str
    owner: str
    expires: dt.date
    resource: str | None = None

    def matches(self, f: Finding) -> bool:
        if f.check != self.check:
            return False
        return self.resource is None or any(self.resource in r for r in f.resources)

    def active(self, today: dt.date) -> bool:
        return today <= self.expires


def parse_suppressions(raw: Any, doc: Located | None = None, path: str = "shine-ops.yaml") -> list[Suppression]:
    """Validate the ``suppressions`` list; errors name the file, line and field."""
    from shine_ops.errors import ConfigError

    def err(keys: tuple, msg: str) -> ConfigError:
        return doc.error(keys, msg) if doc else ConfigError(msg, path=path, field=".".join(map(str, keys)))

    out = []
    for i, item in enumerate(raw or []):
        keys = ("suppressions", i)
        if not isinstance(item, dict):
            raise err(keys, "a suppression is a mapping with check, reason, owner, expires")
        unknown = set(item) - {"check", "resource", "reason", "owner", "expires"}
        if unknown:
            raise err(keys + (sorted(unknown)[0],), "unknown field")
        for key in ("check", "reason", "owner", "expires"):
            if not item.get(key):
                raise err(keys, f"missing {key}")
        for key in ("check", "reason", "owner"):
            if not isinstance(item[key], str):
                raise err(keys + (key,), "expected a string")
        expires = item["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise err(keys + ("expires",), f"expected a date YYYY-MM-DD, got {expires!r}") from None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            raise err(keys + ("expires",), "expected a date YYYY-MM-DD")
        resource = item.get("resource")
        if resource is not None and not isinstance(resource, str):
            raise err(keys + ("resource",), "expected a string")
        out.append(Suppression(check=item["check"], reason=item["reason"], owner=item["owner"], expires=expires,
                               resource=resource))
    return out


def apply_suppressions(findings: list[Finding], suppressions: list[Suppression],
                       today: dt.date | None = None) -> list[str]:
    """Mark accepted failing findings; return notes about expired suppressions that no longer apply."""
    today = today or dt.date.today()
    notes = []
    for f in findings:
        if f.status != "fail":
            continue
        for s in suppressions:
            if not s.matches(f):
                continue
            if s.active(today):
                f.suppressed = {"reason": s.reason, "owner": s.owner, "expires": s.expires.isoformat()}
                break
            notes.append(f"the suppression of {s.check} by {s.owner} expired on {s.expires.isoformat()}: "
                         "the finding counts again")
    return notes
