"""The request path as ONE graph model, with every check of a run pinned where it judges.

record -> load balancer -> listener -> rule -> target group -> targets -> service -> task definition, the same
elements ``map``'s tree shows (read from the snapshot, not from the tree's text, so the two can change apart).
Every check of the run is pinned to the element or link it judges, so one picture says where the path breaks:
a failing link is red and carries its check id, root causes carry their number (request-path order, as in the
report), security groups sit on the links they govern (the load balancer's on load balancer -> listener, the
tasks' on target group -> targets). Names are short; the full ARN is each element's title (hover).

Pure: no AWS calls. The model: ``diagram_model``; the elements and links: ``diagram_build``; where each check
shows: ``diagram_pins``. The drawings: ``shine_ops.report.diagram_text`` (Mermaid, DOT), ``shine_ops.report.svg``.
"""

from __future__ import annotations

from typing import Any

from shine_ops.report.diagram_build import PathBuilder
from shine_ops.report.diagram_model import HOPS, Diagram, root_causes_of
from shine_ops.report.diagram_pins import pin
from shine_ops.topology import path as P
from shine_ops.topology.snapshot import Snapshot


def build_diagram(snap: Snapshot, path: P.RequestPath, findings: list[Any] | None = None,
                  root_causes: list[str] | None = None, title: str | None = None) -> Diagram:
    """The diagram of one request path, with every finding pinned where it judges."""
    b = PathBuilder(snap, path)
    d = b.build()
    findings = findings or []
    d.root_causes = list(root_causes) if root_causes is not None else root_causes_of(findings)
    svc = path.service.key if path.service else path.requested_service
    d.title = title or " \u2192 ".join(x for x in (path.domain, svc) if x) or "request path"
    for f in findings:
        pin(d, b, f)
    rank = {e.id: (HOPS.index(e.hop), i) for i, e in enumerate(d.elements)}
    d.links.sort(key=lambda l: (rank[l.source], rank[l.target]))  # hop by hop, as people read the path
    return d


def diagram_for(report: Any) -> Diagram | None:
    """The diagram of a report's request path; None for account-wide reports or when nothing was collected."""
    if report.snapshot is None or report.request_path is None or report.snapshot.account_wide:
        return None
    d = build_diagram(report.snapshot, report.request_path, report.findings, report.root_causes)
    return None if d.empty else d
