"""Typed references to what a run made, handed back by ``Run.do`` instead of ids glued into strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Done:
    """One change that was made: its journal row, the resource it touched and the results it named.

    ``probe`` is the change's probe with the run's results filled in (what verification and rollback read)."""

    change_id: str
    key: str
    resource: str
    result: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] | None = None

    def __getitem__(self, name: str) -> Any:
        """A named result of the call (``done["TargetGroupArn"]``)."""
        return self.result[name]


@dataclass(frozen=True)
class FailedCall:
    """The call that stopped a run: its journal row, what it raised, and whether the live state says it landed
    anyway (a retried call can land before it fails): then it is journaled ``applied`` and can be rolled back."""

    change_id: str
    description: str
    error: BaseException
    landed: Done | None = None
