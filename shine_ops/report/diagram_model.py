"""The request-path diagram's model: elements (a resource of one hop), links (traffic from one to the next), and
the one rule every drawing colours them by.

``shine_ops.report.diagram`` builds it from a snapshot and a report's findings; ``diagram_text`` (Mermaid, DOT) and
``svg`` draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

HOPS = ("record", "load_balancer", "listener", "rule", "target_group", "targets", "service", "task_definition")
HOP_TITLES = {"record": "DNS record", "load_balancer": "Load balancer", "listener": "Listener", "rule": "Rule",
              "target_group": "Target group", "targets": "Targets", "service": "ECS service",
              "task_definition": "Task definition"}
ID_PREFIX = {"record": "rec", "load_balancer": "lb", "listener": "lst", "rule": "rule", "target_group": "tg",
             "targets": "tgt", "service": "svc", "task_definition": "td"}
# Worst first: an element or link shows the worst status of the checks pinned to it.
STATUS_ORDER = ("fail", "error", "warn", "pass", "skip")


@dataclass
class Element:
    """One box of the diagram: a resource of one hop."""

    id: str
    hop: str
    name: str  # short, what people call it
    detail: str = ""  # one short line under the name
    title: str = ""  # the full ARN and details: the hover text
    on_path: bool = True  # False: shown for context (another rule's target group), drawn muted
    refs: set[str] = field(default_factory=set, repr=False)  # ARNs/ids/names findings may cite
    checks: dict[str, str] = field(default_factory=dict)  # check id -> status, for checks pinned here

    @property
    def status(self) -> str:
        return worst(self.checks.values())


@dataclass
class Link:
    """One arrow: traffic from ``source`` to ``target``, with what governs it (security groups, weights)."""

    source: str
    target: str
    label: str = ""  # short: security group names, a weight
    title: str = ""  # hover: full security group ids and names
    security_groups: list[str] = field(default_factory=list)  # ids
    on_path: bool = True
    refs: set[str] = field(default_factory=set, repr=False)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return worst(self.checks.values())

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)


@dataclass
class Diagram:
    """The request path as elements and links, plus which failing checks are root causes (numbered)."""

    title: str
    elements: list[Element] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    root_causes: list[str] = field(default_factory=list)  # in the report's order: number = index + 1
    unplaced: list[str] = field(default_factory=list)  # root causes with no element or link to pin them to

    def element(self, eid: str) -> Element:
        return next(e for e in self.elements if e.id == eid)

    def by_hop(self, hop: str) -> list[Element]:
        return [e for e in self.elements if e.hop == hop]

    def number(self, check: str) -> int | None:
        """The root-cause number of ``check`` (1-based), None when it is no root cause."""
        return self.root_causes.index(check) + 1 if check in self.root_causes else None

    def failing(self, checks: dict[str, str]) -> list[str]:
        """Failing check ids, root causes first in their order, then the consequences."""
        bad = [c for c, s in checks.items() if s == "fail"]
        return sorted(bad, key=lambda c: (self.number(c) or 999, c))

    @property
    def empty(self) -> bool:
        return not self.elements

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "root_causes": self.root_causes,
                "elements": [{"id": e.id, "hop": e.hop, "name": e.name, "detail": e.detail, "title": e.title,
                              "status": e.status, "on_path": e.on_path, "checks": e.checks} for e in self.elements],
                "links": [{"source": l.source, "target": l.target, "label": l.label, "status": l.status,
                           "security_groups": l.security_groups, "on_path": l.on_path, "checks": l.checks}
                          for l in self.links]}


def worst(statuses: Iterable[str]) -> str:
    """The worst status of a set ("none" when no check judged it)."""
    got = set(statuses)
    return next((s for s in STATUS_ORDER if s in got), "none")


def root_causes_of(findings: list[Any]) -> list[str]:
    """The same rule as ``Report.root_causes``: failing, not suppressed, explained by no other failure."""
    failing = {f.check for f in findings if f.status == "fail" and not f.suppressed}
    return [f.check for f in findings if f.check in failing and not (set(f.explained_by) & failing)]


# --------------------------------------------------------------------------- how every renderer colours things
def check_label(d: Diagram, check: str) -> str:
    """``(1) check.id`` for a root cause, the bare id for a consequence."""
    n = d.number(check)
    return f"({n}) {check}" if n else check


def element_class(e: Element) -> str:
    """fail/error/warn/pass as judged; "none" when no check judged it; "muted" for context off the path."""
    st = e.status
    if st == "none" and not e.on_path:
        return "muted"
    if st in ("skip", "none"):
        return "none"
    return st


def link_class(l: Link) -> str:
    """As ``element_class``, for a link."""
    st = l.status
    if st in ("fail", "error", "warn", "pass"):
        return st
    return "none" if l.on_path else "muted"
